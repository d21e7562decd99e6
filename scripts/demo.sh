#!/usr/bin/env bash
# The checkpoint-tail demo: follow two growing log files, kill -9 the tailer
# mid-stream, write more while it is down, restart it, and check from what it
# printed that it resumed from its checkpoint: every line printed at least
# once, none skipped, each run in order. Lines printed after the last commit
# before the crash are printed again; the demo counts them.
#
# It then converts the tailer's YAML state to SQLite, LMDB and JSON with
# checkpointctl and prints one copy as a table.
#
# Part 2 runs the tailer with an output that delivers each line after a
# random delay, out of order, and acknowledges it then (--ack-delay-ms:
# Checkpoint::track() and ack()); kill -9 while hundreds of lines are in
# flight, and check that the committed position never passed a line not yet
# delivered, and that after a restart no line is missing.
#
# Usage: scripts/demo.sh BUILD_DIR     (e.g. build/release)
# Runs in a temporary directory, removed at the end (KEEP=1 keeps it). The
# last line says whether the check passed; the exit status is non-zero if it
# did not.
set -Eeuo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
tailer="$1/examples/tail/checkpoint-tail"
if [ ! -x "$tailer" ]; then
  echo "demo: FAIL — $tailer is missing; build it first (make release)"
  exit 2
fi
tailer="$(cd "$(dirname "$tailer")" && pwd)/checkpoint-tail"
ctl="$1/tools/checkpointctl/checkpointctl"
if [ ! -x "$ctl" ]; then
  echo "demo: FAIL — $ctl is missing; build it first (make release)"
  exit 2
fi
ctl="$(cd "$(dirname "$ctl")" && pwd)/checkpointctl"

work="$(mktemp -d "${TMPDIR:-/tmp}/checkpoint-demo.XXXXXX")"
pid=""
writer=""
cleanup() {
  for p in $pid $writer; do
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "demo: FAIL — unexpected error at line $LINENO of $0"' ERR
cd "$work"
mkdir logs
state=logs/.checkpoint-tail.yml  # the tailer's default store, next to its first file

say() { printf 'demo: %s\n' "$*"; }
fail() {
  trap - ERR
  printf 'demo: FAIL — %s\n' "$*"
  exit 1
}

# --- log lines ---------------------------------------------------------------
# Every line carries its kind and a sequence number, so the check can tell
# exactly which lines were printed.
gen() {  # KIND FROM TO
  seq "$2" "$3" | awk -v kind="$1" '{
    if (kind == "app") printf "app %06d GET /items/%d 200 %d ms\n", $1, $1 % 97, 3 + $1 % 13
    else printf "audit %06d user%d login ok\n", $1, $1 % 7 }'
}
app_n=0    # app lines written so far
audit_n=0  # audit lines written so far (across the rotation)
write_app() {
  gen app $((app_n + 1)) $((app_n + $1)) >>logs/app.log
  app_n=$((app_n + $1))
}
write_audit() {
  gen audit $((audit_n + 1)) $((audit_n + $1)) >>logs/audit.log
  audit_n=$((audit_n + $1))
}

# --- waiting, with a bound, for what the tailer does -------------------------
wait_for() {  # DESCRIPTION SECONDS COMMAND...
  local what=$1 limit=$2
  local deadline=$((SECONDS + limit))
  shift 2
  until "$@"; do
    [ $SECONDS -lt $deadline ] || fail "gave up waiting for $what (${limit}s)"
    sleep 0.05
  done
}
printed() {  # OUTPUT KIND N: has OUTPUT the line KIND number N?
  grep -qF -- ": $2 $(printf %06d "$3") " "$1" 2>/dev/null
}
# The record_number the state file holds for NAME (0 if none). The file is
# in Winlogbeat's format: "- name: NAME" then "  record_number: N".
stored() {
  if [ ! -f "$state" ]; then
    echo 0
    return
  fi
  awk -v name="$1" -v q="'" '
    /^- name:/ { n = $0; sub(/^- name: */, "", n); gsub("^[\"" q "]|[\"" q "]$", "", n); cur = n; next }
    /^- / { cur = "" }
    cur == name && /^ +record_number:/ { v = $0; sub(/^.*record_number: */, "", v); print v; found = 1; exit }
    END { if (!found) print 0 }' "$state"
}
stored_at_least() { [ "$(stored "$1")" -ge "$2" ]; }
printed_count() { grep -c "^$2: " "$1" || true; }  # OUTPUT NAME
# Has the first run printed app lines that its last commit does not cover?
ahead_of_commit() { [ "$(printed_count run1.out logs/app.log)" -gt "$(stored logs/app.log)" ]; }
lines_in() { wc -l <"$1" | tr -d ' '; }

