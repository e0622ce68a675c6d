#!/usr/bin/env bash
# portable-check.sh - the shipped binary (`make release`: --static-swift-stdlib) runs where no
# Swift toolchain is: it links no libswift*.so, and with the toolchain's runtime directory
# hidden (an empty tmpfs over it, in a private mount namespace; root) it prints the same
# diagnosis of Captures/dns-timeout-glibc.pcap as its golden report.
#
#   scripts/portable-check.sh [BINARY]     (default .build/release/knetcap)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(readlink -f "${1:-.build/release/knetcap}")
[[ -x $bin ]] || { echo "portable-check: no binary at $bin (run make release)" >&2; exit 1; }
if ldd "$bin" | grep -q 'libswift\|libFoundation\|libdispatch'; then
    echo "portable-check: $bin links the Swift runtime dynamically:" >&2
    ldd "$bin" | grep 'libswift\|libFoundation\|libdispatch' >&2
    exit 1
fi
swift=$(command -v swift || true)
runtime=${SWIFT_RUNTIME_DIR:-${swift:+$(dirname "$(readlink -f "$swift")")/../lib/swift/linux}}
[[ -n $runtime && -d $runtime ]] || { echo "portable-check: cannot find the toolchain's runtime directory" >&2; exit 1; }
runtime=$(readlink -f "$runtime")
expected=Tests/Golden/dns-timeout-glibc.q.txt
got=$(TZ=UTC unshare -m sh -c 'mount -t tmpfs none "$1" && [ -z "$(ls -A "$1")" ] && "$2" -q -r "$3"' sh \
      "$runtime" "$bin" Captures/dns-timeout-glibc.pcap)
if [[ $got != "$(cat "$expected")" ]]; then
    echo "portable-check: with $runtime hidden, $bin printed something else than $expected:" >&2
    diff <(echo "$got") "$expected" >&2 || true
    exit 1
fi
echo "portable-check: $bin runs with $runtime hidden (no Swift runtime linked)"
