# Thin wrapper: the real build is CMake (see CMakePresets.json).
#   make test   install missing packages, build, run every test; then the
#               unit tests and short fuzz runs under AddressSanitizer and
#               UBSan (preset asan), and the front end's and the C API's thread tests under
#               ThreadSanitizer (preset tsan)
#   make demo   install missing packages, build the tailer and checkpointctl
#               (release), run the tailer demo
#   make fuzz   run each fuzz target for FUZZ_SECONDS (default 60) (preset fuzz)
#   make bench  install missing packages (gnuplot too), build release, run
#               every benchmark, write build/bench/ (report.md, *.png, *.json)
#   make package  install missing packages, build release with the shared
#               library as default and prefix /usr, and make the Debian
#               packages with CPack: build/package/*.deb (libcheckpoint0,
#               libcheckpoint-dev, checkpointctl)
.PHONY: all deps build test asan tsan fuzz demo release bench package clean

FUZZ_SECONDS ?= 60
# CMake's build, without the directory chatter this make would pass to the
# make that CMake runs.
BUILD = env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL cmake --build

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake --preset debug
	$(BUILD) --preset debug

# ctest's summary, then why each skipped test was skipped.
test: build
	@status=0; ctest --preset debug || status=$$?; scripts/skip-reasons.sh build/debug; exit $$status
	$(MAKE) asan
	$(MAKE) tsan

asan: deps
	cmake --preset asan
	$(BUILD) --preset asan
	@status=0; ctest --preset asan || status=$$?; scripts/skip-reasons.sh build/asan; exit $$status

tsan: deps
	cmake --preset tsan
	$(BUILD) --preset tsan
	ctest --preset tsan

fuzz: deps
	cmake --preset fuzz
	$(BUILD) --preset fuzz
	for fuzzer in build/fuzz/fuzz/*_fuzzer; do fuzz/run.sh $$fuzzer $(FUZZ_SECONDS) || exit 1; done

release: deps
	cmake --preset release
	$(BUILD) --preset release

# Only what the demo runs, with CMake's progress lines and nothing else.
demo: deps
	@cmake --preset release > /dev/null
	@$(BUILD) --preset release --target checkpoint-tail checkpointctl
	scripts/demo.sh build/release

bench: release
	@scripts/install-deps.sh bench
	scripts/bench.sh build/release build/bench

package: deps
	cmake -S . -B build/package -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
	  -DCMAKE_INSTALL_PREFIX=/usr -DCHECKPOINT_BUILD_TESTS=OFF -DCHECKPOINT_BUILD_BENCH=OFF
	$(BUILD) build/package --parallel 2
	cd build/package && cpack -G DEB

clean:
	rm -rf build
