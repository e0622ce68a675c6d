#!/usr/bin/env bash
# record-faults.sh - record small, REAL captures of TCP / NAT / DNS faults on the
# real Linux kernel, captured live by knetcap itself (see Captures/README.md).
#
# Topology (built from scratch on every run, torn down on exit by a trap):
#
#                        netns knf-sw: bridge knf-br0 (plain L2 switch)
#            +------------------+-------------------+------------------+
#            |                  |                   |                  |
#   netns knf-client    netns knf-server     netns knf-router    netns knf-client2
#   knf-c0 10.77.0.2    knf-s0 10.77.0.3     knf-r0 10.77.0.1    knf-k0 10.77.0.4
#   (captures here)     (+10.77.0.5 DNS)     nftables NAT         (paws only)
#   default via .1      default via .1       ip_forward=1               |
#   glibc resolver:                          knf-r1 10.78.0.1 ---- veth ----+
#   /etc/netns/knf-client/resolv.conf                                       |
#                                                           netns knf-remote knf-m0 10.78.0.2
#
#   VIP 192.0.2.10:80 is routed by the client to the router (default route).
#
# Scenarios (run all by default, or name some: record-faults.sh rst backlog ...):
#   rst        tcp-rst-unlistened.pcap: connects to 10.77.0.3:8081 (nothing listens)
#              and to 10.77.0.3:8080 where the app is bound to 127.0.0.1:8080 only;
#              the server kernel answers each SYN with RST/ACK (ack = SYN seq + 1).
#   backlog    tcp-syn-backlog-drop.pcap: python listens on 10.77.0.3:9000 with
#              listen(1), never accept()s, tcp_syncookies=0 in knf-server. Two
#              connections complete and fill the accept queue; then 20 parallel
#              connects: every SYN is dropped by the listener (ListenOverflows /
#              ListenDrops rise), clients retransmit the SYN after 1 s, 2 s, 4 s,
#              never see a SYN-ACK, and give up after 8 s.
#   hairpin    nat-hairpin.pcap: the router DNATs VIP 192.0.2.10:80 to
#              10.77.0.3:8080 without SNAT. The backend is on the client's L2
#              segment, so its SYN-ACK goes straight to the client from
#              10.77.0.3:8080 (never un-NATed); the client's kernel has no such
#              connection, answers RST and retransmits its SYN to the VIP.
#   tcfallback dns-tcp-fallback-refused.pcap: a python DNS responder on
#              10.77.0.5:53/udp answers every query with TC=1 and no records;
#              nothing listens on 10.77.0.5:53/tcp. glibc (getent hosts) retries
#              over TCP and gets RST/ACK; the lookup fails.
#              dns-healthy-tcp.pcap: same, but the responder also serves TCP 53,
#              so glibc's TCP retry completes (the name resolves).
#   healthy    healthy-topology.pcap: dnsmasq lookups (getent ahosts), HTTP GETs
#              with curl to 10.77.0.3:8080 and to the VIP 192.0.2.10:80 with the
#              hairpin fixed (router masquerades DNATed hairpin traffic) - no fault.
#   paws       tcp-paws-timewait.pcap (captured on the server, knf-remote): two
#              clients behind one SNAT to a single public port 10.78.0.1:40000
#              with different TCP timestamp clocks. Client 1 fetches a page, the
#              server closes first and holds the 4-tuple in TIME_WAIT. Client 2's
#              SYN reuses the public ip:port with a lower TSval: the TIME_WAIT
#              socket rejects it by PAWS (TcpExtPAWSTimewait) and answers with a
#              bare ACK, client 2 sends RST (killing the TIME_WAIT) and its SYN
#              retransmission ~10 ms later connects. Modern Linux does NOT drop
#              the SYN (tcp_tw_recycle is gone since 4.12); the cost is one RTT
#              plus TCP_TIMEOUT_MIN. ISNs are pinned with TCP_REPAIR so conntrack
#              always evicts its TIME_WAIT entry (nf_nat_used_tuple_harder).
#
# SYN retransmission timing: Linux >= 6.5 retransmits the first 4 SYNs at a
# fixed 1 s (net.ipv4.tcp_syn_linear_timeouts=4). The backlog scenario sets it
# to 0 in knf-client for the classic 1 s, 2 s, 4 s backoff; the others keep the
# kernel default.
#
# Requirements: root, iproute2, nftables, python3, dnsmasq, glibc getent, curl,
# nstat (iproute2), tcpdump (verifies every capture). Optional: ethtool (turns
# off veth TX checksum offload so captured checksums are valid).
#
# Usage:  sudo Captures/record-faults.sh [rst|backlog|hairpin|tcfallback|healthy|paws ...]
# Environment:
#   KNETCAP   capture tool, invoked as "$KNETCAP" -i IFACE -w FILE FILTER...
#             default: <repo>/.build/release/knetcap; KNETCAP=tcpdump works too.
#   OUT       output directory (default: the directory of this script).
#
# Each capture is recorded into a temp dir, checked with `tcpdump -nn -r`, and
# moved into OUT only when its shape is right; any failure aborts the run.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
KNETCAP=${KNETCAP:-$REPO/.build/release/knetcap}
OUT=${OUT:-$SCRIPT_DIR}

NS_SW=knf-sw; NS_C=knf-client; NS_S=knf-server; NS_R=knf-router
NS_C2=knf-client2; NS_M=knf-remote
ALL_NS=("$NS_C" "$NS_C2" "$NS_S" "$NS_R" "$NS_M" "$NS_SW")
BR=knf-br0
IF_C=knf-c0; IF_S=knf-s0; IF_R=knf-r0; IF_C2=knf-k0; IF_R1=knf-r1; IF_M=knf-m0
IP_C=10.77.0.2; IP_S=10.77.0.3; IP_R=10.77.0.1; IP_C2=10.77.0.4; IP_DNS_TC=10.77.0.5
IP_R1=10.78.0.1; IP_M=10.78.0.2
VIP=192.0.2.10
NAME=api.knetcap.test; NAME_A=10.77.0.80; NAME_AAAA=fd77::80
NETNS_ETC=/etc/netns/$NS_C
NFT_TABLE=knf_nat

WORK=""; CAP_PID=""; CREATED_ETC_NETNS=0
BG_PIDS=()

