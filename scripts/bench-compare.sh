#!/usr/bin/env bash
# An older revision's figures next to this tree's, from one run: builds
# REV's library (release) in a temporary worktree, compiles this tree's
# bench/memory_bench.cpp and bench/front_end_bench.cpp against it (they use
# only API that every version has), and runs each program for both builds,
# alternately, ROUNDS times (default 2), so that a busy machine weighs on
# both alike. Extra arguments go to every program (a --benchmark_filter).
#
#   scripts/bench-compare.sh REV [BUILD_DIR [ROUNDS]] [-- PROGRAM ARGS...]
set -euo pipefail

rev=${1:?usage: scripts/bench-compare.sh REV [BUILD_DIR [ROUNDS]] [-- ARGS...]}
shift
build=build/release
rounds=2
if [ $# -gt 0 ] && [ "$1" != "--" ]; then build=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" != "--" ]; then rounds=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" = "--" ]; then shift; fi
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
for program in memory_bench front_end_bench; do
  c++ -O2 -DNDEBUG -std=c++20 -I "$tmp/src/include" -I "$here" "$here/bench/$program.cpp" \
    "$tmp/build/libcheckpoint.a" -lyaml-cpp -lsqlite3 -llmdb -lpq -ldl -lbenchmark -lpthread \
    -o "$tmp/$program"
done
cmake --build "$build" --target memory_bench front_end_bench --parallel 2 >/dev/null

old="$rev ($(git -C "$here" rev-parse --short "$rev"))"
new="this tree ($(git -C "$here" describe --always --dirty))"
for program in memory_bench front_end_bench; do
  for round in $(seq "$rounds"); do
    echo "== $program, round $round: $old"
    "$tmp/$program" --benchmark_counters_tabular=true "$@"
    echo "== $program, round $round: $new"
    "$build/bench/$program" --benchmark_counters_tabular=true "$@"
  done
done
