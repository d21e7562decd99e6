"""Runs the examples of a Markdown page and compares their output.

Each ```console block holds commands, on lines that start with "$ ", each
followed by the output it prints (stdout and stderr together). A line
"[exit N]" after the output says the command exits N (else 0); a line
ending in "..." matches any line that starts with what comes before. The
blocks of one page run one after the other in one empty directory, with
BIN_DIR first in PATH.

    python3 run_examples.py BIN_DIR PAGE.md...
"""

import os
import re
import subprocess
import sys
import tempfile


def examples(path):
    """(line number, command, expected lines, expected exit code) of a page."""
    out = []
    in_block = False
    current = None
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip("\n")
            if not in_block:
                in_block = line.strip() == "```console"
                continue
            if line.strip() == "```":
                in_block = False
                current = None
                continue
            if line.startswith("$ "):
                current = [number, line[2:], [], 0]
                out.append(current)
            elif current is None:
                raise SystemExit(f"{path}:{number}: output before any command")
            elif re.fullmatch(r"\[exit \d+\]", line):
                current[3] = int(line[6:-1])
            else:
                current[2].append(line)
    return out


def matches(expected, actual):
    if len(expected) != len(actual):
        return False
    for want, got in zip(expected, actual):
        if want.endswith("..."):
            if not got.startswith(want[:-3]):
                return False
        elif want != got:
            return False
    return True


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    bin_dir, pages = os.path.abspath(argv[1]), argv[2:]
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    failures = 0
    for page in pages:
        found = examples(page)
        if not found:
            print(f"{page}: no examples", file=sys.stderr)
            failures += 1
        with tempfile.TemporaryDirectory(prefix="docs-examples-") as work:
            for number, command, expected, code in found:
                run = subprocess.run(["bash", "-c", command], cwd=work, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     timeout=120)
                actual = run.stdout.decode("utf-8", "replace").splitlines()
                if run.returncode != code or not matches(expected, actual):
                    failures += 1
                    print(f"{page}:{number}: $ {command}\n  exit {run.returncode}, expected {code}\n"
                          "  output:\n" + "".join(f"    {l}\n" for l in actual) +
                          "  expected:\n" + "".join(f"    {l}\n" for l in expected), file=sys.stderr)
        print(f"{page}: {len(found)} examples")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