LOG_TAG=faults
# shellcheck source=Captures/lib.sh
source "$SCRIPT_DIR/lib.sh"

# Start a background helper inside a namespace; remembered for cleanup.
# Sets BG (pid).
bg_start() {    # $1 = ns, $2 = log name, rest = command
    local ns=$1 name=$2; shift 2
    ip netns exec "$ns" "$@" >"$WORK/$name.log" 2>&1 &
    BG=$!
    BG_PIDS+=("$BG")
}
bg_stop() { stop_pid "$1" TERM; }

# Wait until a helper prints its ready line ("ready ...") into its log.
wait_ready() {  # $1 = pid, $2 = log name
    local i
    for ((i = 0; i < 50; i++)); do
        grep -q '^ready' "$WORK/$2.log" 2>/dev/null && return 0
        kill -0 "$1" 2>/dev/null || { cat "$WORK/$2.log" >&2; die "$2 exited early"; }
        sleep 0.1
    done
    cat "$WORK/$2.log" >&2
    die "$2 did not become ready"
}

teardown() {
    local ns pid
    for ns in "${ALL_NS[@]}"; do
        if ip netns list | grep -qw -- "$ns"; then
            for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; done
            sleep 0.2
            for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
            ip netns del "$ns" 2>/dev/null || true
        fi
    done
    rm -f "$NETNS_ETC/resolv.conf"
    rmdir "$NETNS_ETC" 2>/dev/null || true
    if [[ $CREATED_ETC_NETNS == 1 ]]; then rmdir /etc/netns 2>/dev/null || true; fi
}

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    [[ -n $CAP_PID ]] && stop_pid "$CAP_PID" INT
    [[ -n ${DIAG_PID:-} ]] && stop_pid "$DIAG_PID" INT
    for pid in "${BG_PIDS[@]}"; do stop_pid "$pid" TERM; done
    teardown
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

# ---------------------------------------------------------------- preflight
take_recording_lock
for cmd in ip nft python3 dnsmasq getent curl nstat sysctl tcpdump timeout; do
    command -v "$cmd" >/dev/null || die "missing required command: $cmd"
