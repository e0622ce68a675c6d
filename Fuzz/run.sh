#!/usr/bin/env bash
# Builds the libFuzzer harnesses (AddressSanitizer, release) and runs each for SECONDS, one at
# a time: `make fuzz FUZZ_SECONDS=N`, or Fuzz/run.sh SECONDS [HARNESS ...].
#
# Seeds come from the repository's captures (Fuzz/seeds.py -> Fuzz/seeds/, remade each run)
# and the committed crash inputs (Tests/Captures/fuzz/HARNESS/); what a run finds new is kept
# in Fuzz/corpus/HARNESS/ for the next run. A crash leaves Fuzz/artifacts/HARNESS-crash-* and
# fails the run; the last lines of each harness's log are in Fuzz/artifacts/HARNESS.log.
# FUZZ_SCRATCH sets the build directory (default .build-fuzz), FUZZ_ARGS adds libFuzzer flags.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
if [ $# -eq 0 ]; then set -- FuzzDissect FuzzDNS FuzzHTTP FuzzFilter FuzzAnalysis FuzzWiretap; fi
scratch=${FUZZ_SCRATCH:-.build-fuzz}
# `--sanitize fuzzer` makes SwiftPM link libFuzzer's main; the single -sanitize=fuzzer,address
# after it is what swiftc keeps (it honours only the last -sanitize= option).
# -Xcc -I/usr/include/wireshark: KnetcapCapture's own flag for libwiretap's headers is not
# applied when it builds as a dependency (FuzzWiretap), so the build passes it.
build=(swift build --package-path Fuzz -c release --scratch-path "$scratch"
       --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -g -Xswiftc -suppress-warnings
       -Xcc -I/usr/include/wireshark)
"${build[@]}"
bin=$("${build[@]}" --show-bin-path)
python3 Fuzz/seeds.py Fuzz/seeds
mkdir -p Fuzz/artifacts
# Swift's backtracer would take the crash signal before libFuzzer writes the crash input.
export SWIFT_BACKTRACE=enable=no
# quarantine_size_mb=16: libwiretap allocates and frees buffers of hundreds of KB for every file
# it opens, and ASan's default 256 MB quarantine of freed memory halved FuzzWiretap's speed
# (1200 -> 1900 inputs/s); 16 MB still holds what the last several inputs freed, so a use
# after free within one input is still caught.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0:quarantine_size_mb=16}

max_len() {
    case $1 in
        FuzzFilter) echo 2048 ;;
        FuzzAnalysis|FuzzWiretap) echo 65536 ;;
        *) echo 16384 ;;
    esac
}

failed=()
for h in "$@"; do
    mkdir -p "Fuzz/corpus/$h"
    dirs=("Fuzz/corpus/$h" "Fuzz/seeds/$h")
    [ -d "Tests/Captures/fuzz/$h" ] && dirs+=("Tests/Captures/fuzz/$h")
    opts=(-max_total_time="$seconds" -detect_leaks=0 -timeout=10 -rss_limit_mb=4096 -max_len="$(max_len "$h")"
          -print_final_stats=1 -artifact_prefix="Fuzz/artifacts/$h-")
    [ -f "Fuzz/seeds/$h.dict" ] && opts+=(-dict="Fuzz/seeds/$h.dict")
    echo "== $h: ${seconds} s"
    status=0
    # shellcheck disable=SC2086
    "$bin/$h" "${opts[@]}" ${FUZZ_ARGS:-} "${dirs[@]}" > "Fuzz/artifacts/$h.log" 2>&1 || status=$?
    grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|stat::number_of_executed_units|stat::peak_rss_mb' "Fuzz/artifacts/$h.log" || true
    if [ "$status" -ne 0 ]; then
        echo "$h FAILED (exit $status):"
        grep -E -A30 '==ERROR|deadly signal|Fatal error|SUMMARY|Test unit written' "Fuzz/artifacts/$h.log" | head -60
        failed+=("$h")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: crashes in ${failed[*]} (inputs in Fuzz/artifacts/)"
    exit 1
fi
echo "fuzz: no crashes in $* (${seconds} s each)"
