#!/usr/bin/env bash
# Runs one fuzz target for SECONDS from its seeds (fuzz/corpus/NAME) and the
# corpus it grew before (beside the binary, in corpus/NAME), with its
# dictionary; a crashing input is kept in artifacts/ beside the binary.
# Prints the number of executions; exits non-zero if the target failed.
#   fuzz/run.sh BUILD_DIR/fuzz/NAME_fuzzer SECONDS
set -euo pipefail

fuzzer=$1
seconds=$2
fuzz_dir=$(cd "$(dirname "$0")" && pwd)
name=$(basename "$fuzzer" _fuzzer)
out_dir=$(dirname "$fuzzer")
corpus=$out_dir/corpus/$name
artifacts=$out_dir/artifacts
mkdir -p "$corpus" "$artifacts"

dict=()
if [ -f "$fuzz_dir/$name.dict" ]; then dict=("-dict=$fuzz_dir/$name.dict"); fi
log=$out_dir/$name.log

status=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
  -artifact_prefix="$artifacts/$name-" "${dict[@]}" \
  "$corpus" "$fuzz_dir/corpus/$name" >"$log" 2>&1 || status=$?

executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
if [ "$status" -ne 0 ]; then
  tail -n 60 "$log"
  echo "fuzz $name: FAILED after ${executions:-?} executions (log: $log, input in $artifacts)"
  exit "$status"
fi
echo "fuzz $name: ${executions:-?} executions in ${seconds} s, no failure"
