#!/bin/bash
# record-icmp-quotes.sh - records icmp-quotes.pcap: ICMP and ICMPv6 errors from a real Linux
# kernel that quote DNS queries (UDP and TCP), for the tshark agreement of the quoted headers'
# fields (`ip.dst` of the quoted datagram: which Service VIP an unreachable was about).
#
# Run as root in this folder: `sudo ./record-icmp-quotes.sh` (ip netns, nftables, tcpdump,
# python3). Three namespaces: a client (10.88.1.2, fd88:1::2), a node that routes
# (10.88.1.1 | 10.88.2.1, fd88:1::1 | fd88:2::1) and a pod (10.88.2.2, fd88:2::2, nothing
# listening on 53). The node routes the Service range 10.96.0.0/16 and fd88:96::/64 on to
# the pod side and carries kube-proxy's nftables-mode reject for a Service without endpoints
# (`ip daddr . meta l4proto . th dport vmap @no-endpoint-services` -> plain `reject`) for
# 10.96.0.10 udp/53 and tcp/53 and fd88:96::a udp/53. tcpdump on the client's interface.
# On the wire, each DNS query for kubernetes.default.svc.cluster.local A:
#   1. UDP to 10.96.0.10:53      -> ICMP 3/3 from the node, quoting the query (IP, UDP, DNS)
#   2. TCP SYN to 10.96.0.10:53  -> ICMP 3/3 from the node, quoting the SYN (TCP, 40 bytes)
#   3. UDP to [fd88:96::a]:53    -> ICMPv6 1/4 from the node, quoting the query
#   4. UDP to 10.88.2.2:53       -> ICMP 3/3 from the pod itself (closed port)
#   5. UDP to 10.88.2.2:53, TTL 1 -> ICMP 11/0 from the node (time exceeded in transit)
#   6. TCP SYN to [fd88:2::2]:53, hop limit 1 -> ICMPv6 3/0 from the node
set -euo pipefail
cd "$(dirname "$0")"
OUT=${1:-icmp-quotes.pcap}
C=kiq-client R=kiq-node S=kiq-pod
[[ $EUID -eq 0 ]] || { echo "must run as root" >&2; exit 1; }
exec {LOCK}>/run/lock/knetcap-record.lock
flock -w 600 "$LOCK"
cleanup() {
    [[ -n ${DUMP:-} ]] && kill "$DUMP" 2>/dev/null && wait "$DUMP" 2>/dev/null
    for n in $C $R $S; do ip netns del "$n" 2>/dev/null || true; done
}
trap cleanup EXIT
cleanup
for n in $C $R $S; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add kiq-c netns $C type veth peer name kiq-rc netns $R
ip link add kiq-rs netns $R type veth peer name kiq-s netns $S
ip -n $C addr add 10.88.1.2/24 dev kiq-c; ip -n $C addr add fd88:1::2/64 dev kiq-c nodad
ip -n $R addr add 10.88.1.1/24 dev kiq-rc; ip -n $R addr add fd88:1::1/64 dev kiq-rc nodad
ip -n $R addr add 10.88.2.1/24 dev kiq-rs; ip -n $R addr add fd88:2::1/64 dev kiq-rs nodad
ip -n $S addr add 10.88.2.2/24 dev kiq-s; ip -n $S addr add fd88:2::2/64 dev kiq-s nodad
for l in "$C kiq-c" "$R kiq-rc" "$R kiq-rs" "$S kiq-s"; do set -- $l; ip -n "$1" link set "$2" up; done
ip -n $C route add default via 10.88.1.1; ip -n $C -6 route add default via fd88:1::1
ip -n $S route add default via 10.88.2.1; ip -n $S -6 route add default via fd88:2::1
ip netns exec $R sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n $R route add 10.96.0.0/16 via 10.88.2.2; ip -n $R -6 route add fd88:96::/64 via fd88:2::2
ip netns exec $R nft -f - <<'NFT'
table ip kiq-kube {
    map no-endpoint-services {
        type ipv4_addr . inet_proto . inet_service : verdict
        elements = { 10.96.0.10 . udp . 53 : goto reject-chain, 10.96.0.10 . tcp . 53 : goto reject-chain }
    }
    chain filter-forward { type filter hook forward priority -110; policy accept; ct state new jump service-endpoints-check; }
    chain service-endpoints-check { ip daddr . meta l4proto . th dport vmap @no-endpoint-services; }
    chain reject-chain { reject; }
}
table ip6 kiq-kube {
    map no-endpoint-services {
        type ipv6_addr . inet_proto . inet_service : verdict
        elements = { fd88:96::a . udp . 53 : goto reject-chain }
    }
    chain filter-forward { type filter hook forward priority -110; policy accept; ct state new jump service-endpoints-check; }
    chain service-endpoints-check { ip6 daddr . meta l4proto . th dport vmap @no-endpoint-services; }
    chain reject-chain { reject; }
}
NFT
# The capture: ARP and neighbour discovery left out (ICMPv6 types below 128 are the errors).
ip netns exec $C tcpdump -i kiq-c -U -s 0 -w "$OUT" 'udp or tcp or icmp or (icmp6 and ip6[40] < 128)' 2>/dev/null & DUMP=$!
sleep 1
ip netns exec $C python3 - <<'PY'
import socket, struct, time
name = b"".join(bytes([len(l)]) + l for l in b"kubernetes.default.svc.cluster.local".split(b".")) + b"\0"
def query(i): return struct.pack("!HHHHHH", 0x4000 + i, 0x0100, 1, 0, 0, 0) + name + struct.pack("!HH", 1, 1)
def udp(fam, addr, i, ttl=None):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if ttl: s.setsockopt(*((socket.IPPROTO_IP, socket.IP_TTL) if fam == socket.AF_INET else (socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS)), ttl)
    if not ttl: s.connect((addr, 53))  # a connected socket hears the ICMP error
    s.settimeout(1)
    (s.send if not ttl else lambda b: s.sendto(b, (addr, 53)))(query(i))
    try: s.recv(512); print("answered?", addr)
    except OSError as e: print("udp", addr, "ttl", ttl, "->", e.__class__.__name__)
    s.close()
def tcp(fam, addr, i, ttl=None):
    s = socket.socket(fam, socket.SOCK_STREAM)
    if ttl: s.setsockopt(*((socket.IPPROTO_IP, socket.IP_TTL) if fam == socket.AF_INET else (socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS)), ttl)
    s.settimeout(1.5)
    try: s.connect((addr, 53)); print("connected?", addr)
    except OSError as e: print("tcp", addr, "ttl", ttl, "->", e.__class__.__name__)
    s.close()
udp(socket.AF_INET, "10.96.0.10", 1); time.sleep(0.2)
tcp(socket.AF_INET, "10.96.0.10", 2); time.sleep(0.2)
udp(socket.AF_INET6, "fd88:96::a", 3); time.sleep(0.2)
udp(socket.AF_INET, "10.88.2.2", 4); time.sleep(0.2)
udp(socket.AF_INET, "10.88.2.2", 5, ttl=1); time.sleep(0.2)
tcp(socket.AF_INET6, "fd88:2::2", 6, ttl=1); time.sleep(0.2)
PY
sleep 1
kill -INT "$DUMP"; wait "$DUMP" || true; DUMP=
tcpdump -nn -r "$OUT" 2>/dev/null
