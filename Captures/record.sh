#!/usr/bin/env bash
# record.sh - record small, REAL packet captures for knetcap's tests/fixtures.
#
# Topology (built from scratch on every run, torn down on exit by a trap):
#
#   netns knc-client                          netns knc-dns
#   +----------------------------+   veth     +-----------------------------+
#   | knc-c0  10.53.0.2/24       |<---------->| knc-d0  10.53.0.1/24        |
#   |         fd53::2/64         |            |         fd53::1/64          |
#   | glibc resolver (getent)    |            | dnsmasq :53 (UDP/TCP)       |
#   | /etc/resolv.conf ->        |            |   api.knetcap.test A    10.53.0.80
#   |   nameserver 10.53.0.1     |            |   api.knetcap.test AAAA fd53::80
#   | capture tool on knc-c0     |            |   other *.knetcap.test  NXDOMAIN
#   +----------------------------+            | nftables fault rules (output)|
#                                             +-----------------------------+
#
# The client's resolv.conf comes from /etc/netns/knc-client/resolv.conf, which
# `ip netns exec` bind-mounts over /etc/resolv.conf (created here, removed on
# exit). The client resolver is the real glibc one: `getent ahosts NAME` sends
# the A and AAAA queries in parallel (sendmmsg) from ONE UDP socket. IPv6
# addresses are configured only so that getaddrinfo's AI_ADDRCONFIG still asks
# for AAAA (no DNS traffic goes over IPv6); RA/RS/DAD are disabled to keep the
# link quiet.
#
# Captures written to Captures/ (see Captures/README.md):
#   dns-healthy.pcap        successful lookups + one NXDOMAIN, no faults
#   dns-timeout-glibc.pcap  first AAAA reply dropped by nftables in knc-dns ->
#                           glibc's 5 s resolver timeout and re-query
#
# Requirements: root, Linux network namespaces, iproute2 (ip), nftables (nft),
# dnsmasq (dnsmasq-base), glibc getent, tcpdump (to print/verify the result).
# Optional: ethtool (turns off veth TX checksum offload so captured UDP
# checksums are valid; without it captures show "bad udp cksum").
#
# Usage:  sudo Captures/record.sh
# Environment:
#   KNETCAP   capture tool, invoked as: "$KNETCAP" -i IFACE -w FILE [FILTER...]
#             default: <repo>/.build/release/knetcap. KNETCAP=tcpdump works too
#             (-U is added automatically for tcpdump).
#   FILTER    BPF filter words passed to the capture tool (default: udp port 53;
#             set FILTER= to capture everything).
#   OUT       output directory (default: the directory of this script).
#
# Idempotent: stale namespaces / config from an interrupted run are removed
# first; captures are recorded into a temp dir and only moved into OUT when the
# scenario succeeded.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
KNETCAP=${KNETCAP:-$REPO/.build/release/knetcap}
FILTER=${FILTER-udp port 53}
OUT=${OUT:-$SCRIPT_DIR}

NS_C=knc-client
NS_S=knc-dns
IF_C=knc-c0
IF_S=knc-d0
IP4_C=10.53.0.2
IP4_S=10.53.0.1
IP6_C=fd53::2
IP6_S=fd53::1
NAME=api.knetcap.test
NAME_A=10.53.0.80
NAME_AAAA=fd53::80
NX_NAME=missing.knetcap.test
NETNS_ETC=/etc/netns/$NS_C
NFT_TABLE=knc_fault

WORK=""
DNSMASQ_PID=""
CAP_PID=""
CREATED_ETC_NETNS=0

LOG_TAG=record
# shellcheck source=Captures/lib.sh
source "$SCRIPT_DIR/lib.sh"

