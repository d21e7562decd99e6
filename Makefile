# Thin wrapper: the real build is CMake (see CMakePresets.json).
#   make test   install missing packages, build, run every test
#   make demo   install missing packages, build, run the tailer demo
.PHONY: all deps build test demo release clean

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

clean:
	rm -rf build
