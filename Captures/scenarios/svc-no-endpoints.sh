# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# svc-no-endpoints.pcap - a Service without ready endpoints: the node's reject rule answers.
#
# Recorded: `sudo Captures/record.sh svc-no-endpoints`, topology "routed"
# (topologies/routed.sh); knetcap's live capture on kfa-c0 in kfa-client (TCP, UDP, ICMP,
# ICMPv6 but neighbour discovery). Shipped capture: Linux >= 6.5, Debian 12.
# The router carries kube-proxy's nftables-mode rules for a Service with no endpoints (tables
# `ip kfa-kube` / `ip6 kfa-kube`: a filter-forward chain at priority -110, `ct state new jump
# service-endpoints-check`, `ip daddr . meta l4proto . th dport vmap @no-endpoint-services`,
# elements `goto reject-chain`, and reject-chain's plain `reject`: ICMP port unreachable,
# ICMPv6 port unreachable), for 10.96.88.10 tcp/80 and udp/8125 and fd88:96::10 tcp/80. A
# second rule rejects 10.88.2.2 tcp/30080 `with tcp reset` (the RST the router builds carries
# the server's address, nf_reject_ipv4). On the wire:
#   - connect 10.88.2.2:80 (a real server: SYN-ACK, HTTP GET, answered)        -> healthy
#   - 2 connects to 10.96.88.10:80: SYN answered by ICMP port unreachable from 10.88.1.1
#   - 2 datagrams to 10.96.88.10:8125: ICMP port unreachable from 10.88.1.1
#   - 1 connect to [fd88:96::10]:80: ICMPv6 port unreachable from fd88:1::1
#   - 1 connect to 10.88.2.2:30080: RST/ACK "from 10.88.2.2" with TTL 64 (the router's),
#     while 10.88.2.2's own packets arrive with TTL 63                      -> svc.no-endpoints
#   - look-alikes: 1 connect to 10.88.2.2:8081 (nothing listens: the server's own RST/ACK, TTL 63)
#     -> tcp.rst-unlistened-port; 2 datagrams to 10.88.2.2:8125 (nothing listens: ICMP port
#     unreachable from 10.88.2.2 itself, the quoted destination) -> no finding.
SCENARIO_TOPOLOGY=routed
SCENARIO_EXPECT="svc.no-endpoints tcp.rst-unlistened-port"
SCENARIO_FILTER=(tcp or udp or icmp or "(icmp6 and ip6[40] < 128)")
RPY=(python3 -u "$CAPTURES/topologies/routed.py")

prepare() {
    nft_router <<NFT
table ip kfa-kube {
    map no-endpoint-services {
        type ipv4_addr . inet_proto . inet_service : verdict
        elements = { $VIP . tcp . 80 : goto reject-chain, $VIP . udp . 8125 : goto reject-chain }
    }
    chain filter-forward { type filter hook forward priority -110; policy accept; ct state new jump service-endpoints-check; }
    chain service-endpoints-check { ip daddr . meta l4proto . th dport vmap @no-endpoint-services; }
    chain reject-chain { counter reject; }
}
table ip6 kfa-kube {
    map no-endpoint-services {
        type ipv6_addr . inet_proto . inet_service : verdict
        elements = { $VIP6 . tcp . 80 : goto reject-chain }
    }
    chain filter-forward { type filter hook forward priority -110; policy accept; ct state new jump service-endpoints-check; }
    chain service-endpoints-check { ip6 daddr . meta l4proto . th dport vmap @no-endpoint-services; }
    chain reject-chain { counter reject; }
}
table ip kfa-reset {
    chain forward { type filter hook forward priority -110; policy accept; ip daddr $IP_S tcp dport 30080 counter reject with tcp reset; }
}
NFT
    # the router routes the Service range on towards the server side, as a node's default
    # route carries ClusterIPs: the packet must reach the forward hook (no route would be
    # ICMP net unreachable from the routing step, before any rule)
    ip -n "$NS_R" route replace "$VIP/32" via "$IP_S"
    ip -n "$NS_R" -6 route replace "$VIP6/128" via "$IP6_S"
    bg_start "$NS_S" http80 "${RPY[@]}" http 0.0.0.0 80 64; pid=$BG
    wait_ready "$pid" http80
}