# --- the run -----------------------------------------------------------------
if [ -n "${KEEP:-}" ]; then
  say "working in $work (kept, since KEEP is set)"
else
  say "working in a temporary directory; it is removed at the end"
fi
write_app 200
write_audit 100
say "wrote 200 lines to logs/app.log and 100 to logs/audit.log"

flags=(--max-updates 200 --flush-interval-ms 1000)
say "starting checkpoint-tail ${flags[*]} logs/app.log logs/audit.log"
say "  (it commits its positions every 200 lines or 1 s, to $state)"
"$tailer" "${flags[@]}" logs/app.log logs/audit.log >run1.out 2>run1.err &
pid=$!
wait_for "the first lines" 20 printed run1.out app "$app_n"
wait_for "the first lines" 20 printed run1.out audit "$audit_n"
say "it printed the 300 lines already there, like this:"
head -n 2 run1.out | sed 's/^/  | /'

say "appending to both files while it runs"
for _ in 1 2 3 4 5 6 7 8; do
  write_app 25
  write_audit 10
  sleep 0.05
done
say "rotating logs/audit.log: renamed to audit.log.1, a new audit.log takes its place"
mv logs/audit.log logs/audit.log.1
write_audit 40
wait_for "the rotated audit log" 20 printed run1.out audit "$audit_n"
wait_for "a commit after the rotation" 20 stored_at_least logs/audit.log "$audit_n"
say "it read audit.log.1 to its end, then the new audit.log; a commit followed"

say "appending 600 app and 210 audit lines in a stream, and kill -9 in the middle of it"
(
  a=$app_n u=$audit_n
  for _ in $(seq 30); do
    gen app $((a + 1)) $((a + 20)) >>logs/app.log
    gen audit $((u + 1)) $((u + 7)) >>logs/audit.log
    a=$((a + 20)) u=$((u + 7))
    sleep 0.02
  done
) &
writer=$!
wait_for "the stream to reach the tailer" 20 printed run1.out app $((app_n + 200))
# Best effort: strike while it has printed lines that no commit covers yet.
for _ in $(seq 40); do
  ! ahead_of_commit || break
  sleep 0.05