# Remove namespaces and resolver config; kill whatever still runs inside our
# namespaces (only this script ever starts processes there).
teardown() {
    local ns pid
    for ns in "$NS_C" "$NS_S"; do
        if ip netns list | grep -qw -- "$ns"; then
            for pid in $(ip netns pids "$ns" 2>/dev/null); do
                kill -TERM "$pid" 2>/dev/null || true
            done
            sleep 0.2
            for pid in $(ip netns pids "$ns" 2>/dev/null); do
                kill -KILL "$pid" 2>/dev/null || true
            done
            ip netns del "$ns" 2>/dev/null || true
        fi
    done
    rm -f "$NETNS_ETC/resolv.conf"
    rmdir "$NETNS_ETC" 2>/dev/null || true
    if [[ $CREATED_ETC_NETNS == 1 ]]; then rmdir /etc/netns 2>/dev/null || true; fi
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [[ -n $CAP_PID ]] && stop_pid "$CAP_PID" INT
    [[ -n $DNSMASQ_PID ]] && stop_pid "$DNSMASQ_PID" TERM
    teardown
    if [[ -n $WORK && -d $WORK ]]; then
        if [[ $rc -ne 0 && -s $WORK/dnsmasq.log ]]; then
            log "dnsmasq log:"; sed 's/^/    /' "$WORK/dnsmasq.log" >&2
        fi
        rm -rf "$WORK"
    fi
    exit "$rc"
}

# ---------------------------------------------------------------- preflight
take_recording_lock
for cmd in ip nft dnsmasq getent sysctl; do
    command -v "$cmd" >/dev/null || die "missing required command: $cmd"
