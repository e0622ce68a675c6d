#!/usr/bin/env bash
# release-signal-check.sh - the shipped binary (`make release`), stopped by two SIGINTs 50 ms
# apart at several moments of `-r BIG -w OUT.pcapng -C 20` (reading, writing, the finding-
# comment pass): it exits 130, and no `.knetcap-tmp` file of the comment pass stays behind,
# the -w files complete (read by capinfos). A release build inlines across modules: the stop
# handler's state once got a copy per module there (Sources/CSignals), which no debug-built
# test saw.
#
#   scripts/release-signal-check.sh [BINARY]     (default .build/release/knetcap)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(readlink -f "${1:-.build/release/knetcap}")
[[ -x $bin ]] || { echo "release-signal-check: no binary at $bin (run make release)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 scripts/gen_pcap.py --packets 600000 --seed 5 "$work/big.pcap" >/dev/null
# How long a whole run takes, to spread the signals over it.
start=$(date +%s.%N)
"$bin" -q -r "$work/big.pcap" -w "$work/whole.pcapng" -C 20 >/dev/null 2>&1
total=$(python3 -c "import sys; print(round($(date +%s.%N) - $start, 3))")
fail=0
for frac in 0.2 0.4 0.55 0.7 0.8 0.9; do
    rm -rf "$work/s"; mkdir "$work/s"
    "$bin" -q -r "$work/big.pcap" -w "$work/s/o.pcapng" -C 20 >/dev/null 2>"$work/err" &
    pid=$!
    sleep "$(python3 -c "print(round($total * $frac, 3))")"
    kill -INT "$pid" 2>/dev/null || true; sleep 0.05; kill -INT "$pid" 2>/dev/null || true
    rc=0; wait "$pid" || rc=$?
    if ls "$work/s" | grep -q knetcap-tmp; then
        echo "release-signal-check: at $frac of the run (exit $rc): a comment pass's temporary file stayed: $(ls "$work/s" | tr '\n' ' ')" >&2; fail=1
    fi
    for f in "$work"/s/o.pcapng*; do
        capinfos -c "$f" >/dev/null 2>&1 || { echo "release-signal-check: at $frac: $f is not a complete capture" >&2; fail=1; }
    done
done
[[ $fail == 0 ]] && echo "release-signal-check: $bin: two SIGINTs at 6 moments of a $total s rewrite left complete files and no temporary file"
exit $fail