done
if [[ $KNETCAP == */* ]]; then
    [[ -x $KNETCAP ]] || die "capture tool not found: $KNETCAP (build it with 'swift build -c release', or set KNETCAP=tcpdump)"
else
    command -v "$KNETCAP" >/dev/null || die "capture tool not found in PATH: $KNETCAP"
fi
CAP_EXTRA=()
[[ $(basename "$KNETCAP") == tcpdump ]] && CAP_EXTRA=(-U)

SCENARIOS=("$@")
[[ ${#SCENARIOS[@]} -gt 0 ]] || SCENARIOS=(rst backlog hairpin tcfallback healthy paws search)
for s in "${SCENARIOS[@]}"; do
    case $s in rst|backlog|hairpin|tcfallback|healthy|paws|search) ;;
        *) die "unknown scenario '$s' (rst backlog hairpin tcfallback healthy paws search)" ;;
    esac
done
mkdir -p "$OUT"

trap cleanup EXIT
trap 'exit 130' INT TERM
teardown   # leftovers from an interrupted run
WORK=$(mktemp -d /tmp/knf-faults.XXXXXX)
chmod 755 "$WORK"   # dnsmasq / tcpdump may drop privileges
PUBLISHED=()

# ---------------------------------------------------------------- helpers (python)
# One small python program for every client/server role, so the traffic is
# produced by ordinary kernel sockets (no raw packets are forged anywhere).
cat >"$WORK/knf.py" <<'PY'
import socket, struct, sys, threading, time, signal, errno

signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
out = lambda *a: print(*a, flush=True)

def sink(addr, port, backlog):
    """listen(backlog) and never accept(): the accept queue fills up."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port))); s.listen(int(backlog))
    out("ready listen", addr, port, "backlog", backlog)
    while True: time.sleep(3600)

def http(addr, port):
    """Minimal HTTP/1.0 server: read the request, answer, close (server closes first)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port))); s.listen(16)
    out("ready http", addr, port)
    def handle(c, peer):
        with c:
            c.settimeout(5); data = b""
            while b"\r\n\r\n" not in data:
                d = c.recv(4096)
                if not d: break
                data += d
            body = b"hello from %s:%s\n" % (addr.encode(), port.encode())
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            c.shutdown(socket.SHUT_WR)
            try:
                while c.recv(4096): pass   # wait for the client's FIN: no RST on close
            except OSError: pass
        out("served", peer)
    while True:
        c, peer = s.accept()
        threading.Thread(target=handle, args=(c, peer), daemon=True).start()

def connect(host, port, timeout, count, gap="0.3"):
    """count sequential connect() attempts; prints one result line each."""
    for i in range(int(count)):
        s = socket.socket(); s.settimeout(float(timeout)); t0 = time.monotonic()
        try:
            s.connect((host, int(port))); r = "connected"
        except ConnectionRefusedError: r = "refused"
        except socket.timeout: r = "timeout"
        except OSError as e: r = "error " + errno.errorcode.get(e.errno, str(e.errno))
        out("attempt %d %s:%s %s after %.3f s" % (i + 1, host, port, r, time.monotonic() - t0))
        s.close(); time.sleep(float(gap))

def hold(host, port, count):
    """open count connections one after the other and keep them open."""
    socks = []
    for i in range(int(count)):
        s = socket.create_connection((host, int(port)), timeout=3); socks.append(s)
        out("connection %d established from port %d" % (i + 1, s.getsockname()[1]))
        time.sleep(0.2)
    out("ready holding", len(socks))
    while True: time.sleep(3600)

def burst(host, port, n, timeout):
    """n parallel connect()s with a timeout; prints a summary line."""
    res = {}
    def one(i):
        s = socket.socket(); s.settimeout(float(timeout))
        try: s.connect((host, int(port))); r = "connected"
        except ConnectionRefusedError: r = "refused"
        except socket.timeout: r = "timeout"
        except OSError as e: r = "error " + errno.errorcode.get(e.errno, str(e.errno))
        res[i] = r; s.close()
    ts = [threading.Thread(target=one, args=(i,)) for i in range(int(n))]
    for t in ts: t.start()
    for t in ts: t.join()
    summary = {}
    for r in res.values(): summary[r] = summary.get(r, 0) + 1
    out("burst", " ".join("%s=%d" % kv for kv in sorted(summary.items())))

def dnstc(addr, tcp_answer=""):
    """UDP: answer every query with TC=1 and no records. With tcp_answer (an
    IPv4 address) also serve TCP 53: A -> tcp_answer, other types -> NODATA."""
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((addr, 53))
    def question(q):
        i = 12
        while q[i]: i += 1 + q[i]
        return i + 5                               # end of QNAME + QTYPE + QCLASS
    def tcp_server():
        t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind((addr, 53)); t.listen(8)
        while True:
            c, _ = t.accept()
            with c:
                try:
                    while True:
                        hdr = c.recv(2, socket.MSG_WAITALL)
                        if len(hdr) < 2: break
                        q = c.recv(struct.unpack("!H", hdr)[0], socket.MSG_WAITALL)
                        e = question(q); qtype = struct.unpack("!H", q[e - 4:e - 2])[0]
                        ans = b""
                        if qtype == 1:
                            ans = struct.pack("!HHHIH", 0xc00c, 1, 1, 60, 4) + socket.inet_aton(tcp_answer)
                        flags = 0x8000 | (q[2] & 0x79) << 8 | 0x80
                        r = q[:2] + struct.pack("!HHHHH", flags, 1, 1 if ans else 0, 0, 0) + q[12:e] + ans
                        c.sendall(struct.pack("!H", len(r)) + r)
                        out("tcp answer qtype", qtype)
                except OSError: pass
    if tcp_answer:
        threading.Thread(target=tcp_server, daemon=True).start()
        time.sleep(0.2)
    out("ready dns-tc", addr, "tcp" if tcp_answer else "udp-only")
    while True:
        q, peer = u.recvfrom(4096)
        if len(q) < 12: continue
        e = question(q)
        # QR=1, opcode and RD copied, TC=1, RA=1, RCODE=0; question echoed, no records
        flags = 0x8000 | (q[2] & 0x79) << 8 | 0x0200 | 0x80
        u.sendto(q[:2] + struct.pack("!HHHHH", flags, 1, 0, 0, 0) + q[12:e], peer)
        out("udp TC=1 answer to", peer, "qtype", struct.unpack("!H", q[e - 4:e - 2])[0])

TCP_REPAIR, TCP_REPAIR_QUEUE, TCP_QUEUE_SEQ, TCP_TIMESTAMP = 19, 20, 21, 24

def tsval(s):
    """the TSval this socket would send now (tcp clock + its random offset)"""
    return s.getsockopt(socket.IPPROTO_TCP, TCP_TIMESTAMP)

def isn_socket(bindaddr, bindport, isn):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((bindaddr, int(bindport)))
    # Fix the initial sequence number: in repair mode set write_seq, leave repair
    # mode, then connect(): tcp_v4_connect keeps a non-zero write_seq (the TSval
    # offset is still the kernel's own per-connection random one).
    s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
    s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, 2)      # TCP_SEND_QUEUE
    s.setsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ, int(isn))
    s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 0)
    return s

def pawsget(host, port, bindaddr, bindport, isn):
    """HTTP GET from bindaddr:bindport with a fixed ISN; prints the last TSval."""
    s = isn_socket(bindaddr, bindport, isn); s.settimeout(5); t0 = time.monotonic()
    s.connect((host, int(port))); dt = time.monotonic() - t0
    s.sendall(b"GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % host.encode())
    data = b""
    while True:
        d = s.recv(4096)
        if not d: break
        data += d
    ts = tsval(s); s.close()
    out("connected in %.3f s, got %d bytes, last TSval %d" % (dt, len(data), ts))

def tsprobe(host, port, bindaddr, ts_ref, first, last):
    """Find a source port whose TSval is well below ts_ref (serial arithmetic).
    The probe SYNs are dropped by the router before conntrack."""
    for p in range(int(first), int(last) + 1):
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((bindaddr, p)); s.setblocking(False)
        try: s.connect((host, int(port)))
        except BlockingIOError: pass
        ts = tsval(s); s.close()
        behind = (int(ts_ref) - ts) % 2**32
        if 10000 <= behind < 2**31:
            out("port %d TSval %d is %d ms behind %s" % (p, ts, behind, ts_ref)); return
    sys.exit("no port with a lower TSval")

def poke(*hosts):
    for h in hosts:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.sendto(b"x", (h, 9)); u.close()
    time.sleep(0.1)

globals()[sys.argv[1]](*sys.argv[2:])
PY
PY=(python3 -u "$WORK/knf.py")

# ---------------------------------------------------------------- topology
veth_into_bridge() {    # $1 = ns, $2 = iface, $3 = addr/prefix
    local port=${2}p
    ip link add "$2" netns "$1" type veth peer name "$port" netns "$NS_SW"
    ip -n "$NS_SW" link set "$port" master "$BR" up
    ip -n "$1" addr add "$3" dev "$2"
    offload_off "$1" "$2"; offload_off "$NS_SW" "$port"
    ip -n "$1" link set "$2" up
}
offload_off() {
    if command -v ethtool >/dev/null; then ip netns exec "$1" ethtool -K "$2" tx off >/dev/null; fi
}

setup() {
    local ns
    for ns in "${ALL_NS[@]}"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        # no IPv6 on the links: no RS/MLD/DAD chatter; no ICMP redirects.
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
            net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0 \
            net.ipv4.conf.all.accept_redirects=0 net.ipv4.conf.default.accept_redirects=0
    done
    ip netns exec "$NS_SW" sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null || true
    ip -n "$NS_SW" link add "$BR" type bridge stp_state 0 forward_delay 0
    ip -n "$NS_SW" link set "$BR" up
    veth_into_bridge "$NS_C" "$IF_C" "$IP_C/24"
    veth_into_bridge "$NS_S" "$IF_S" "$IP_S/24"
    veth_into_bridge "$NS_R" "$IF_R" "$IP_R/24"
    veth_into_bridge "$NS_C2" "$IF_C2" "$IP_C2/24"
    ip -n "$NS_S" addr add "$IP_DNS_TC/24" dev "$IF_S"
    ip link add "$IF_R1" netns "$NS_R" type veth peer name "$IF_M" netns "$NS_M"
    ip -n "$NS_R" addr add "$IP_R1/24" dev "$IF_R1"; ip -n "$NS_M" addr add "$IP_M/24" dev "$IF_M"
    offload_off "$NS_R" "$IF_R1"; offload_off "$NS_M" "$IF_M"
    ip -n "$NS_R" link set "$IF_R1" up; ip -n "$NS_M" link set "$IF_M" up
    for ns in "$NS_C" "$NS_S" "$NS_C2"; do ip -n "$ns" route add default via "$IP_R"; done
    ip -n "$NS_M" route add default via "$IP_R1"
    ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1

    [[ -d /etc/netns ]] || CREATED_ETC_NETNS=1
    mkdir -p "$NETNS_ETC"
    resolver "$IP_S"
    # warm ARP caches so no ARP delay shows up in a capture
    # (a UDP datagram to the discard port resolves the neighbour; answer ignored)
    ip netns exec "$NS_C" "${PY[@]}" poke "$IP_S" "$IP_R" "$IP_DNS_TC"
    ip netns exec "$NS_S" "${PY[@]}" poke "$IP_R" "$IP_C"
    ip netns exec "$NS_R" "${PY[@]}" poke "$IP_M"
}

resolver() {    # $1 = nameserver; extra args = options line
    {
        printf 'nameserver %s\n' "$1"
        if [[ $# -gt 1 ]]; then printf 'options %s\n' "${*:2}"; fi
    } >"$NETNS_ETC/resolv.conf"
}

# ---------------------------------------------------------------- capturing
start_capture() {   # $1 = ns, $2 = iface, $3 = output file, rest = filter words
    local ns=$1 ifc=$2 f=$3; shift 3
    : >"$WORK/capture.err"
    ip netns exec "$ns" "$KNETCAP" "${CAP_EXTRA[@]}" -i "$ifc" -w "$f" "$@" 2>"$WORK/capture.err" &
    CAP_PID=$!
    sleep 1   # let the tool open the interface and install the filter
    if ! kill -0 "$CAP_PID" 2>/dev/null; then
        cat "$WORK/capture.err" >&2; CAP_PID=""
        die "capture tool exited before the traffic started"
    fi
}

stop_capture() {    # $1 = output file
    sleep 2   # let libpcap's ring hand over the last block before stopping
    stop_pid "$CAP_PID" INT
    CAP_PID=""
    sed 's/^/    capture: /' "$WORK/capture.err" >&2
    [[ -s $1 ]] || die "capture tool wrote no data to $1"
}

# DIAG_DIR=dir: also run knetcap's live diagnosis (-q --json) in the server namespace during
# the rst and backlog scenarios, so its findings carry what it read there (/proc/net/netstat
# ListenOverflows, the LISTEN table). Used by the test suite; off by default.
start_server_diag() {  # $1 = name, rest = filter words
    DIAG_PID=""
    [[ -n ${DIAG_DIR:-} && $KNETCAP != *tcpdump* ]] || return 0
    local name=$1; shift
    ip netns exec "$NS_S" "$KNETCAP" -i "$IF_S" -q --json "$@" >"$DIAG_DIR/$name.json" 2>"$DIAG_DIR/$name.err" &
    DIAG_PID=$!
    sleep 1
}
stop_server_diag() {
    [[ -n ${DIAG_PID:-} ]] || return 0
    stop_pid "$DIAG_PID" INT
    DIAG_PID=""
}

publish() {         # $1 = temp file, $2 = final name
    local size
    size=$(stat -c %s "$1")
    [[ $size -lt 30000 ]] || die "$2 is $size bytes (limit 30000)"
    install -m 0644 "$1" "$OUT/$2"
    PUBLISHED+=("$2")
    log "wrote $OUT/$2 ($size bytes)"
}

# tcpdump -nn -r as awk-friendly lines (-S: absolute sequence numbers; -tt: epoch times)
dump() { tcpdump -nn -S -tt -r "$1" 2>/dev/null; }

# Common TCP line parser for the checks below: fields src, dst, flags, seq, ack.
AWK_TCP='
function parse(   i) {
    src = $3; dst = $5; sub(/:$/, "", dst); t = $1 + 0
    flags = ""; seq = ""; ack = ""; tsval = ""
    for (i = 6; i <= NF; i++) {
        if ($i == "Flags") { flags = $(i + 1); gsub(/[\[\],]/, "", flags) }
        if ($i == "seq") { seq = $(i + 1); sub(/,$/, "", seq); sub(/:.*/, "", seq) }
        if ($i == "ack") { ack = $(i + 1); sub(/,$/, "", ack) }
        if ($i == "val") { tsval = $(i + 1) }
    }
    if (seq != "") seq += 0
    if (ack != "") ack += 0
}
function fail(m) { print "[faults] ERROR: " NAME ": " m > "/dev/stderr"; bad = 1; exit 1 }
function note(m) { print "[faults]   verified: " m > "/dev/stderr" }'

