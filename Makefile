# Thin wrapper over CMake for the README's two commands.
#   make run   installs what is missing (Debian), builds, starts feltd --bots 3 and opens felt
#   make test  installs what is missing, builds and runs every test
# FELT_SANITIZE=ON builds with ASan+UBSan into build-asan/. FELT_WERROR=ON (the default here,
# for developers and CI; CMake's own default is OFF, for packagers) treats warnings as errors.
FELT_SANITIZE ?= OFF
FELT_WERROR ?= ON
BUILD ?= $(if $(filter ON,$(FELT_SANITIZE)),build-asan,build)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build test run clean
all: build

deps:
	@sh scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DFELT_SANITIZE=$(FELT_SANITIZE) -DFELT_WERROR=$(FELT_WERROR)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

run: build
	@sh scripts/run.sh $(BUILD)

clean:
	rm -rf build build-asan
