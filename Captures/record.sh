#!/usr/bin/env bash
# record.sh - record small, REAL packet captures on the real Linux kernel for knetcap's tests
# and Captures/ (see Captures/README.md): one scenario per file in Captures/scenarios/, each on
# a topology from Captures/topologies/ built from scratch (torn down on exit by a trap).
#
# Usage:  sudo Captures/record.sh [SCENARIO...]    record those (default: all)
#         Captures/record.sh --list                 list scenarios: topology, capture, findings
#   SCENARIO is a file name in scenarios/ without .sh (the capture's name without .pcap).
#   Scenarios run grouped by topology (in order of first appearance); each topology is built
#   once per group.
# Environment:
#   KNETCAP   capture tool, invoked as "$KNETCAP" -i IFACE -w FILE FILTER...; default
#             <repo>/.build/release/knetcap. KNETCAP=tcpdump works too (-U is added).
#   FILTER    BPF filter words for the "pair" topology's captures (default: udp port 53;
#             FILTER= captures everything).
#   OUT       output directory (default: the directory of this script, over the shipped ones).
#   DIAG_DIR  also run knetcap's live diagnosis in the server namespace where a scenario asks
#             for it, writing DIR/NAME.json (used by the test suite).
#
# A scenario file NAME.sh sets SCENARIO_TOPOLOGY (a file in topologies/), SCENARIO_EXPECT (the
# finding kinds knetcap names on the capture, sorted; "" = none), SCENARIO_FILTER=(words) and
# optionally SCENARIO_ON=(NS IFACE) (default: the topology's CAPTURE_ON) and SCENARIO_CAPTURE
# (default: NAME.pcap); it defines traffic (run while capturing into $CAP_FILE) and optionally
# prepare (before the capture starts) and verify (after it stopped: check the capture's shape,
# die if wrong). Its header comment is the capture's note. Adding a recording is one new file.
#
# Each capture is recorded into a temp dir, verified, and moved into OUT only when its shape
# is right; any failure aborts the run.
set -euo pipefail

CAPTURES=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$CAPTURES/.." && pwd)
KNETCAP=${KNETCAP:-$REPO/.build/release/knetcap}
FILTER=${FILTER-udp port 53}
OUT=${OUT:-$CAPTURES}

LOG_TAG=record
# shellcheck source=Captures/lib.sh
source "$CAPTURES/lib.sh"

scenario_file() { printf '%s/scenarios/%s.sh' "$CAPTURES" "${1%.pcap}"; }
scenario_var() { sed -n "s/^$2=//p" "$(scenario_file "$1")" | tr -d '"'; }   # $1 = scenario

ALL=()
for f in "$CAPTURES"/scenarios/*.sh; do f=${f##*/}; ALL+=("${f%.sh}"); done
# Source a scenario (after its topology): it only sets variables and defines functions.
load_scenario() {   # $1 = scenario name
    unset -f prepare traffic verify
    SCENARIO_CAPTURE=${1%.pcap}.pcap; SCENARIO_EXPECT=""
    SCENARIO_ON=("${CAPTURE_ON[@]}"); SCENARIO_FILTER=()
    # shellcheck source=/dev/null
    source "$(scenario_file "$1")"
}

if [[ ${1:-} == --list ]]; then
    for s in "${ALL[@]}"; do
        # shellcheck source=/dev/null
        source "$CAPTURES/topologies/$(scenario_var "$s" SCENARIO_TOPOLOGY).sh"
        load_scenario "$s"
        printf '%s\n    %s\n    topology %s, captured on %s (%s); findings: %s\n' "$SCENARIO_CAPTURE" \
            "$(sed -n '2s/^# [^ ]* - //p' "$(scenario_file "$s")")" "$SCENARIO_TOPOLOGY" \
            "${SCENARIO_ON[1]} in ${SCENARIO_ON[0]}" "${SCENARIO_FILTER[*]:-everything}" "${SCENARIO_EXPECT:-none}"
    done
    exit 0