# ---------------------------------------------------------------- search
# ndots:5 search-list walk, as every Kubernetes pod's resolv.conf makes glibc do: a name with
# fewer than five dots is tried with each search suffix first (NXDOMAIN each), then as is.
record_search() {
    local f=$WORK/dns-search-expansion.pcap dpid out
    log "scenario search: resolv.conf search list + ndots:5, glibc walks it before the name resolves"
    ip netns exec "$NS_S" dnsmasq -k --no-resolv --no-hosts --conf-file=/dev/null \
        --bind-interfaces --listen-address="$IP_S" --port=53 --pid-file="$WORK/dnsmasq-search.pid" \
        --log-facility="$WORK/dnsmasq-search.log" --local=/knetcap.test/ --local=/cluster.local/ \
        --host-record="$NAME,$NAME_A" &
    dpid=$!; BG_PIDS+=("$dpid")
    sleep 1
    {
        printf 'nameserver %s\n' "$IP_S"
        printf 'search default.svc.cluster.local svc.cluster.local cluster.local\n'
        printf 'options ndots:5\n'
    } >"$NETNS_ETC/resolv.conf"
    start_capture "$NS_C" "$IF_C" "$f" udp port 53
    out=$(ip netns exec "$NS_C" timeout 10 getent ahosts "$NAME") || die "getent ahosts $NAME failed in the search scenario"
    stop_capture "$f"
    stop_pid "$dpid" TERM   # with SIGKILL fallback: a test runner may start us with SIGTERM blocked
    resolver "$IP_S"
    dump "$f" | awk -v NAME=search -v N="$NAME" '
        / NXDomain / { nx++ }
        / [0-9]+\/[0-9]+\/[0-9]+ A / { ok++ }
        function fail(m) { print "[faults] ERROR: search: " m > "/dev/stderr"; bad = 1; exit 1 }
        END { if (bad) exit 1
              if (nx < 3) fail("expected 3 NXDOMAIN steps, got " nx)
              if (ok < 1) fail("the name never resolved")
              print "[faults]   verified: " nx " NXDOMAIN answers, then " N " resolves" > "/dev/stderr" }' ||
        die "search capture has the wrong shape"
    publish "$f" dns-search-expansion.pcap
}

