# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# dns-port-1053.pcap - DNS on a port that is not 53, one answer lost.
#
# Recorded: `sudo Captures/record.sh dns-port-1053`, topology "lab"; captured on knf-c0 in
# knf-client (`udp port 1053`). Shipped capture: Linux >= 6.5, dnsmasq 2.90.
# dnsmasq serves knetcap.test on 10.77.0.3 port 1053 (a resolver behind a NodePort or a
# sidecar on another port). A client (python socket) asks for api.knetcap.test A, then AAAA
# from a new socket each, waiting 2 s per try; an nftables rule in knf-server drops the first
# A answer, so the client re-sends that query after 2 s. On the wire: 5 packets, no port 53.
# knetcap recognises DNS on 1053 by content (tshark's heuristic does too) and names
# dns.timeout (the 2 s gap is no known resolver's default).
SCENARIO_TOPOLOGY=lab
SCENARIO_EXPECT="dns.timeout"
SCENARIO_FILTER=(udp port 1053)

client='
import socket, struct, sys
def ask(qtype, ident):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
    name = b"".join(bytes([len(l)]) + l.encode() for l in sys.argv[2].split("."))
    q = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + name + b"\0" + struct.pack("!HH", qtype, 1)
    for attempt in range(3):
        u.sendto(q, (sys.argv[1], 1053))
        try: u.recv(512); print("answered", qtype, "after", attempt + 1, "tries"); return
        except socket.timeout: pass
    print("unanswered", qtype)
ask(1, 0x1053); ask(28, 0x1054)
'

prepare() {
    local qtype_bit
    DNSMASQ_PORT=1053 dnsmasq_start "$NS_S" "$IP_S" dnsmasq-1053 --host-record="$NAME,$NAME_A,$NAME_AAAA"
    dpid=$BG
    qtype_bit=$(( (8 + 12 + ${#NAME} + 2) * 8 ))
    ip netns exec "$NS_S" nft -f - <<NFT
table inet knf_1053 {
    chain output {
        type filter hook output priority filter; policy accept;
        udp sport 1053 @th,$qtype_bit,16 0x0001 limit rate 1/hour burst 1 packets counter drop
    }
}
NFT
    sleep 1
}

traffic() { out=$(ip netns exec "$NS_C" python3 -c "$client" "$IP_S" "$NAME"); }

verify() {
    stop_pid "$dpid" TERM
    ip netns exec "$NS_S" nft delete table inet knf_1053
    log "  client: $(tr '\n' ';' <<<"$out")"
    [[ $out == *"answered 1 after 2 tries"* && $out == *"answered 28 after 1 tries"* ]] || die "unexpected client result: $out"
    dump "$CAP_FILE" | awk -v NAME=port1053 "$AWK_TCP"'
        / > 10\.77\.0\.3\.1053: / { q++ } / 10\.77\.0\.3\.1053 > / { a++ }
        END { if (bad) exit 1
              if (NR != 5 || q != 3 || a != 2) fail("expected 3 queries and 2 answers, got " q + 0 ", " a + 0)
              note("3 queries to port 1053 (the A query twice), 2 answers") }' ||
        die "port-1053 capture has the wrong shape"
}
