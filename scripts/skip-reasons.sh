#!/usr/bin/env bash
# Why each skipped test was skipped, one line each, from the log of the last
# ctest run in BUILD_DIR (GoogleTest's "file:line: Skipped" and the message
# after it). make test prints it after ctest's summary.
#
#   scripts/skip-reasons.sh BUILD_DIR
set -euo pipefail
log="${1:?usage: scripts/skip-reasons.sh BUILD_DIR}/Testing/Temporary/LastTest.log"
[ -f "$log" ] || exit 0
awk '
  /^[0-9]+\/[0-9]+ Test: / { sub(/^[0-9]+\/[0-9]+ Test: /, ""); name = $0; reason = ""; next }
  want_reason { reason = $0; want_reason = 0; next }
  /: Skipped$/ { want_reason = 1; next }
  /^Skip regular expression found in output/ {
    printf "skipped %s: %s\n", name, (reason == "" ? "(no reason given)" : reason)
  }
' "$log"