# ---------------------------------------------------------------- rst
record_rst() {
    local f=$WORK/tcp-rst-unlistened.pcap out pid
    log "scenario rst: connect to unlistened port / app bound to 127.0.0.1 only"
    bg_start "$NS_S" app-loopback "${PY[@]}" http 127.0.0.1 8080; pid=$BG
    wait_ready "$pid" app-loopback
    ip netns exec "$NS_S" ss -Htln | sed 's/^/    server ss -tln: /' >&2
    # the app works from inside the pod...
    ip netns exec "$NS_S" curl -sS -m 2 -o /dev/null http://127.0.0.1:8080/ || die "app on 127.0.0.1:8080 not reachable locally"
    start_server_diag rst-server tcp and host "$IP_S"
    start_capture "$NS_C" "$IF_C" "$f" tcp and host "$IP_S"
    out=$(ip netns exec "$NS_C" "${PY[@]}" connect "$IP_S" 8081 2 2)
    out+=$'\n'$(ip netns exec "$NS_C" "${PY[@]}" connect "$IP_S" 8080 2 2)
    stop_capture "$f"
    stop_server_diag
    bg_stop "$pid"
    sed 's/^/    client: /' <<<"$out" >&2
    [[ $(grep -c ' refused after ' <<<"$out") == 4 ]] || die "expected 4 refused connects"
    dump "$f" | awk -v NAME=rst -v C="$IP_C" -v S="$IP_S" "$AWK_TCP"'
        { parse()
          if (flags == "S") { n_syn++; syn[src] = seq; if (src !~ "^" C "\\.") fail("SYN not from client") }
          else if (flags == "R.") {
              n_rst++; split(src, a, "."); port = a[5]; rp[port]++
              key = dst
              if (!(key in syn)) fail("RST/ACK without SYN: " $0)
              if (ack != syn[key] + 1 && ack != syn[key] + 1 - 4294967296) fail("RST/ACK ack " ack " != SYN seq " syn[key] " + 1")
              if (seq != 0) fail("RST/ACK seq " seq " != 0")
          } else fail("unexpected packet: " $0) }
        END { if (bad) exit 1
              if (NR != 8 || n_syn != 4 || n_rst != 4) fail("expected 4 SYN + 4 RST/ACK, got " NR " packets")
              if (rp[8081] != 2 || rp[8080] != 2) fail("expected 2 RSTs from :8081 and 2 from :8080")
              note("4 SYN -> RST/ACK (ack = SYN seq + 1), 2x :8081 unlistened, 2x :8080 loopback-only") }' ||
        die "rst capture has the wrong shape"
    publish "$f" tcp-rst-unlistened.pcap
}

# ---------------------------------------------------------------- backlog
nstat_server() { ip netns exec "$NS_S" nstat -az TcpExtListenOverflows TcpExtListenDrops TcpExtTCPReqQFullDrop |
    awk '/^TcpExt/ { printf "%s=%s ", $1, $2 }'; }

