#!/usr/bin/env bash
# bench.sh — time knetcap against tcpdump (and tshark) on a synthetic capture.
#
# Usage: scripts/bench.sh [--packets N] [--runs R] [--no-tshark] [--out DIR]
#   --packets N   packets in the generated file (default 1000000)
#   --runs R      timed runs per command (default 5); tshark is run once
#   --no-tshark   skip tshark even if installed
#   --out DIR     work dir (default $REPO/bench-out)
# Environment:
#   KNETCAP=/path        use this binary; skips `swift build -c release`
#   KNETCAP_SHARED=DIR   shared folder holding bench/gen_pcap.py (default $REPO/../shared)
#
# The file is generated once per packet count as DIR/k8s-N-seed1.pcap and reused.
# All commands run in one interleaved loop (round 1: every command, round 2: every
# command, ...) so machine noise hits them all alike; each run is timed as wall clock
# with time.perf_counter. Everything runs with TZ=UTC (tcpdump stats /etc/localtime per
# packet otherwise). Prints median, min, packets/s and the ratio to tcpdump's median, and
# writes the same table to DIR/bench.json.
# Example: scripts/bench.sh --packets 100000 --runs 3
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${KNETCAP_SHARED:-$REPO/../shared}
[[ -d $SHARED || -n ${KNETCAP_SHARED:-} ]] || SHARED=/work/shared   # the workplace's copy
PACKETS=1000000 RUNS=5 TSHARK=1 WORK=$REPO/bench-out

die() { echo "bench.sh: $*" >&2; exit 1; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --packets) PACKETS=${2:?--packets needs a value}; shift 2 ;;
    --runs) RUNS=${2:?--runs needs a value}; shift 2 ;;
    --no-tshark) TSHARK=0; shift ;;
    --out) WORK=${2:?--out needs a value}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
done
[[ $PACKETS =~ ^[1-9][0-9]*$ ]] || die "--packets must be a positive integer"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"
command -v tcpdump >/dev/null || die "tcpdump not found (apt-get install -y tcpdump)"
GEN=$SHARED/bench/gen_pcap.py
[[ -f $GEN ]] || die "generator not found: $GEN (set KNETCAP_SHARED)"
mkdir -p "$WORK"

# 1. knetcap binary (checked first, to fail fast): $KNETCAP, or a fresh release build of the repo.
if [[ -n ${KNETCAP:-} ]]; then
  BIN=$(command -v "$KNETCAP") || die "KNETCAP=$KNETCAP is not an executable"
else
  BIN=$REPO/.build/release/knetcap
  command -v swift >/dev/null || die "swift not found; install it or set KNETCAP=/path/to/knetcap"
  echo "== swift build -c release"
  (cd "$REPO" && swift build -c release) || die "swift build -c release failed; fix the build or set KNETCAP=/path/to/knetcap"
  [[ -x $BIN ]] || die "build succeeded but $BIN is missing; set KNETCAP=/path/to/knetcap"
fi
echo "== knetcap: $BIN"

# 2. Capture file, generated once per size (written to a temp name, then renamed).
PCAP=$WORK/k8s-$PACKETS-seed1.pcap
if [[ -s $PCAP && -s $PCAP.truth.json ]]; then
  echo "== reusing $PCAP"
else
  echo "== generating $PCAP ($PACKETS packets)"
  TMP=$WORK/.gen-$$.pcap
  python3 "$GEN" "$TMP" --packets "$PACKETS" --seed 1
  mv "$TMP.truth.json" "$PCAP.truth.json" && mv "$TMP" "$PCAP"
fi

# 3. Commands: one "label<TAB>shell command" per line. The -q diagnosis is kept in DIR.
export TZ=UTC
q() { printf '%q' "$1"; }
K=$(q "$BIN") F=$(q "$PCAP")
CMDS=$(printf '%s\t%s\n' \
  "knetcap -q -r" "$K -q -r $F > $(q "$WORK/knetcap-q.out")" \
  "knetcap -r" "$K -r $F > /dev/null")
if "$BIN" --help 2>&1 | grep -q -- '-Y'; then
  CMDS+=$'\n'$(printf '%s\t%s' "knetcap -r -Y dns" \
    "$K -r $F -Y 'dns.qry.name contains \"cluster\"' > /dev/null")
else
  echo "== knetcap --help does not mention -Y: skipping the display-filter run"
fi
CMDS+=$'\n'$(printf '%s\t%s' "tcpdump -nn -r" "tcpdump -nn -r $F > /dev/null 2>&1")
TSHARK_CMD=
if [[ $TSHARK == 1 ]] && command -v tshark >/dev/null; then
  TSHARK_CMD="tshark -n -r $F > /dev/null 2>&1"
elif [[ $TSHARK == 1 ]]; then
  echo "== tshark not installed: skipping it"
fi

# 4. Interleaved timing loop, table and JSON.
echo "== timing: $RUNS interleaved runs each (TZ=UTC)"
cat "$PCAP" > /dev/null   # warm the page cache
CMDS=$CMDS TSHARK_CMD=$TSHARK_CMD RUNS=$RUNS PACKETS=$PACKETS PCAP=$PCAP BIN=$BIN \
  OUT_JSON=$WORK/bench.json python3 - <<'PY'
import json, os, statistics, subprocess, sys, time
env = os.environ
runs, packets = int(env["RUNS"]), int(env["PACKETS"])
cmds = [line.split("\t", 1) for line in env["CMDS"].splitlines() if line]
times = {label: [] for label, _ in cmds}
codes = {label: set() for label, _ in cmds}

def timed(label, cmd):
    t0 = time.perf_counter()
    rc = subprocess.run(cmd, shell=True, executable="/bin/bash").returncode
    dt = time.perf_counter() - t0
    times[label].append(dt)
    codes[label].add(rc)
    print(f"   {label:<20} {dt:8.3f} s" + (f"  (exit {rc})" if rc else ""), file=sys.stderr)

for r in range(runs):
    print(f"-- round {r + 1}/{runs}", file=sys.stderr)
    for label, cmd in cmds:
        timed(label, cmd)
if env.get("TSHARK_CMD"):
    print("-- tshark (once)", file=sys.stderr)
    cmds.append(["tshark -n -r", env["TSHARK_CMD"]])
    times["tshark -n -r"], codes["tshark -n -r"] = [], set()
    timed("tshark -n -r", env["TSHARK_CMD"])

base = statistics.median(times["tcpdump -nn -r"])
rows = []
for label, cmd in cmds:
    med = statistics.median(times[label])
    rows.append(dict(command=label, shell=cmd, runs=len(times[label]), median_s=med,
                     min_s=min(times[label]), packets_per_s=packets / med,
                     ratio_to_tcpdump=med / base, exit_codes=sorted(codes[label]),
                     times_s=times[label]))
print(f"\n{packets} packets, {runs} runs, TZ=UTC, {env['PCAP']}")
print(f"{'command':<20} {'median s':>9} {'min s':>9} {'packets/s':>12}  vs tcpdump")
for r in rows:
    note = "" if r["exit_codes"] == [0] else f"  exit {r['exit_codes']}"
    print(f"{r['command']:<20} {r['median_s']:9.3f} {r['min_s']:9.3f} "
          f"{r['packets_per_s']:12,.0f}  {r['command']}: {r['ratio_to_tcpdump']:.2f}x tcpdump{note}")
with open(env["OUT_JSON"], "w") as f:
    json.dump(dict(packets=packets, runs=runs, file=env["PCAP"], knetcap=env["BIN"], tz="UTC",
                   date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), results=rows), f, indent=2)
print(f"\nwrote {env['OUT_JSON']}")
PY