traffic() {
    out=$(ip netns exec "$NS_C" curl -sS -m 3 -o /dev/null -w 'GET http://%{remote_ip}/ %{http_code}\n' "http://$IP_S/")
    sleep 0.5
    out+=$'\n'$(ip netns exec "$NS_C" "${PY[@]}" connect "$VIP" 80 2 2)
    out+=$'\n'$(ip netns exec "$NS_C" "${RPY[@]}" udp "$VIP" 8125 2)
    out+=$'\n'$(ip netns exec "$NS_C" "${PY[@]}" connect "$VIP6" 80 2 1)
    out+=$'\n'$(ip netns exec "$NS_C" "${PY[@]}" connect "$IP_S" 30080 2 1)
    out+=$'\n'$(ip netns exec "$NS_C" "${PY[@]}" connect "$IP_S" 8081 2 1)
    out+=$'\n'$(ip netns exec "$NS_C" "${RPY[@]}" udp "$IP_S" 8125 2)
}

verify() {
    bg_stop "$pid"
    ip -n "$NS_R" route del "$VIP/32" 2>/dev/null || true
    ip -n "$NS_R" -6 route del "$VIP6/128" 2>/dev/null || true
    sed 's/^/    client: /' <<<"$out" >&2
    ip netns exec "$NS_R" nft list ruleset | grep -E 'counter packets' | sed 's/^ */    router: /' >&2
    [[ $(grep -c ' refused after ' <<<"$out") == 5 ]] || die "expected 5 refused connects"
    [[ $(grep -c 'refused (ICMP)' <<<"$out") == 4 ]] || die "expected 4 datagrams refused by ICMP"
    grep -q ' 200$' <<<"$out" || die "the GET to the real server failed"
    dump "$CAP_FILE" | awk -v NAME=svc -v VIP="$VIP" -v S="$IP_S" -v R="$IP_RC" -v R6="fd88:1::1" '
        / ICMP .* tcp port 80 unreachable/ { if ($3 != R) { print "bad ICMP sender " $0 > "/dev/stderr"; bad = 1 } icmp_tcp++ }
        / ICMP .* udp port 8125 unreachable/ { if ($3 == R) icmp_udp_router++; else if ($3 == S) icmp_udp_host++ }
        / ICMP6, destination unreachable, unreachable port/ { if ($3 == R6) icmp6++ }
        / > 10\.88\.1\.2\.[0-9]+: Flags \[R\.\]/ { split($3, a, "."); rst[a[5]]++ }
        END { if (bad) exit 1
              if (icmp_tcp != 2 || icmp_udp_router != 2 || icmp_udp_host != 2 || icmp6 < 1 || rst[30080] != 1 || rst[8081] != 1) {
                  printf "[record] ERROR: svc: ICMP tcp %d, udp router %d, udp host %d, ICMPv6 %d, RST 30080 %d, RST 8081 %d\n", icmp_tcp, icmp_udp_router, icmp_udp_host, icmp6, rst[30080], rst[8081] > "/dev/stderr"; exit 1 }
              print "[record]   verified: 2 SYN + 2 UDP -> ICMP port unreachable from the router, 1 ICMPv6, RST 30080 (router) + 8081 (host), 2 ICMP from the host" > "/dev/stderr" }' ||
        die "svc capture has the wrong shape"
    # TTLs: the router-built RST (30080) arrives with 64, the server's own packets with 63
    tcpdump -nn -v -r "$CAP_FILE" 'src host '"$IP_S"' and tcp' 2>/dev/null | awk '
        /ttl/ { for (i = 1; i <= NF; i++) if ($i == "ttl") { ttl = $(i + 1); sub(/,/, "", ttl) } next }
        { split($1, a, "."); port = a[5]; if (port == 30080 && ttl != 64) bad = 1; if (port != 30080 && ttl != 63) bad = 1; n++ }
        END { if (bad || n < 3) { print "[record] ERROR: svc: TTLs not 64 (router RST) / 63 (server)" > "/dev/stderr"; exit 1 }
              print "[record]   verified: RST :30080 TTL 64, the server'"'"'s packets TTL 63" > "/dev/stderr" }' ||
        die "svc capture: wrong TTLs"
}