done
{ kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true  # quietly: no "Killed" from bash
pid=""
wait "$writer"
writer=""
app_n=$((app_n + 600))
audit_n=$((audit_n + 210))
# A kill -9 during a write may leave half a line at the end of the output.
if [ -s run1.out ] && [ "$(tail -c1 run1.out | od -An -c | tr -d ' ')" != '\n' ]; then
  say "(the kill cut the last output line short; it is left out of the check)"
  sed -i '$d' run1.out
fi
app_committed=$(stored logs/app.log)
audit_committed=$(stored logs/audit.log)
app_printed=$(printed_count run1.out logs/app.log)
audit_printed=$(printed_count run1.out logs/audit.log)
say "killed it; it had printed $app_printed app and $audit_printed audit lines, and its last commit"
say "  says logs/app.log after line $app_committed, logs/audit.log after line $audit_committed"
say "  (lines printed after that commit will be printed again)"

write_app 300
write_audit 100
say "while it was down: 300 more app lines and 100 more audit lines"

say "restarting it with the same command"
"$tailer" "${flags[@]}" logs/app.log logs/audit.log >run2.out 2>run2.err &
pid=$!
wait_for "the restarted tailer to catch up" 30 printed run2.out app "$app_n"
wait_for "the restarted tailer to catch up" 30 printed run2.out audit "$audit_n"
say "it caught up; what it said on stderr:"
sed 's/^/  | /' run2.err
write_app 50
write_audit 20
wait_for "the last lines" 20 printed run2.out app "$app_n"
wait_for "the last lines" 20 printed run2.out audit "$audit_n"
say "and it follows new lines as they come"

say "stopping it with SIGTERM (it commits, then exits)"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
[ "$status" -eq 0 ] || fail "checkpoint-tail exited with status $status after SIGTERM"

say "the state file $state:"
sed 's/^/  | /' "$state"

# --- the check -----------------------------------------------------------------
say "checking $(lines_in run1.out) + $(lines_in run2.out) printed lines against the $((app_n + audit_n)) written"
{
  gen app 1 "$app_n" | sed 's|^|logs/app.log: |'
  gen audit 1 "$audit_n" | sed 's|^|logs/audit.log: |'
} >expected.txt
# Prints "missing unexpected repeated disorder", and the first problems on stderr.
read -r missing unexpected repeated disorder < <(awk '
  FILENAME == "expected.txt" { want[$0] = 1; order[++n] = $0; next }
  {
    count[$0]++
    if (!($0 in want) && bad++ < 5) print "unexpected: " $0 > "/dev/stderr"
    # Within one run, each file goes up one line at a time.
    name = $1; sub(/:$/, "", name)
    key = FILENAME " " name; seq = $3 + 0
    if ((key in last) && seq != last[key] + 1) {
      if (dis++ < 5) print FILENAME ": line " $3 " of " name " came after " last[key] > "/dev/stderr"
    }
    last[key] = seq
  }
  END {
    for (i = 1; i <= n; i++) if (!(order[i] in count) && miss++ < 5) print "missing: " order[i] > "/dev/stderr"
    for (l in count) if (l in want) rep += count[l] - 1
    print miss + 0, bad + 0, rep + 0, dis + 0
  }' expected.txt run1.out run2.out)

first_in_run2() {  # KIND: the number of the first KIND line the restarted tailer printed
  awk -v kind="$1" '$2 == kind { print $3 + 0; exit }' run2.out
}
app_resumed=$(first_in_run2 app)
audit_resumed=$(first_in_run2 audit)
problems=()
[ "$missing" -eq 0 ] || problems+=("skipped lines: $missing")
[ "$unexpected" -eq 0 ] || problems+=("lines printed that were never written: $unexpected")
[ "$disorder" -eq 0 ] || problems+=("lines out of order: $disorder")
[ "$app_resumed" = $((app_committed + 1)) ] ||
  problems+=("logs/app.log resumed at line $app_resumed, not after the checkpoint's $app_committed")
[ "$audit_resumed" = $((audit_committed + 1)) ] ||
  problems+=("logs/audit.log resumed at line $audit_resumed, not after the checkpoint's $audit_committed")
if [ ${#problems[@]} -gt 0 ]; then
  joined=$(printf '%s; ' "${problems[@]}")
  fail "${joined%; }"
fi
say "both files resumed right after their last committed line"

# --- the same state in every format ---------------------------------------------
say "converting the YAML state to SQLite, LMDB and JSON with checkpointctl"
"$ctl" convert "yaml:$state" sqlite:state.db | sed 's/^/  | /'
"$ctl" convert sqlite:state.db lmdb:state.lmdb | sed 's/^/  | /'
"$ctl" convert lmdb:state.lmdb json:state.json | sed 's/^/  | /'
"$ctl" verify json:state.json | sed 's/^/  | /'
say "the LMDB copy, as a table:"
"$ctl" dump lmdb:state.lmdb --format table | sed 's/^/  | /'
part1="$((app_n + audit_n)) lines, none skipped, $repeated repeated after the crash"

# --- part 2: acknowledgements from an asynchronous, out-of-order output -------
say ""
say "part 2: an output that prints each line after a random delay of up to 300 ms, on two"
say "  threads (so out of order), and acknowledges it then; a position is committed only"
say "  once every line before it was printed"
mkdir acks
state=acks/.checkpoint-tail.yml
acks_n=0
write_acks() {
  gen app $((acks_n + 1)) $((acks_n + $1)) >>acks/app.log
  acks_n=$((acks_n + $1))
}
numbers() {  # OUTPUT: the line numbers it printed, one a line
  awk '{ print $3 + 0 }' "$1"
}
write_acks 200
ack_flags=(--ack-delay-ms 300 --max-updates 20 --flush-interval-ms 1000)
say "starting checkpoint-tail ${ack_flags[*]} acks/app.log"
"$tailer" "${ack_flags[@]}" acks/app.log >run3.out 2>run3.err &
pid=$!
wait_for "the first lines" 20 printed run3.out app "$acks_n"
wait_for "a commit of the first lines" 20 stored_at_least acks/app.log "$acks_n"
say "it printed the 200 lines there, out of order, and committed after line $(stored acks/app.log)"
say "appending 1200 lines in a stream, and kill -9 in the middle of it, after a commit"
(
  a=$acks_n
  for _ in $(seq 60); do
    gen app $((a + 1)) $((a + 20)) >>acks/app.log
    a=$((a + 20))
    sleep 0.02
  done
) &
writer=$!
wait_for "the stream to reach the tailer" 20 printed run3.out app $((acks_n + 300))
wait_for "a commit in the middle of the stream" 20 stored_at_least acks/app.log $((acks_n + 1))
{ kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true
pid=""
wait "$writer"
writer=""
written_at_kill=$((acks_n + 1200))
acks_n=$written_at_kill
if [ -s run3.out ] && [ "$(tail -c1 run3.out | od -An -c | tr -d ' ')" != '\n' ]; then
  sed -i '$d' run3.out
fi
acks_committed=$(stored acks/app.log)
# How the first run printed: lines out of order, lines up to the commit, after it.
read -r out_of_order below above < <(numbers run3.out | awk -v c="$acks_committed" '
  { if (NR > 1 && $1 < last) back++; last = $1; if ($1 <= c) seen[$1] = 1; else if (!($1 in after)) { after[$1] = 1; a++ } }
  END { print back + 0, length(seen) + 0, a + 0 }')
say "killed it: it had printed $(lines_in run3.out) lines, $out_of_order of them after a later one;"
say "  its last commit says acks/app.log after line $acks_committed"
[ "$below" -eq "$acks_committed" ] ||
  fail "the commit covers line $acks_committed, but only $below of those lines were printed: an undelivered line was committed"
say "  every line up to $acks_committed was printed before the kill: the commit passed no undelivered line"
say "  $above lines after it were printed too (waiting for an earlier line, or for the next"
say "  commit): they will be printed again"

write_acks 100
say "while it was down: 100 more lines; restarting it with the same command"
"$tailer" "${ack_flags[@]}" acks/app.log >run4.out 2>run4.err &
pid=$!
wait_for "the restarted tailer to catch up" 30 printed run4.out app "$acks_n"
say "stopping it with SIGTERM (it delivers what is in flight, commits, then exits)"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
[ "$status" -eq 0 ] || fail "checkpoint-tail --ack-delay-ms exited with status $status after SIGTERM"
read -r first_again missing_acks redelivered < <(
  { numbers run3.out | sed 's/^/1 /'; numbers run4.out | sed 's/^/2 /'; } | awk -v n="$acks_n" -v k="$written_at_kill" '
    $1 == 1 { one[$2] = 1; next }
    { if (first == "" || $2 < first) first = $2; two[$2] = 1 }
    END {
      for (i = 1; i <= n; i++) if (!(i in one) && !(i in two)) miss++
      for (i = 1; i <= k; i++) if ((i in two) && !(i in one)) again++
      print first + 0, miss + 0, again + 0
    }')
[ "$missing_acks" -eq 0 ] || fail "part 2: $missing_acks lines were never printed"
[ "$first_again" -eq $((acks_committed + 1)) ] ||
  fail "part 2: the restart began at line $first_again, not right after the commit's $acks_committed"
[ "$(stored acks/app.log)" -eq "$acks_n" ] ||
  fail "part 2: after SIGTERM the state says line $(stored acks/app.log), not $acks_n"
say "all $acks_n lines printed, none missing; the restart began at line $first_again, and"
say "  delivered $redelivered lines written before the kill that the first run had not printed"
trap - ERR
echo "demo: PASS — $part1; with acknowledgements, $acks_n lines, none lost or skipped"
