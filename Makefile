# Thin wrapper: every target installs what is missing, configures, builds, then runs.
BUILD   ?= build
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps build demo test bench bench-anchor soak asan fuzz clean install deb boot-check

all: build

deps:
	@sh scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	sh scripts/demo.sh $(BUILD)/docket

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900

bench: build
	sh scripts/bench.sh $(BUILD)

# docket's catch-up beside Hypercore 11's replication, one run (npm installs
# Hypercore into $(BUILD)/bench-anchor).
bench-anchor: build
	@sh scripts/install-deps.sh anchor
	sh scripts/bench-anchor.sh $(BUILD)

# Long runs that stay out of the default test run.
SIM_SEEDS ?= 20000
soak: build
	cd $(BUILD) && DOCKET_SOAK=1 ctest --output-on-failure -L soak --timeout 3600
	DOCKET_SIM_FIRST=301 DOCKET_SIM_SEEDS=$(SIM_SEEDS) $(BUILD)/tests/test_sim

asan: deps
	cmake -S . -B build-asan -DDOCKET_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS) --timeout 1800

# libFuzzer targets, built with clang; new inputs go to build-fuzz/corpus,
# the seed corpus in tests/fuzz/corpus stays as committed.
FUZZ_SECONDS ?= 30
fuzz:
	@sh scripts/install-deps.sh fuzz
	cmake -S . -B build-fuzz -DDOCKET_FUZZ=ON -DCMAKE_C_COMPILER=clang $(CMAKE_FLAGS)
	cmake --build build-fuzz -j $(JOBS)
	mkdir -p build-fuzz/corpus/frame
	build-fuzz/fuzz_frame -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	  build-fuzz/corpus/frame tests/fuzz/corpus/frame
	mkdir -p build-fuzz/corpus/sync_msg
	build-fuzz/fuzz_sync_msg -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	  build-fuzz/corpus/sync_msg tests/fuzz/corpus/sync_msg
	mkdir -p build-fuzz/corpus/bundle
	build-fuzz/fuzz_bundle -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	  build-fuzz/corpus/bundle tests/fuzz/corpus/bundle
	mkdir -p build-fuzz/corpus/audit
	build-fuzz/fuzz_audit -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	  build-fuzz/corpus/audit tests/fuzz/corpus/audit
	mkdir -p build-fuzz/corpus/event
	build-fuzz/fuzz_event -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	  build-fuzz/corpus/event tests/fuzz/corpus/event
	mkdir -p build-fuzz/corpus/trust
	build-fuzz/fuzz_trust -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	  build-fuzz/corpus/trust tests/fuzz/corpus/trust
	mkdir -p build-fuzz/corpus/keyfile
	build-fuzz/fuzz_keyfile -max_total_time=$(FUZZ_SECONDS) -max_len=512 \
	  build-fuzz/corpus/keyfile tests/fuzz/corpus/keyfile
	mkdir -p build-fuzz/corpus/request
	build-fuzz/fuzz_request -max_total_time=$(FUZZ_SECONDS) -max_len=2048 \
	  build-fuzz/corpus/request tests/fuzz/corpus/request
	mkdir -p build-fuzz/corpus/netkey
	build-fuzz/fuzz_netkey -max_total_time=$(FUZZ_SECONDS) -max_len=256 \
	  build-fuzz/corpus/netkey tests/fuzz/corpus/netkey
	mkdir -p build-fuzz/corpus/stored
	build-fuzz/fuzz_stored -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	  build-fuzz/corpus/stored tests/fuzz/corpus/stored
	mkdir -p build-fuzz/corpus/csv
	build-fuzz/fuzz_csv -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	  build-fuzz/corpus/csv tests/fuzz/corpus/csv

# make install [PREFIX=/usr/local] [DESTDIR=staging]: the binary, man pages,
# the systemd unit, bash completion and an example config. The prefix is
# configured in, because the unit names the installed binary.
PREFIX  ?= /usr/local
install: deps
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)
	DESTDIR=$(DESTDIR) cmake --install $(BUILD)

# make deb: ./docket_VERSION_ARCH.deb, checked by scripts/check-deb.sh, for 'apt-get install ./docket_*.deb'.
# A build tree of its own, so that the prefix is /usr whatever 'install' used.
deb: deps
	cmake -S . -B $(BUILD)-deb -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DDOCKET_TESTS=OFF -DDOCKET_BENCH=OFF -DDOCKET_FAULT_HOOKS=OFF $(CMAKE_FLAGS)
	cmake --build $(BUILD)-deb -j $(JOBS)
	rm -f $(BUILD)-deb/docket_*.deb
	cd $(BUILD)-deb && cpack -G DEB
	sh scripts/check-deb.sh $(BUILD)-deb/docket_*.deb
	cp $(BUILD)-deb/docket_*.deb .

# make boot-check: the .deb installed on a fresh bookworm tree and booted
# twice under systemd (systemd-nspawn): enable --now, kill -9, restart,
# reboot. Root only; downloads a minimal bookworm the first time.
boot-check: deb
	@sh scripts/install-deps.sh boot
	sh scripts/boot-check.sh $$(ls $(BUILD)-deb/docket_*.deb) $(BUILD)/bookworm-root

clean:
	rm -rf $(BUILD) $(BUILD)-deb build-asan build-fuzz docket_*.deb
