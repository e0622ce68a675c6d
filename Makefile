# knetcap — the two quick-start commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
SWIFT ?= swift
APT_PACKAGES_DEMO := libpcap-dev libpcre2-dev libwiretap-dev libwsutil-dev libglib2.0-dev zlib1g-dev libzstd-dev liblz4-dev
APT_PACKAGES_TEST := libpcap-dev libpcre2-dev libwiretap-dev libwsutil-dev libglib2.0-dev zlib1g-dev libzstd-dev liblz4-dev tcpdump tshark wireshark-common zstd lz4 python3 iproute2 nftables dnsmasq-base ethtool util-linux chromium

.PHONY: demo test build install release portable-check deps-demo deps-test bench record clean

# Installs libpcap-dev and libpcre2-dev if missing, builds, and reads the shipped DNS-timeout capture.
demo: deps-demo release
	.build/release/knetcap -r Captures/dns-timeout-glibc.pcap

# Installs what the tests need (libpcap-dev, libpcre2-dev, tcpdump and tshark as reference decoders,
# iproute2/nftables/dnsmasq for namespace tests, chromium to render the HTML reports) and runs the whole suite.
test: deps-test
	$(SWIFT) build --build-tests
	ln -sf knetcap .build/debug/kubectl-knetcap
	$(SWIFT) test --skip-build

# kubectl-knetcap is a link to knetcap: run by that name (kubectl finds plugins on PATH by it,
# `kubectl knetcap ...`), the binary is the kubectl plugin (README: "Many nodes").
build:
	$(SWIFT) build
	ln -sf knetcap .build/debug/kubectl-knetcap

PREFIX ?= /usr/local
# Installs the shipped binary and its kubectl plugin name into $(PREFIX)/bin.
install: release
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 .build/release/knetcap $(DESTDIR)$(PREFIX)/bin/knetcap
	ln -sf knetcap $(DESTDIR)$(PREFIX)/bin/kubectl-knetcap

# The shipped binary: the Swift runtime linked in (--static-swift-stdlib), so it runs on a
# node without a Swift toolchain (libpcap from the node); scripts/portable-check.sh checks it.
release:
	$(SWIFT) build -c release --static-swift-stdlib --product knetcap
	ln -sf knetcap .build/release/kubectl-knetcap

portable-check: release
	scripts/portable-check.sh
	scripts/containerfile-check.sh

bench: release
	scripts/bench.sh

# Builds the libFuzzer harnesses in Fuzz/ (AddressSanitizer; a separate package, so `swift
# build` and `make test` never need the fuzzer runtime) and runs each for FUZZ_SECONDS, one
# after another; FUZZ_HARNESSES="FuzzDNS FuzzHTTP" for some (README: "Fuzzing").
FUZZ_SECONDS ?= 60
FUZZ_HARNESSES ?=
.PHONY: fuzz
fuzz: deps-demo
	Fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_HARNESSES)

# Re-records Captures/*.pcap on the real kernel (root); SCENARIOS="dns-healthy ..." for some
# (Captures/record.sh --list).
record: release
	Captures/record.sh $(SCENARIOS)

deps-demo:
	@dpkg -s $(APT_PACKAGES_DEMO) >/dev/null 2>&1 || { \
	  echo "installing $(APT_PACKAGES_DEMO)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES_DEMO); }

deps-test:
	@dpkg -s $(APT_PACKAGES_TEST) >/dev/null 2>&1 || { \
	  echo "installing $(APT_PACKAGES_TEST)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES_TEST); }
	@command -v kubernetes-validate >/dev/null || python3 -m pip install -q --disable-pip-version-check kubernetes-validate

clean:
	rm -rf .build bench-out

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
