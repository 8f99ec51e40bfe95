# Thin wrapper over CMake for the README's two commands.
#   make run   installs what is missing (Debian), builds, starts feltd --bots 3 and opens felt
#   make test  installs what is missing, builds and runs every test
#   make install        builds and installs (cmake --install) into PREFIX (default /usr/local),
#                       under DESTDIR when set; make deb builds the Debian package (cpack)
# FELT_SANITIZE=ON builds with ASan+UBSan into build-asan/. FELT_WERROR=ON (the default here,
# for developers and CI; CMake's own default is OFF, for packagers) treats warnings as errors.
FELT_SANITIZE ?= OFF
FELT_WERROR ?= ON
BUILD ?= $(if $(filter ON,$(FELT_SANITIZE)),build-asan,build)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local

.PHONY: all deps build test run clean install deb
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

# The prefix is set when configuring: feltd's default config file (PREFIX's etc, /etc for /usr)
# and the systemd unit's ExecStart are made from it.
install: deps
	cmake -S . -B $(BUILD) -DFELT_SANITIZE=$(FELT_SANITIZE) -DFELT_WERROR=$(FELT_WERROR) \
	      -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	cmake --build $(BUILD) -j $(JOBS)
	cmake --install $(BUILD)

# A Debian package of a Release build for /usr, in build-deb/.
deb: deps
	cmake -S . -B build-deb -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr
	cmake --build build-deb -j $(JOBS) --target felt feltd felt_man felt_changelog
	cd build-deb && cpack -G DEB

clean:
	rm -rf build build-asan build-deb