record_backlog() {
    local f=$WORK/tcp-syn-backlog-drop.pcap pid hpid before after out ovf0 ovf1
    log "scenario backlog: listen(1), no accept(), syncookies off, SYN burst"
    ip netns exec "$NS_S" sysctl -qw net.ipv4.tcp_syncookies=0
    # Linux >= 6.5 retransmits the first tcp_syn_linear_timeouts (default 4)
    # SYNs after a fixed 1 s RTO before it backs off (1,1,1,1,1,2,4 s); set it
    # to 0 in the client for the classic exponential backoff (1 s, 2 s, 4 s).
    local linear=""
    if [[ -e /proc/sys/net/ipv4/tcp_syn_linear_timeouts ]]; then
        linear=$(ip netns exec "$NS_C" sysctl -n net.ipv4.tcp_syn_linear_timeouts)
        ip netns exec "$NS_C" sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0
    fi
    bg_start "$NS_S" sink "${PY[@]}" sink "$IP_S" 9000 1; pid=$BG
    wait_ready "$pid" sink
    before=$(nstat_server)
    start_server_diag backlog-server tcp port 9000
    start_capture "$NS_C" "$IF_C" "$f" tcp port 9000
    # two connections complete: they fill the accept queue (backlog 1 -> 2 entries)
    bg_start "$NS_C" hold "${PY[@]}" hold "$IP_S" 9000 2; hpid=$BG
    wait_ready "$hpid" hold
    sed 's/^/    client: /' "$WORK/hold.log" >&2
    sleep 0.3
    out=$(ip netns exec "$NS_C" "${PY[@]}" burst "$IP_S" 9000 20 8)
    log "  client: $out"
    stop_capture "$f"
    stop_server_diag
    after=$(nstat_server)
    bg_stop "$hpid"; bg_stop "$pid"
    ip netns exec "$NS_S" sysctl -qw net.ipv4.tcp_syncookies=1
    if [[ -n $linear ]]; then ip netns exec "$NS_C" sysctl -qw net.ipv4.tcp_syn_linear_timeouts="$linear"; fi
    log "  server nstat before: $before"
    log "  server nstat after:  $after"
    BACKLOG_NSTAT="before: $before"$'\n'"after:  $after"
    ovf0=$(sed -n 's/.*TcpExtListenOverflows=\([0-9]*\).*/\1/p' <<<"$before")
    ovf1=$(sed -n 's/.*TcpExtListenOverflows=\([0-9]*\).*/\1/p' <<<"$after")
    [[ $ovf1 -gt $ovf0 ]] || die "TcpExtListenOverflows did not rise ($ovf0 -> $ovf1)"
    [[ $out == "burst timeout=20" ]] || die "expected all 20 burst connects to time out, got: $out"
    dump "$f" | awk -v NAME=backlog -v C="$IP_C" -v S="$IP_S.9000" "$AWK_TCP"'
        { parse()
          if (flags == "S") {
              if (src in first) { n[src]++; dt = t - last[src]; last[src] = t
                  if (seq != first[src]) fail("retransmitted SYN changed seq: " $0)
                  if (n[src] == 2 && (dt < 0.8 || dt > 1.5)) fail(sprintf("1st retransmission after %.3f s", dt))
                  if (n[src] == 3 && (dt < 1.6 || dt > 2.8)) fail(sprintf("2nd retransmission after %.3f s", dt))
                  if (n[src] == 4 && (dt < 3.2 || dt > 5.5)) fail(sprintf("3rd retransmission after %.3f s", dt)) }
              else { first[src] = seq; last[src] = t; n[src] = 1; order[++ns] = src }
          } else if (flags == "S.") { synack[dst] = 1; if (src != S) fail("SYN-ACK from " src) }
          else if (flags == "." ) { acked[src] = 1 }
          else fail("unexpected packet: " $0) }
        END { if (bad) exit 1
              for (i = 1; i <= ns; i++) { c = order[i]
                  if (c in synack) { if (n[c] != 1 || !(c in acked)) fail("handshake " c " incomplete"); ok++ }
                  else { if (n[c] < 3) fail(c " sent only " n[c] " SYNs"); dropped++; if (n[c] > maxn) maxn = n[c] } }
              if (ok != 2) fail("expected 2 completed handshakes, got " ok + 0)
              if (dropped != 20) fail("expected 20 clients without SYN-ACK, got " dropped + 0)
              note(sprintf("2 handshakes completed to %s; 20 clients sent up to %d identical SYNs (RTO 1 s, 2 s, 4 s), no SYN-ACK", S, maxn)) }' ||
        die "backlog capture has the wrong shape"
    publish "$f" tcp-syn-backlog-drop.pcap
}

# ---------------------------------------------------------------- hairpin
nft_router() { ip netns exec "$NS_R" nft -f -; }

record_hairpin() {
    local f=$WORK/nat-hairpin.pcap pid out dnat
    log "scenario hairpin: DNAT $VIP:80 -> $IP_S:8080, backend replies directly (no reverse NAT)"
    nft_router <<EOF
table ip $NFT_TABLE {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        ip daddr $VIP tcp dport 80 counter dnat to $IP_S:8080
    }
}
EOF
    bg_start "$NS_S" backend "${PY[@]}" http 0.0.0.0 8080; pid=$BG
    wait_ready "$pid" backend
    start_capture "$NS_C" "$IF_C" "$f" tcp and '(' host "$VIP" or host "$IP_S" ')'
    out=$(ip netns exec "$NS_C" "${PY[@]}" connect "$VIP" 80 3.5 1)
    stop_capture "$f"
    bg_stop "$pid"
    dnat=$(ip netns exec "$NS_R" nft list table ip "$NFT_TABLE" | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
    ip netns exec "$NS_R" nft delete table ip "$NFT_TABLE"
    log "  client: $out"
    log "  router: dnat rule matched $dnat packet(s)"
    [[ $out == *" timeout after "* ]] || die "expected the connect to the VIP to time out"
    dump "$f" | awk -v NAME=hairpin -v C="$IP_C" -v V="$VIP.80" -v B="$IP_S.8080" "$AWK_TCP"'
        { parse()
          if (flags == "S") { if (dst != V) fail("SYN not to VIP: " $0)
              if (nsyn++ == 0) { s0 = seq; cport = src } else if (seq != s0 || src != cport) fail("SYN retransmission differs: " $0) }
          else if (flags == "S.") { if (src != B) fail("SYN-ACK not from backend: " $0)
              if (dst != cport) fail("SYN-ACK to " dst)
              if (ack != s0 + 1 && ack != s0 + 1 - 4294967296) fail("SYN-ACK ack " ack " != SYN seq + 1"); nsa++; sa_ack = ack }
          else if (flags == "R") { if (src != cport || dst != B) fail("RST " src " > " dst)
              if (seq != sa_ack) fail("RST seq " seq " != SYN-ACK ack " sa_ack); nr++ }
          else fail("unexpected packet: " $0)
          if ((src ~ "^" V) || (dst != V && dst != cport && dst != B)) fail("packet from VIP / unexpected: " $0) }
        END { if (bad) exit 1
              if (nsyn < 2) fail("SYN not retransmitted")
              if (nsa < 2 || nr < 2) fail("expected a SYN-ACK from the backend and a RST for each SYN")
              note(sprintf("%d SYNs to %s (same seq), %d SYN-ACKs from %s acking seq+1, %d RSTs from the client", nsyn, V, nsa, B, nr)) }' ||
        die "hairpin capture has the wrong shape"
    publish "$f" nat-hairpin.pcap
}

# ---------------------------------------------------------------- tcfallback
record_tcfallback() {
    local f pid out rc
    log "scenario tcfallback: DNS answer with TC=1, TCP 53 refused"
    resolver "$IP_DNS_TC"
    # failing variant: UDP only
    f=$WORK/dns-tcp-fallback-refused.pcap
    bg_start "$NS_S" dnstc "${PY[@]}" dnstc "$IP_DNS_TC"; pid=$BG
    wait_ready "$pid" dnstc
    start_capture "$NS_C" "$IF_C" "$f" host "$IP_DNS_TC" and port 53
    rc=0; out=$(timeout 20 ip netns exec "$NS_C" getent hosts "$NAME") || rc=$?
    stop_capture "$f"
    bg_stop "$pid"
    log "  getent hosts $NAME: rc $rc ${out:+($out)}"
    [[ $rc -eq 2 ]] || die "expected getent to fail (rc 2), got rc $rc"
    check_tc "$f" refused
    publish "$f" dns-tcp-fallback-refused.pcap

    # healthy variant: the responder also answers over TCP
    f=$WORK/dns-healthy-tcp.pcap
    bg_start "$NS_S" dnstc-tcp "${PY[@]}" dnstc "$IP_DNS_TC" "$NAME_A"; pid=$BG
    wait_ready "$pid" dnstc-tcp
    start_capture "$NS_C" "$IF_C" "$f" host "$IP_DNS_TC" and port 53
    rc=0; out=$(timeout 20 ip netns exec "$NS_C" getent hosts "$NAME") || rc=$?
    stop_capture "$f"
    bg_stop "$pid"
    log "  getent hosts $NAME: rc $rc ${out:+($out)}"
    [[ $rc -eq 0 && $out == "$NAME_A "* ]] || die "expected $NAME -> $NAME_A over TCP"
    check_tc "$f" healthy
    publish "$f" dns-healthy-tcp.pcap
    resolver "$IP_S"
}

