#!/usr/bin/env bash
# record-cross-node.sh - records Captures/net-cross-node-loss.pcapng on the real kernel: two
# "nodes" (network namespaces kx-a, kx-b) joined through a router namespace (kx-r, forwarding),
# a DNS server (python sockets) on node-b, knetcap capturing live on each node's interface, and
# nftables on the router dropping the forwarded queries of one UDP length (two of the five
# names have it); the two captures merged with `knetcap merge` (interfaces node-a/xa,
# node-b/xb). Finding: net.cross-node-loss (2 queries seen at node-a, never at node-b).
#
#   sudo Captures/record-cross-node.sh [KNETCAP]     (default .build/release/knetcap)
set -euo pipefail
CAPTURES=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
K=$(readlink -f "${1:-$CAPTURES/../.build/release/knetcap}")
work=$(mktemp -d)
cd "$work"
for n in a b r; do ip netns add kx-$n; done
trap 'kill $SRV 2>/dev/null; for n in a b r; do ip netns del kx-$n 2>/dev/null; done; rm -rf "$work"' EXIT
ip link add xa netns kx-a type veth peer name ra netns kx-r; ip link add xb netns kx-b type veth peer name rb netns kx-r
ip -n kx-a addr add 10.81.7.2/24 dev xa; ip -n kx-r addr add 10.81.7.1/24 dev ra; ip -n kx-b addr add 10.82.7.2/24 dev xb; ip -n kx-r addr add 10.82.7.1/24 dev rb
for p in "kx-a xa" "kx-b xb" "kx-r ra" "kx-r rb" "kx-a lo" "kx-b lo"; do set -- $p; ip -n $1 link set $2 up; done
ip -n kx-a route add default via 10.81.7.1; ip -n kx-b route add default via 10.82.7.1; ip netns exec kx-r sysctl -qw net.ipv4.ip_forward=1
ip netns exec kx-b python3 -c '
import socket
u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);u.bind(("10.82.7.2",53))
while True:
    q,p=u.recvfrom(512);u.sendto(q[:2]+b"\x81\x80"+q[4:6]+b"\x00\x01\x00\x00\x00\x00"+q[12:]+b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\x09\x09\x09",p)' &
SRV=$!
NAME=api.shop.svc.cluster.local; L=$((8+12+${#NAME}+2+4))
printf 'table inet lab {\n chain f {\n  type filter hook forward priority 0; policy accept;\n  udp dport 53 udp length %d counter drop\n }\n}\n' $L | ip netns exec kx-r nft -f /dev/stdin
$K --netns kx-a -i xa -q -w node-a.pcapng udp 2>ea & A=$!; $K --netns kx-b -i xb -q -w node-b.pcapng udp 2>eb & B=$!; sleep 1
ip netns exec kx-a python3 -c '
import socket,struct,time
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(("10.81.7.2",40053));s.settimeout(0.5)
for i,n in enumerate(["web.shop.svc.cluster.local","db.shop.svc.cluster.local","api.shop.svc.cluster.local","web.shop.svc.cluster.local","cache.shop.svc.cluster.local"]):
    q=struct.pack(">HHHHHH",0x2000+i,0x0100,1,0,0,0)+b"".join(bytes([len(l)])+l.encode() for l in n.split("."))+b"\x00\x00\x01\x00\x01"
    s.sendto(q,("10.82.7.2",53))
    try: s.recvfrom(512)
    except socket.timeout: pass
    time.sleep(0.05)'
sleep 0.3; kill -INT $A $B; wait $A $B || true
"$K" merge -w "$CAPTURES/net-cross-node-loss.pcapng" node-a="$work/node-a.pcapng" node-b="$work/node-b.pcapng"
"$K" -q -r "$CAPTURES/net-cross-node-loss.pcapng" | grep -q 'net.cross-node-loss' || { echo "record-cross-node: no net.cross-node-loss in the merge" >&2; exit 1; }
