# shellcheck shell=bash disable=SC2034  # sets variables for record.sh and the scenarios
# Topology "routed": a client, a router (a node's netfilter) and a server, IPv4 and IPv6,
# on two plain veth links (sourced by record.sh).
#
#   netns kfa-client            netns kfa-router                 netns kfa-server
#   kfa-c0 10.88.1.2/24  <--->  kfa-rc 10.88.1.1  kfa-rs 10.88.2.1  <--->  kfa-s0 10.88.2.2/24
#          fd88:1::2/64               fd88:1::1         fd88:2::1            fd88:2::2/64
#   default via .1              ip_forward=1, nftables          default via .1
#
#   "Service" addresses (VIPs) 10.96.88.10 and fd88:96::10 reach the router by the client's
#   default route; a scenario that uses them routes them on (towards the server, which does
#   not own them) so its nftables rules in the forward hook answer them, as kube-proxy's rules
#   answer a ClusterIP on the node (the packet never reaches a backend).
#
# Plain python sockets (topologies/lab.py roles) and curl: every packet comes from the real
# kernel. IPv6 without RA/RS/DAD chatter; no ICMP redirects; veth TX checksum offload off.
# Namespaces and links are kfa-* (one recording at a time: record.sh's lock).

TOPOLOGY_NEEDS=(ip nft python3 curl sysctl tcpdump timeout)
NS_C=kfa-client; NS_R=kfa-router; NS_S=kfa-server
ALL_NS=("$NS_C" "$NS_R" "$NS_S")
IF_C=kfa-c0; IF_RC=kfa-rc; IF_RS=kfa-rs; IF_S=kfa-s0
IP_C=10.88.1.2; IP_RC=10.88.1.1; IP_RS=10.88.2.1; IP_S=10.88.2.2
IP6_C=fd88:1::2; IP6_RC=fd88:1::1; IP6_RS=fd88:2::1; IP6_S=fd88:2::2
VIP=10.96.88.10; VIP6=fd88:96::10
CAPTURE_ON=("$NS_C" "$IF_C")   # where scenarios capture by default
PY=(python3 -u "$CAPTURES/topologies/lab.py")

topology_teardown() { netns_delete "${ALL_NS[@]}"; }

topology_setup() {
    local ns
    for ns in "${ALL_NS[@]}"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.accept_ra=0 \
            net.ipv6.conf.default.router_solicitations=0 net.ipv6.conf.default.accept_dad=0 \
            net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0 \
            net.ipv4.conf.all.accept_redirects=0 net.ipv4.conf.default.accept_redirects=0 \
            net.ipv6.conf.all.accept_redirects=0 net.ipv6.conf.default.accept_redirects=0
    done
    ip link add "$IF_C" netns "$NS_C" type veth peer name "$IF_RC" netns "$NS_R"
    ip link add "$IF_S" netns "$NS_S" type veth peer name "$IF_RS" netns "$NS_R"
    ip -n "$NS_C" addr add "$IP_C/24" dev "$IF_C"; ip -n "$NS_C" -6 addr add "$IP6_C/64" dev "$IF_C" nodad
    ip -n "$NS_R" addr add "$IP_RC/24" dev "$IF_RC"; ip -n "$NS_R" -6 addr add "$IP6_RC/64" dev "$IF_RC" nodad
    ip -n "$NS_R" addr add "$IP_RS/24" dev "$IF_RS"; ip -n "$NS_R" -6 addr add "$IP6_RS/64" dev "$IF_RS" nodad
    ip -n "$NS_S" addr add "$IP_S/24" dev "$IF_S"; ip -n "$NS_S" -6 addr add "$IP6_S/64" dev "$IF_S" nodad
    offload_off "$NS_C" "$IF_C"; offload_off "$NS_R" "$IF_RC"; offload_off "$NS_R" "$IF_RS"; offload_off "$NS_S" "$IF_S"
    # no segmentation offload either: the capture shows the segments the path carries
    if command -v ethtool >/dev/null; then
        for x in "$NS_C $IF_C" "$NS_R $IF_RC" "$NS_R $IF_RS" "$NS_S $IF_S"; do
            read -r ns ifc <<<"$x"; ip netns exec "$ns" ethtool -K "$ifc" tso off gso off gro off >/dev/null 2>&1 || true
        done
    fi
    ip -n "$NS_C" link set "$IF_C" up; ip -n "$NS_R" link set "$IF_RC" up
    ip -n "$NS_R" link set "$IF_RS" up; ip -n "$NS_S" link set "$IF_S" up
    ip -n "$NS_C" route add default via "$IP_RC"; ip -n "$NS_C" -6 route add default via "$IP6_RC"
    ip -n "$NS_S" route add default via "$IP_RS"; ip -n "$NS_S" -6 route add default via "$IP6_RS"
    ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
    sleep 1
    # warm the neighbour caches (a datagram to the discard port; answers ignored)
    ip netns exec "$NS_C" "${PY[@]}" poke "$IP_RC" "$IP_S"
    ip netns exec "$NS_S" "${PY[@]}" poke "$IP_RS" "$IP_C"
    ip netns exec "$NS_C" ping -6 -c1 -W1 "$IP6_S" >/dev/null 2>&1 || true
    sleep 1
}

nft_router() { ip netns exec "$NS_R" nft -f -; }

# The MTU black hole of the tcp-mtu-* scenarios: the router's link to the client MTU 1400 (an
# overlay's smaller MTU; both ends keep 1500), its ICMP fragmentation-needed (3/4) dropped in
# its output hook; HTTP on the server's port 8080 sends a body of $1 bytes, the server's
# net.ipv4.tcp_mtu_probing $2. Sets pid (the server).
mtu_blackhole_start() {   # $1 = body bytes, $2 = tcp_mtu_probing
    ip -n "$NS_R" link set "$IF_RC" mtu 1400
    nft_router <<NFT
table ip kfa-mtu {
    chain output { type filter hook output priority 0; policy accept; icmp type destination-unreachable icmp code frag-needed counter drop; }
}
NFT
    ip netns exec "$NS_S" sysctl -qw net.ipv4.tcp_mtu_probing="$2" net.ipv4.tcp_base_mss=1024
    ip -n "$NS_S" route flush cache; ip -n "$NS_S" -6 route flush cache
    bg_start "$NS_S" http8080 python3 -u "$CAPTURES/topologies/routed.py" http 0.0.0.0 8080 "$1"; pid=$BG
    wait_ready "$pid" http8080
}
# Undo it; sets dropped (the ICMP messages the router dropped).
mtu_blackhole_stop() {
    bg_stop "$pid"
    dropped=$(ip netns exec "$NS_R" nft list table ip kfa-mtu | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
    log "  router dropped $dropped ICMP fragmentation-needed"
    ip -n "$NS_R" link set "$IF_RC" mtu 1500; ip netns exec "$NS_R" nft delete table ip kfa-mtu
    ip netns exec "$NS_S" sysctl -qw net.ipv4.tcp_mtu_probing=0
    ip -n "$NS_S" route flush cache
    [[ ${dropped:-0} -ge 4 ]] || die "expected the router to drop at least 4 ICMP fragmentation-needed"
}

# GET $1 from the client, giving up after $2 s; sets out ("N bytes, http CODE" or curl's error).
http_get() {
    out=$(ip netns exec "$NS_C" curl -sS -m "$2" -o /dev/null -w '%{size_download} bytes, http %{http_code}\n' "$1" 2>&1 || true)
    sleep 1
}