check_tc() {    # $1 = pcap, $2 = refused|healthy
    dump "$1" | awk -v NAME="tcfallback-$2" -v MODE="$2" -v D="$IP_DNS_TC.53" "$AWK_TCP"'
        { parse()
          if ($0 !~ /Flags \[/) {           # UDP DNS; tcpdump marks TC=1 with "|" after the id
              if (dst == D) { if ($7 !~ /\?$/) fail("not a query: " $0); nq++ }
              else if (src == D) { if ($6 !~ /^[0-9]+[*-]*\|/) fail("UDP answer without TC: " $0); ntc++ }
              else fail("unexpected packet: " $0)
              next }
          if (flags == "S") { if (dst != D) fail("SYN to " dst); nsyn++; syn[src] = seq }
          else if (flags == "R.") { if (src != D) fail("RST from " src)
              if (!(dst in syn)) fail("RST without SYN"); if (ack != syn[dst] + 1 && ack != syn[dst] + 1 - 4294967296) fail("RST/ACK ack != SYN seq + 1"); nrst++ }
          else if (flags == "S.") nsa++
          else if (flags ~ /P/ && src == D) nans++ }
        END { if (bad) exit 1
              if (nq < 1 || ntc < 1) fail("no UDP query / TC=1 answer")
              if (nsyn < 1) fail("no TCP retry to port 53")
              if (MODE == "refused") { if (nrst != nsyn || nsa) fail("TCP retries not all refused"); note(sprintf("%d UDP queries, %d TC=1 answers, %d TCP SYNs to %s each refused by RST/ACK (ack = SYN seq + 1)", nq, ntc, nsyn, D)) }
              else { if (nrst || nsa < 1 || nans < 1) fail("TCP retry did not get an answer"); note(sprintf("%d UDP queries, %d TC=1 answers, TCP retry answered (%d answer segments)", nq, ntc, nans)) } }' ||
        die "tcfallback ($2) capture has the wrong shape"
}

# ---------------------------------------------------------------- healthy
record_healthy() {
    local f=$WORK/healthy-topology.pcap dpid hpid out i
    log "scenario healthy: DNS via dnsmasq, HTTP direct and via the VIP (hairpin SNAT)"
    ip netns exec "$NS_S" dnsmasq -k --no-resolv --no-hosts --conf-file=/dev/null \
        --bind-interfaces --listen-address="$IP_S" --port=53 --pid-file="$WORK/dnsmasq.pid" \
        --log-facility="$WORK/dnsmasq.log" --local=/knetcap.test/ \
        --host-record="$NAME,$NAME_A,$NAME_AAAA" --host-record="web.knetcap.test,$VIP" &
    dpid=$!; BG_PIDS+=("$dpid")
    bg_start "$NS_S" backend "${PY[@]}" http 0.0.0.0 8080; hpid=$BG
    wait_ready "$hpid" backend
    # the hairpin done right: DNAT plus SNAT (masquerade) of hairpinned flows,
    # so the backend replies via the router and the reply is un-NATed.
    nft_router <<EOF
table ip $NFT_TABLE {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        ip daddr $VIP tcp dport 80 counter dnat to $IP_S:8080
    }
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        ip saddr 10.77.0.0/24 ip daddr $IP_S tcp dport 8080 ct status dnat counter masquerade
    }
}
EOF
    for ((i = 0; i < 50; i++)); do
        ip netns exec "$NS_C" getent ahosts "$NAME" >/dev/null 2>&1 && break
        sleep 0.1
    done
    start_capture "$NS_C" "$IF_C" "$f" '(' udp port 53 or tcp port 8080 or tcp port 80 ')'
    for i in 1 2; do
        out=$(ip netns exec "$NS_C" getent ahosts "$NAME") || die "lookup of $NAME failed"
        grep -q "^$NAME_A " <<<"$out" || die "lookup lacks $NAME_A"
        sleep 0.2
    done
    out=$(ip netns exec "$NS_C" curl -sS -m 3 "http://$IP_S:8080/") || die "curl $IP_S:8080 failed"
    log "  curl http://$IP_S:8080/ -> $out"
    sleep 0.2
    out=$(ip netns exec "$NS_C" getent ahosts web.knetcap.test) || die "lookup of web.knetcap.test failed"
    out=$(ip netns exec "$NS_C" curl -sS -m 3 "http://web.knetcap.test/") || die "curl via VIP failed"
    log "  curl http://web.knetcap.test/ ($VIP) -> $out"
    stop_capture "$f"
    bg_stop "$hpid"; stop_pid "$dpid" TERM
    ip netns exec "$NS_R" nft delete table ip "$NFT_TABLE"
    dump "$f" | awk -v NAME=healthy -v V="$VIP.80" -v B="$IP_S.8080" "$AWK_TCP"'
        { parse()
          if ($0 ~ /Flags \[/) {
              if (flags ~ /R/) fail("RST in healthy capture: " $0)
              if (flags == "S") nsyn++
              if (flags == "S.") { nsa++; if (src != V && src != B) fail("SYN-ACK from " src) }
              if (flags ~ /P/) ndata++
          } else if ($0 ~ / [0-9]+\+? [A-Z]+\? /) nq++
          else if ($0 ~ / [0-9]+\*? .*[0-9]+\/[0-9]+\/[0-9]+/) na++ }
        END { if (bad) exit 1
              if (nsyn != 2 || nsa != 2) fail("expected 2 TCP handshakes, got " nsyn "/" nsa)
              if (ndata < 4) fail("expected request + response on both connections")
              if (nq < 5 || na != nq) fail("DNS queries " nq " vs answers " na)
              note(sprintf("%d DNS queries all answered, 2 HTTP connections (direct, via VIP) with data, no RST", nq)) }' ||
        die "healthy capture has the wrong shape"
    publish "$f" healthy-topology.pcap
}

