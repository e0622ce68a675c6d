# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# dns-slow-answered.pcap - a slow DNS server: every query answered late, none retried.
#
# Recorded: `sudo Captures/record.sh dns-slow-answered`, topology "pair"; captured on knc-c0
# in knc-client (`udp port 53`). Shipped capture: Linux >= 6.5, Debian 12 glibc 2.36.
# The kernel has no netem, so the server itself is slow: a python responder (standard library,
# plain UDP socket, on a second address 10.53.0.3 of knc-d0) answers each query after its own
# delay, taken in arrival order from SLOW_DELAYS (0.3 0.8 1.5 2.2 3.0 4.0 4.0 0.3 s): same id,
# question echoed, AA/RA set, the A or AAAA record (api.knetcap.test), NOERROR with no record
# for the AAAA of v4only.knetcap.test. The client's resolv.conf names 10.53.0.3, default
# options: glibc's first retry comes after RES_TIMEOUT = 5 s (res_send.c send_dg), later than
# every delay, so the client never retransmits. (musl would retry at 2.5 s, before the 3 and 4 s
# answers: that run would be a different capture, with retransmissions.)
# On the wire: 4 `getent ahosts` lookups (3 of api.knetcap.test, 1 of v4only.knetcap.test),
# each A? and AAAA? back to back from one port, each answered once, 0.3 to 4.0 s later, in
# whatever order the delays give (the last lookup's AAAA no-data before its A); 16 packets, no
# query sent twice. A query answered before any retransmission is healthy however late:
# knetcap names no fault.
SCENARIO_TOPOLOGY=pair
SCENARIO_EXPECT=""
SCENARIO_FILTER=("${FILTER_WORDS[@]}")
SLOW_IP=10.53.0.3
V4_NAME=v4only.knetcap.test; V4_A=10.53.0.81
SLOW_DELAYS=(0.3 0.8 1.5 2.2 3.0 4.0 4.0 0.3)
SLOW_OPTIONS=()        # resolv.conf options line for the client (none: glibc defaults)
SLOW_LOOKUPS=("$NAME" "$NAME" "$NAME" "$V4_NAME")

# The slow server: python3 -c "$slow_server" ADDR DELAYS NAME=A,AAAA... (AAAA may be empty).
# Queries for the listed names take the next delay of DELAYS (0 once they run out); any other
# name is NXDOMAIN at once. A query already waiting (same client, id and question: a
# retransmission) is not answered twice: the one answer goes out when the first copy's delay
# ends, as a forwarding server (dnsmasq, CoreDNS) answers duplicates of an in-flight query.
slow_server='
import socket, struct, sys, threading, time
addr, delays = sys.argv[1], [float(d) for d in sys.argv[2].split(",")]
records = {}
for spec in sys.argv[3:]:
    name, a, aaaa = spec.replace("=", ",").split(",")
    records[name.lower()] = (a, aaaa)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((addr, 53))
waiting, lock, t0 = set(), threading.Lock(), time.monotonic()
def answer(q, peer, rcode, rr, key, delay):
    time.sleep(delay)
    # QR, opcode and RD copied, AA, RA; the question echoed; the record by a pointer to it
    flags = 0x8400 | (q[2] & 0x79) << 8 | 0x80 | rcode
    u.sendto(q[:2] + struct.pack("!HHHHH", flags, 1, 1 if rr else 0, 0, 0) + q[12:key[3]] + rr, peer)
    with lock: waiting.discard(key)
    print("answered", peer, "id", key[1], "qtype", key[2], "after", delay, flush=True)
print("ready slow-dns", addr, flush=True)
while True:
    q, peer = u.recvfrom(4096)
    if len(q) < 17 or q[2] & 0x80 or struct.unpack("!H", q[4:6])[0] != 1: continue
    i, labels = 12, []
    while i < len(q) and q[i] and q[i] < 64:
        labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace")); i += 1 + q[i]
    if i + 5 > len(q) or q[i]: continue
    end = i + 5                                     # end of QNAME, QTYPE, QCLASS
    qtype = struct.unpack("!H", q[end - 4:end - 2])[0]
    name = ".".join(labels).lower()
    key = (peer, struct.unpack("!H", q[:2])[0], qtype, end, name)
    with lock:
        if key in waiting:
            print("duplicate", peer, "id", key[1], "qtype", qtype, "at", round(time.monotonic() - t0, 3), "not answered again", flush=True)
            continue
        waiting.add(key)
    rr, rcode, delay = b"", 0, 0.0
    if name in records:
        delay = delays.pop(0) if delays else 0.0
        a, aaaa = records[name]
        if qtype == 1 and a: rr = struct.pack("!HHHIH", 0xc00c, 1, 1, 60, 4) + socket.inet_pton(socket.AF_INET, a)
        if qtype == 28 and aaaa: rr = struct.pack("!HHHIH", 0xc00c, 28, 1, 60, 16) + socket.inet_pton(socket.AF_INET6, aaaa)
    else:
        rcode = 3
    threading.Thread(target=answer, args=(q, peer, rcode, rr, key, delay), daemon=True).start()
