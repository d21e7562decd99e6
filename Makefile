# Thin wrapper: the real build is CMake (see CMakePresets.json).
#   make test   install missing packages, build, run every test
#   make demo   install missing packages, build, run the tailer demo
#   make bench  install missing packages (gnuplot too), build release, run
#               every benchmark, write build/bench/ (report.md, *.png, *.json)
.PHONY: all deps build test demo release bench clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake --preset debug
	cmake --build --preset debug

test: build
	ctest --preset debug

release: deps
	cmake --preset release
	cmake --build --preset release

demo: release
	scripts/demo.sh build/release

bench: release
	@scripts/install-deps.sh bench
	scripts/bench.sh build/release build/bench

clean:
	rm -rf build
