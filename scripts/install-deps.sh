#!/usr/bin/env bash
# Installs the Debian packages checkpoint needs to build, test, benchmark and
# run its demo. Installs only what is missing; does nothing when all are
# present. Needs root (or sudo) only when something must be installed.
#
#   scripts/install-deps.sh          what building and testing need
#   scripts/install-deps.sh bench    that, gnuplot for `make bench`'s charts, and Go
#                                    for the Go original's States() (bench/go_checkpoint)
set -euo pipefail

packages=(
  cmake make g++ clang pkg-config
  # clang's sanitizer and libFuzzer runtimes, and llvm-symbolizer for their
  # stack traces (presets asan and fuzz)
  clang-14 libclang-rt-14-dev llvm
  libyaml-cpp-dev nlohmann-json3-dev libsqlite3-dev liblmdb-dev libxxhash-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev
  libfiu-dev fiu-utils
  # bindings/go's tests (Go, and Winlogbeat's YAML library for its reader),
  # checkpointctl's man page, and the Debian packages (make package)
  golang-go golang-gopkg-yaml.v2-dev help2man dpkg-dev file
  # the postgresql: backend's client library, and the server its tests start
  # privately (never the system's service)
  libpq-dev postgresql
)
case "${1:-}" in
  "") ;;
  bench) packages+=(gnuplot-nox golang-go) ;;
  *) echo "usage: $0 [bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
