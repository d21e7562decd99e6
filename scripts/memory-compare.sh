#!/usr/bin/env bash
# Peak memory of an older revision next to this tree's, in one run: builds
# REV's library (release) in a temporary worktree, compiles this tree's
# bench/memory_bench.cpp against it (the program uses only API that every
# version has), and runs both programs one after the other.
#
#   scripts/memory-compare.sh REV [BUILD_DIR]     BUILD_DIR default: build/release
set -euo pipefail

rev=${1:?usage: scripts/memory-compare.sh REV [BUILD_DIR]}
build=${2:-build/release}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
cleanup() {
  git -C "$here" worktree remove --force "$tmp/src" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

git -C "$here" worktree add --detach --quiet "$tmp/src" "$rev"
cmake -S "$tmp/src" -B "$tmp/build" -DCMAKE_BUILD_TYPE=Release -DCHECKPOINT_BUILD_TESTS=OFF \
  -DCHECKPOINT_BUILD_TOOLS=OFF -DCHECKPOINT_BUILD_BENCH=OFF -DCHECKPOINT_INSTALL=OFF \
  -DCHECKPOINT_BUILD_CONFORMANCE=OFF >/dev/null
cmake --build "$tmp/build" --target checkpoint --parallel 2 >/dev/null
c++ -O2 -DNDEBUG -std=c++20 -I "$tmp/src/include" "$here/bench/memory_bench.cpp" \
  "$tmp/build/libcheckpoint.a" -lyaml-cpp -lsqlite3 -llmdb -lbenchmark -lpthread \
  -o "$tmp/memory_bench_old"

cmake --build "$build" --target memory_bench --parallel 2 >/dev/null
echo "== $rev ($(git -C "$here" rev-parse --short "$rev"))"
"$tmp/memory_bench_old" --benchmark_counters_tabular=true
echo "== this tree ($(git -C "$here" describe --always --dirty))"
"$build/bench/memory_bench" --benchmark_counters_tabular=true