# ---------------------------------------------------------------- paws (experimental)
# Two clients (knf-client 10.77.0.2, knf-client2 10.77.0.4) behind one SNAT to a
# single public port (10.78.0.1:40000). Client 1 fetches a page; the server
# closes first and keeps the 4-tuple in TIME_WAIT with ts_recent = client 1's
# TSval. Client 2's SYN maps to the same public ip:port (conntrack evicts the
# TIME_WAIT entry because the new ISN is ahead: nf_nat_used_tuple_harder), but
# carries a TSval from a different (lower) clock: the server's TIME_WAIT socket
# rejects it by PAWS and answers with a bare ACK; client 2 answers that with RST
# (which kills the TIME_WAIT) and connects on its SYN retransmission 1 s later.
# The ISNs are fixed with TCP_REPAIR (so the conntrack eviction always happens)
# and client 2's source port is chosen so that its TSval is behind client 1's.
record_paws() {
    local f=$WORK/tcp-paws-timewait.pcap pid out1 out2 ts1 port2
    log "scenario paws: two clients behind one SNAT port, TSval going backwards"
    bg_start "$NS_M" remote-http "${PY[@]}" http "$IP_M" 80; pid=$BG
    wait_ready "$pid" remote-http
    nft_router <<EOF
table ip $NFT_TABLE {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "$IF_R1" ip protocol tcp counter snat to $IP_R1:40000
    }
}
table ip knf_probe {
    chain prerouting {
        type filter hook prerouting priority raw; policy accept;
        ip saddr $IP_C2 tcp dport 80 counter drop
    }
}
EOF
    start_capture "$NS_M" "$IF_M" "$f" tcp port 80
    out1=$(ip netns exec "$NS_C" "${PY[@]}" pawsget "$IP_M" 80 "$IP_C" 41000 100000000)
    log "  client 1: $out1"
    ts1=${out1##* }
    out2=$(ip netns exec "$NS_C2" "${PY[@]}" tsprobe "$IP_M" 80 "$IP_C2" "$ts1" 41000 41100)
    log "  client 2 probe: $out2"
    port2=$(awk '{print $2}' <<<"$out2")
    ip netns exec "$NS_R" nft delete table ip knf_probe
    sleep 0.2
    out2=$(ip netns exec "$NS_C2" "${PY[@]}" pawsget "$IP_M" 80 "$IP_C2" "$port2" 1100000000)
    log "  client 2: $out2"
    stop_capture "$f"
    bg_stop "$pid"
    ip netns exec "$NS_R" nft delete table ip "$NFT_TABLE"
    PAWS_NSTAT=$(ip netns exec "$NS_M" nstat -az TcpExtPAWSTimewait | awk '/^TcpExt/ { print $1 "=" $2 }')
    log "  remote nstat: $PAWS_NSTAT"
    [[ $PAWS_NSTAT == TcpExtPAWSTimewait=1 ]] || die "expected exactly one PAWS reject in TIME_WAIT"
    dump "$f" | awk -v NAME=paws -v P="$IP_R1.40000" -v M="$IP_M.80" "$AWK_TCP"'
        { parse()
          if ((src != P || dst != M) && (src != M || dst != P)) fail("unexpected endpoints: " $0)
          if (flags == "S") { nsyn++
              if (nsyn == 2) { s2 = seq; ts2 = tsval; if (!((lastts - ts2 + 4294967296) % 4294967296 < 2147483648 && lastts != ts2)) fail("2nd SYN TSval " ts2 " not behind " lastts); st = "syn2" }
              else if (nsyn == 3) { if (seq != s2) fail("SYN retransmission changed seq"); st = "syn3" } }
          else if (st == "syn2" && src == M) { if (flags != ".") fail("TIME_WAIT answer is not a bare ACK: " $0)
              if (ack == s2 + 1) fail("ACK acks the new SYN"); twack = ack; st = "acked" }
          else if (st == "acked" && src == P) { if (flags != "R" || seq != twack) fail("no RST (seq = ACK ack) from the client: " $0); st = "rst" }
          else if (st == "syn3" && src == M) { if (flags != "S." || ack != s2 + 1) fail("no SYN-ACK for the retransmitted SYN: " $0); st = "done" }
          if (src == P && tsval != "" && nsyn == 1) lastts = tsval }
        END { if (bad) exit 1
              if (nsyn != 3 || st != "done") fail("expected SYN, bare ACK, RST, SYN, SYN-ACK (state " st ")")
              note(sprintf("2nd SYN from %s with TSval %d behind %d: bare ACK (ack %d) from TIME_WAIT, RST, SYN retransmitted, SYN-ACK", P, ts2, lastts, twack)) }' ||
        die "paws capture has the wrong shape"
    publish "$f" tcp-paws-timewait.pcap
}

# ---------------------------------------------------------------- main
setup
sleep 1
for s in "${SCENARIOS[@]}"; do
    case $s in
        rst) record_rst ;;
        backlog) record_backlog ;;
        hairpin) record_hairpin ;;
        tcfallback) record_tcfallback ;;
        healthy) record_healthy ;;
        paws) record_paws ;;
        search) record_search ;;
    esac
done

echo
echo "== captures recorded with: $KNETCAP"
for f in "${PUBLISHED[@]}"; do
    echo "-- $f ($(stat -c %s "$OUT/$f") bytes, $(tcpdump -nn -r "$OUT/$f" 2>/dev/null | wc -l) packets)"
    tcpdump -nn -r "$OUT/$f" 2>/dev/null
    if [[ $f == tcp-syn-backlog-drop.pcap ]]; then
        echo "   server nstat (knf-server):"; sed 's/^/     /' <<<"$BACKLOG_NSTAT"
    fi
done