fi
NAMES=("$@")
[[ ${#NAMES[@]} -gt 0 ]] || NAMES=("${ALL[@]}")
# grouped by topology, in order of first appearance
TOPOLOGIES=()
for s in "${NAMES[@]}"; do
    [[ -f $(scenario_file "$s") ]] || die "unknown scenario '$s' (${ALL[*]})"
    t=$(scenario_var "$s" SCENARIO_TOPOLOGY)
    [[ -f $CAPTURES/topologies/$t.sh ]] || die "scenario $s: unknown topology '$t'"
    [[ " ${TOPOLOGIES[*]} " == *" $t "* ]] || TOPOLOGIES+=("$t")
done

# ---------------------------------------------------------------- preflight
take_recording_lock
NEEDS=()
for t in "${TOPOLOGIES[@]}"; do
    # shellcheck source=/dev/null
    source "$CAPTURES/topologies/$t.sh"; NEEDS+=("${TOPOLOGY_NEEDS[@]}")
done
for cmd in "${NEEDS[@]}"; do
    command -v "$cmd" >/dev/null || die "missing required command: $cmd"
done
if [[ $KNETCAP == */* ]]; then
    [[ -x $KNETCAP ]] || die "capture tool not found: $KNETCAP (build it with 'swift build -c release', or set KNETCAP=tcpdump)"
else
    command -v "$KNETCAP" >/dev/null || die "capture tool not found in PATH: $KNETCAP"
fi
CAP_EXTRA=()
[[ $(basename "$KNETCAP") == tcpdump ]] && CAP_EXTRA=(-U)
HAVE_TCPDUMP=0; command -v tcpdump >/dev/null && HAVE_TCPDUMP=1
mkdir -p "$OUT"

WORK=""; CAP_PID=""; DIAG_PID=""; TOPOLOGY=""; CREATED_ETC_NETNS=0
PUBLISHED=(); declare -A EXPECTED=() SUMMARY_EXTRA=()

stop_all() {
    local pid
    [[ -n $CAP_PID ]] && stop_pid "$CAP_PID" INT
    [[ -n ${DIAG_PID:-} ]] && stop_pid "$DIAG_PID" INT
    for pid in "${BG_PIDS[@]}"; do stop_pid "$pid" TERM; done
    CAP_PID=""; DIAG_PID=""; BG_PIDS=()
}

cleanup() {
    local rc=$? f
    trap - EXIT INT TERM
    stop_all
    [[ -n $TOPOLOGY ]] && topology_teardown
    if [[ -n $WORK && -d $WORK ]]; then
        if [[ $rc -ne 0 ]]; then
            for f in "$WORK"/*.log; do
                [[ -s $f ]] || continue
                log "$(basename "$f"):"; sed 's/^/    /' "$f" >&2
            done
        fi
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
WORK=$(mktemp -d /tmp/knetcap-record.XXXXXX)
chmod 755 "$WORK"   # dnsmasq / tcpdump may drop privileges

use_topology() {    # $1 = topology name
    [[ $1 == "$TOPOLOGY" ]] && return 0
    if [[ -n $TOPOLOGY ]]; then stop_all; topology_teardown; fi
    # shellcheck source=/dev/null
    source "$CAPTURES/topologies/$1.sh"
    TOPOLOGY=$1
    log "topology $1"
    topology_teardown   # leftovers from an interrupted run
    topology_setup
}

record_scenario() { # $1 = scenario name
    load_scenario "$1"
    CAP_FILE=$WORK/$SCENARIO_CAPTURE
    log "scenario ${1%.pcap}: ${SCENARIO_ON[*]} (${SCENARIO_FILTER[*]:-everything}) -> $SCENARIO_CAPTURE"
    if declare -F prepare >/dev/null; then prepare; fi
    start_capture "${SCENARIO_ON[@]}" "$CAP_FILE" "${SCENARIO_FILTER[@]}"
    traffic
    stop_capture "$CAP_FILE"
    if declare -F verify >/dev/null; then verify; fi
    publish "$CAP_FILE" "$SCENARIO_CAPTURE"
    EXPECTED[$SCENARIO_CAPTURE]=$SCENARIO_EXPECT
}

# The finding kinds knetcap names on a capture, sorted and unique ("" = none).
finding_kinds() {   # $1 = pcap
    "$KNETCAP" -q --json -r "$1" | grep '^{"finding"' | grep -o '"kind":"[^"]*"' |
        cut -d'"' -f4 | sort -u | paste -sd' ' || true
}

for t in "${TOPOLOGIES[@]}"; do
    for s in "${NAMES[@]}"; do
        [[ $(scenario_var "$s" SCENARIO_TOPOLOGY) == "$t" ]] || continue
        use_topology "$t"
        record_scenario "$s"
    done
done

# ---------------------------------------------------------------- summary
echo
echo "== captures recorded with: $KNETCAP on Linux $(uname -r), $(getconf GNU_LIBC_VERSION 2>/dev/null)"
for f in "${PUBLISHED[@]}"; do
    if [[ $HAVE_TCPDUMP == 1 ]]; then
        echo "-- $f ($(stat -c %s "$OUT/$f") bytes, $(tcpdump -nn -r "$OUT/$f" 2>/dev/null | wc -l) packets)"
        tcpdump -nn -r "$OUT/$f" 2>/dev/null
    else
        echo "-- $f ($(stat -c %s "$OUT/$f") bytes)"
    fi
    if [[ -n ${SUMMARY_EXTRA[$f]:-} ]]; then sed 's/^/   /' <<<"${SUMMARY_EXTRA[$f]}"; fi
    [[ $(basename "$KNETCAP") != tcpdump ]] || continue
    kinds=$(finding_kinds "$OUT/$f")
    if [[ $kinds == "${EXPECTED[$f]}" ]]; then
        echo "   findings: ${kinds:-none}, as expected"
    else
        echo "   findings: ${kinds:-none}; the scenario expects ${EXPECTED[$f]:-none}"
        log "WARNING: $f: knetcap names ${kinds:-none}, the scenario expects ${EXPECTED[$f]:-none}"
    fi
done