done
if [[ $KNETCAP == */* ]]; then
    [[ -x $KNETCAP ]] || die "capture tool not found: $KNETCAP (build it with 'swift build -c release', or set KNETCAP=tcpdump)"
else
    command -v "$KNETCAP" >/dev/null || die "capture tool not found in PATH: $KNETCAP"
fi
CAP_EXTRA=()
[[ $(basename "$KNETCAP") == tcpdump ]] && CAP_EXTRA=(-U)
read -r -a FILTER_WORDS <<<"$FILTER"
HAVE_TCPDUMP=0; command -v tcpdump >/dev/null && HAVE_TCPDUMP=1
# CPU pinning: with client and server on one CPU, waking dnsmasq for the A
# query preempts getent inside sendmmsg(), so the A reply lands between the A
# and AAAA queries - an artifact of both ends sharing a host. With the client
# and dnsmasq on different CPUs the two queries leave back to back (a few us
# apart) before any reply, as with a real remote server.
PIN_CLIENT=(); PIN_SERVER=()
if command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then
    PIN_CLIENT=(taskset -c 0); PIN_SERVER=(taskset -c 1)
else
    log "WARNING: taskset missing or single CPU; the A reply may overtake the AAAA query"
fi
mkdir -p "$OUT"

trap cleanup EXIT
trap 'exit 130' INT TERM
teardown   # leftovers from an interrupted run
WORK=$(mktemp -d /tmp/knc-record.XXXXXX)
chmod 755 "$WORK"   # dnsmasq / tcpdump may drop privileges

# ---------------------------------------------------------------- topology
setup() {
    local ns
    ip netns add "$NS_C"
    ip netns add "$NS_S"
    for ns in "$NS_C" "$NS_S"; do
        # Applies to interfaces created afterwards: no RS/RA/DAD chatter.
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_ra=0 \
            net.ipv6.conf.default.router_solicitations=0 \
            net.ipv6.conf.default.accept_dad=0
        ip -n "$ns" link set lo up
    done
    ip link add "$IF_C" netns "$NS_C" type veth peer name "$IF_S" netns "$NS_S"
    ip -n "$NS_C" addr add "$IP4_C/24" dev "$IF_C"
    ip -n "$NS_S" addr add "$IP4_S/24" dev "$IF_S"
    ip -n "$NS_C" -6 addr add "$IP6_C/64" dev "$IF_C" nodad
    ip -n "$NS_S" -6 addr add "$IP6_S/64" dev "$IF_S" nodad
    if command -v ethtool >/dev/null; then
        ip netns exec "$NS_C" ethtool -K "$IF_C" tx off >/dev/null
        ip netns exec "$NS_S" ethtool -K "$IF_S" tx off >/dev/null
    else
        log "WARNING: ethtool not found; veth TX checksum offload stays on and captured UDP checksums will look bad"
    fi
    ip -n "$NS_C" link set "$IF_C" up
    ip -n "$NS_S" link set "$IF_S" up

    [[ -d /etc/netns ]] || CREATED_ETC_NETNS=1
    mkdir -p "$NETNS_ETC"
    printf 'nameserver %s\n' "$IP4_S" >"$NETNS_ETC/resolv.conf"

    "${PIN_SERVER[@]}" ip netns exec "$NS_S" dnsmasq -k --no-resolv --no-hosts --conf-file=/dev/null \
        --bind-interfaces --listen-address="$IP4_S" --port=53 \
        --pid-file="$WORK/dnsmasq.pid" --log-queries --log-facility="$WORK/dnsmasq.log" \
        --local=/knetcap.test/ \
        --host-record="$NAME,$NAME_A,$NAME_AAAA" &
    DNSMASQ_PID=$!
}

# getent ahosts NAME in the client namespace; prints output, returns getent's rc.
lookup() { "${PIN_CLIENT[@]}" ip netns exec "$NS_C" getent ahosts "$1"; }

# Wait for dnsmasq and warm the neighbour caches so no ARP delay shows up in a
# capture. Before dnsmasq binds, the query gets ICMP port-unreachable and
# getent fails fast, so retrying is cheap.
warm_up() {
    local i
    for ((i = 0; i < 50; i++)); do
        kill -0 "$DNSMASQ_PID" 2>/dev/null || die "dnsmasq exited early"
        if lookup "$NAME" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    die "dnsmasq in $NS_S does not answer for $NAME"
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# ---------------------------------------------------------------- capturing
start_capture() {   # $1 = output file
    : >"$WORK/capture.err"
    ip netns exec "$NS_C" "$KNETCAP" "${CAP_EXTRA[@]}" -i "$IF_C" -w "$1" \
        "${FILTER_WORDS[@]}" 2>"$WORK/capture.err" &
    CAP_PID=$!
    sleep 1   # let the tool open the interface and install the filter
    if ! kill -0 "$CAP_PID" 2>/dev/null; then
        cat "$WORK/capture.err" >&2
        CAP_PID=""
        die "capture tool exited before the traffic started"
    fi
}

stop_capture() {    # $1 = output file
    # libpcap's TPACKET_V3 ring hands packets to the tool in blocks that are
    # retired after a timeout (~1 s for tcpdump); stopping right after the
    # traffic can lose the last packets. Give it time to drain first.
    sleep 2
    stop_pid "$CAP_PID" INT
    CAP_PID=""
    sed 's/^/    capture: /' "$WORK/capture.err" >&2
    [[ -s $1 ]] || die "capture tool wrote no data to $1"
}

# Move a finished capture into OUT.
publish() {         # $1 = temp file, $2 = final name
    install -m 0644 "$1" "$OUT/$2"
    log "wrote $OUT/$2 ($(stat -c %s "$OUT/$2") bytes)"
}

expect_both_addresses() {  # $1 = getent output
    grep -q "^$NAME_A " <<<"$1" || die "lookup result lacks $NAME_A"
    grep -q "^$NAME_AAAA " <<<"$1" || die "lookup result lacks $NAME_AAAA"
}

# ---------------------------------------------------------------- scenarios
record_healthy() {
    local f=$WORK/dns-healthy.pcap i t0 t1 out rc
    log "scenario: healthy lookups"
    start_capture "$f"
    for i in 1 2 3; do
        t0=$(now); out=$(lookup "$NAME"); t1=$(now)
        expect_both_addresses "$out"
        log "  getent ahosts $NAME: ok in $(elapsed "$t0" "$t1") s"
        sleep 0.3
    done
    rc=0; lookup "$NX_NAME" >/dev/null || rc=$?
    [[ $rc -eq 2 ]] || die "expected NXDOMAIN (getent rc 2) for $NX_NAME, got rc $rc"
    log "  getent ahosts $NX_NAME: not found (rc 2), as expected"
    stop_capture "$f"
    publish "$f" dns-healthy.pcap
}

record_timeout() {
    local f=$WORK/dns-timeout-glibc.pcap t0 t1 out dt qtype_bit dropped
    log "scenario: glibc 5 s timeout (first AAAA reply dropped)"
    # Offset of QTYPE from the start of the UDP header: 8 (UDP) + 12 (DNS
    # header) + wire length of the question name (len(name) + 2).
    qtype_bit=$(( (8 + 12 + ${#NAME} + 2) * 8 ))
    # The limit statement matches while its bucket (1 token) lasts, i.e. only
    # for the first AAAA reply; later ones exceed the limit, do not match and
    # pass. Dropped in the server's output hook so the reply never reaches the
    # wire (a drop on the client side would still show up in the capture).
    ip netns exec "$NS_S" nft -f - <<EOF
table inet $NFT_TABLE {
    chain output {
        type filter hook output priority filter; policy accept;
        ip daddr $IP4_C udp sport 53 @th,$qtype_bit,16 0x001c limit rate 1/hour burst 1 packets counter drop
    }
}
EOF
    start_capture "$f"
    t0=$(now); out=$(lookup "$NAME"); t1=$(now)
    dt=$(elapsed "$t0" "$t1")
    stop_capture "$f"
    expect_both_addresses "$out"
    log "  getent ahosts $NAME: ok in $dt s"
    dropped=$(ip netns exec "$NS_S" nft list table inet "$NFT_TABLE" |
        sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
    ip netns exec "$NS_S" nft delete table inet "$NFT_TABLE"
    [[ $dropped == 1 ]] || die "nft dropped ${dropped:-?} AAAA replies, expected exactly 1"
    awk -v d="$dt" 'BEGIN { exit !(d >= 4.5 && d < 8) }' ||
        die "lookup took $dt s, expected ~5 s (glibc resolver timeout)"
    check_timeout_capture "$f"
    publish "$f" dns-timeout-glibc.pcap
}

# Expected on the wire (glibc 2.36): A? and AAAA? back to back from one port;
# A reply; ~5 s later glibc falls back to "single-request" mode and re-sends
# BOTH queries with their original IDs on the same socket, one after the other:
# A?, A reply, AAAA?, AAAA reply.
check_timeout_capture() {  # $1 = pcap
    [[ $HAVE_TCPDUMP == 1 ]] || { log "tcpdump missing: not verifying $1"; return 0; }
    tcpdump -nn -r "$1" udp port 53 2>/dev/null | awk '
        { sub(/:$/, "", $5); split($3, s, "."); split($5, d, "."); port[NR] = (s[5] == "53") ? d[5] : s[5]
          split($1, t, ":"); ts[NR] = t[1] * 3600 + t[2] * 60 + t[3]
          id[NR] = $6 + 0; q[NR] = ($0 ~ / A+\? /); aaaa[NR] = ($0 ~ /AAAA/) }
        END {
            if (NR != 7) fail("expected 7 DNS packets, got " NR)
            # sendmmsg puts A? and AAAA? on the wire back to back; when the server answers
            # very fast the A reply can overtake the AAAA? (seen on 1 CPU): accept both orders.
            if (!(q[1] && !aaaa[1])) fail("capture does not start with A?")
            if (q[2] && aaaa[2] && !q[3] && id[3] == id[1]) { a6 = 2 }
            else if (!q[2] && id[2] == id[1] && q[3] && aaaa[3]) { a6 = 3 }
            else fail("packets 2-3 are not AAAA? and the A reply")
            for (i = 2; i <= 7; i++) if (port[i] != port[1]) fail("client port changes")
            if (!(q[4] && id[4] == id[1])) fail("packet 4 is not the re-sent A query")
            if (!(q[6] && id[6] == id[a6] && !q[7] && id[7] == id[a6])) fail("AAAA query not re-sent/answered")
            gap = ts[4] - ts[a6]
            if (gap < 4.5 || gap > 6) fail(sprintf("timeout gap %.6f s", gap))
            printf "[record]   verified: timeout gap (AAAA? -> re-sent A?) %.6f s\n", gap > "/dev/stderr"
        }
        function fail(m) { print "[record] ERROR: timeout capture: " m > "/dev/stderr"; exit 1 }'
}

setup
sleep 2   # let link-up chatter (IPv6 MLD reports) pass before capturing
warm_up
record_healthy
warm_up   # refresh neighbour entries; must happen before the fault rule exists
record_timeout

# ---------------------------------------------------------------- summary
echo
echo "== captures recorded with: $KNETCAP${FILTER:+ (filter: $FILTER)}"
for f in dns-healthy.pcap dns-timeout-glibc.pcap; do
    echo "-- $f ($(stat -c %s "$OUT/$f") bytes)"
    if [[ $HAVE_TCPDUMP == 1 ]]; then tcpdump -nn -r "$OUT/$f" 2>/dev/null; fi
done
