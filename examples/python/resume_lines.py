"""Prints the lines added to files since the last run, as a log shipper would
ship them: the position in each file (its line count, and the time it was
read) is kept in a checkpoint store, so a second run resumes where the first
stopped, even after a crash.

    python3 resume_lines.py STORE FILE...
    python3 resume_lines.py state.yml /var/log/syslog     # everything
    python3 resume_lines.py state.yml /var/log/syslog     # only what was added since
"""

import sys
import time

import checkpoint


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    store, files = argv[1], argv[2:]
    # max_updates=1: every position is committed as soon as it is persisted.
    with checkpoint.Checkpoint(store, max_updates=1) as cp:
        for path in files:
            state = cp.get(path)
            done = state.record_number if state else 0
            with open(path, encoding="utf-8", errors="replace") as f:
                for number, line in enumerate(f, start=1):
                    if number > done:
                        sys.stdout.write(f"{path}:{number}: {line}")
                        done = number
            cp.persist(path, done, time.time())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