'

prepare() {
    local i rc
    warm_up   # dnsmasq on 10.53.0.1: the topology's neighbour entries
    ip -n "$NS_S" addr add "$SLOW_IP/24" dev "$IF_S"
    bg_start "$NS_S" slow-dns python3 -u -c "$slow_server" "$SLOW_IP" "$(IFS=,; echo "${SLOW_DELAYS[*]}")" \
        "$NAME=$NAME_A,$NAME_AAAA" "$V4_NAME=$V4_A,"
    slow_pid=$BG
    wait_ready "$slow_pid" slow-dns
    resolver "$SLOW_IP" "${SLOW_OPTIONS[@]}"
    # One NXDOMAIN lookup (answered at once) before the capture: the client's neighbour entry
    # for 10.53.0.3, and proof the responder answers.
    for ((i = 0; i < 20; i++)); do
        rc=0; lookup "$NX_NAME" >/dev/null 2>&1 || rc=$?
        [[ $rc -eq 2 ]] && return 0
        sleep 0.1
    done
    die "the slow responder on $SLOW_IP does not answer (getent rc $rc)"
}

traffic() {
    local n t0 t1 out
    SLOW_RESULTS=()
    for n in "${SLOW_LOOKUPS[@]}"; do
        t0=$(now); out=$(lookup "$n") || die "getent ahosts $n failed"; t1=$(now)
        SLOW_RESULTS+=("$n $(elapsed "$t0" "$t1") $(awk '{ print $1 }' <<<"$out" | sort -u | paste -sd,)")
        log "  getent ahosts $n: $(awk '{ print $1 }' <<<"$out" | sort -u | paste -sd' ') in $(elapsed "$t0" "$t1") s"
        sleep 0.3
    done
}

# The responder stopped, the client's resolver and the server's address as the topology made them.
slow_stop() {
    stop_pid "$slow_pid" TERM
    resolver "$IP4_S"
    ip -n "$NS_S" addr del "$SLOW_IP/24" dev "$IF_S"
}

# The capture's shape: each query answered once, after the delay it was given.
verify_slow() {     # $1 = the scenario's name in messages
    local r
    slow_stop
    for r in "${SLOW_RESULTS[@]:0:3}"; do
        [[ $r == *"$NAME_A"* && $r == *"$NAME_AAAA"* ]] || die "lookup result lacks an address: $r"
    done
    [[ ${SLOW_RESULTS[3]} == *"$V4_A" ]] || die "v4only lookup: ${SLOW_RESULTS[3]}"
    dump "$CAP_FILE" | awk -v NAME="$1" -v D="${SLOW_DELAYS[*]}" -v S="$SLOW_IP.53" "$AWK_TCP"'
        BEGIN { nd = split(D, delay, " ") }
        { t = $1 + 0; dst = $5; sub(/:$/, "", dst); id = $6; sub(/[^0-9].*/, "", id) }
        dst == S { k = $3 " " id; if (k in sent) fail("query " k " sent twice"); sent[k] = t; order[++nq] = k; next }
        $3 == S { k = dst " " id; if (!(k in sent)) fail("answer to no query: " $0)
                  if (k in got) fail("query " k " answered twice"); got[k] = t - sent[k]; na++; next }
        { fail("not to or from the slow server: " $0) }
        END { if (bad) exit 1
              if (nq != nd || na != nd) fail("expected " nd " queries and answers, got " nq + 0 ", " na + 0)
              for (i = 1; i <= nq; i++) {
                  d = got[order[i]]
                  if (d < delay[i] || d > delay[i] + 0.1) fail(sprintf("query %d answered after %.3f s, delay %s", i, d, delay[i]))
                  s = s sprintf(" %.3f", d)
              }
              note(nq " queries, each answered once, none re-sent; answer delays (s):" s) }' ||
        die "$1 capture has the wrong shape"
}

verify() { verify_slow slow-answered; }
