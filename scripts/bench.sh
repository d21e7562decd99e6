#!/usr/bin/env bash
# Runs every benchmark of a release build, writes their results as JSON and
# draws the charts (see `make bench`).
#
#   scripts/bench.sh [BUILD_DIR [OUT_DIR]]      defaults: build/release build/bench
#
# OUT_DIR gets one NAME.json per program (Google Benchmark's --benchmark_out),
# report.md (targets and tables), commit.png and load.png. Extra arguments for
# every program can be given in BENCH_ARGS, e.g. BENCH_ARGS=--benchmark_filter=yaml.
# Stores are written under $TMPDIR (default /tmp): point it at the disk to measure.
set -euo pipefail

build=${1:-build/release}
out=${2:-build/bench}
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"

machine() {
  echo "uname: $(uname -srm)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  local dir=${TMPDIR:-/tmp}
  local dev
  dev=$(df --output=source "$dir" | tail -1)
  echo "stores in: $dir on $dev ($(df --output=fstype "$dir" | tail -1)), rotational=$(
    cat "/sys/block/$(basename "$dev" | sed 's/[0-9]*$//')/queue/rotational" 2>/dev/null || echo '?')"
}
machine > "$out/machine.txt"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"

# postgresql_bench runs against a private server on the loopback, started as
# the tests start theirs (but with fsync on) and stopped at exit.
pg_state="$(cd "$out" && pwd)/postgresql_server"
if "$here/tests/postgresql/server.sh" start "$pg_state" --fsync; then
  trap '"$here/tests/postgresql/server.sh" stop "$pg_state"' EXIT
  CHECKPOINT_POSTGRESQL_URI=$(cat "$pg_state/uri")
  export CHECKPOINT_POSTGRESQL_URI
else
  echo "bench: no PostgreSQL server (scripts/install-deps.sh installs it); postgresql_bench skipped" >&2
fi

start=$(date +%s)
for program in persist_bench persist_latency_bench store_bench format_bench memory_bench \
    front_end_bench acks_bench convert_bench compact_bench expiry_bench postgresql_bench; do
  [ -x "$build/bench/$program" ] || { echo "bench: $build/bench/$program is missing" >&2; continue; }
  echo "== $program"
  # shellcheck disable=SC2086
  "$build/bench/$program" --benchmark_out="$out/$program.json" --benchmark_out_format=json \
    ${BENCH_ARGS:-}
done
# The Go original's States() on the same states, for front_end_bench's states/N.
if command -v go >/dev/null; then
  echo "== go_checkpoint"
  (cd "$here/bench/go_checkpoint" && GOCACHE="$(cd "$here" && pwd)/$out/gocache" GOFLAGS=-mod=mod \
    go build -o "$(cd "$here" && pwd)/$out/go_checkpoint" .)
  "$out/go_checkpoint" -states 100000 -rounds 20 > "$out/go_states_100000.json"
  "$out/go_checkpoint" -states 1000000 -rounds 5 > "$out/go_states_1000000.json"
  cat "$out"/go_states_*.json
else
  echo "bench: no Go compiler (scripts/install-deps.sh bench installs golang-go); go/states skipped" >&2
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg), $(( $(date +%s) - start )) s in all" \
  >> "$out/machine.txt"

json=()
for f in "$out"/*.json; do json+=("$f"); done
"$build/bench/bench_report" "$out" "${json[@]}"
{ echo; echo '## Machine'; echo; sed 's/^/    /' "$out/machine.txt"; } >> "$out/report.md"
gnuplot -e "dir='$out'" "$here/bench/charts.gp"
cat "$out/report.md"
echo
echo "bench: results in $out (report.md, commit.png, load.png, *.json)"
