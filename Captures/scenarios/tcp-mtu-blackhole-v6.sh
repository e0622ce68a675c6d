# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# tcp-mtu-blackhole-v6.pcap - IPv6: the packet-too-big arrives at the server and is dropped there.
#
# Recorded: `sudo Captures/record.sh tcp-mtu-blackhole-v6`, topology "routed"
# (topologies/routed.sh); knetcap's live capture on kfa-s0 in kfa-server (`tcp port 8080 or
# icmp6`, neighbour discovery aside). Shipped capture: Linux >= 6.5, Debian 12.
# The router's link to the client has MTU 1400; the client announces MSS 1440 (its link: 1500),
# the server sends 1500-byte IPv6 segments (IPv6 routers never fragment, RFC 8200 §5), and the
# router answers each with ICMPv6 packet too big (type 2, MTU 1400, RFC 8201). It reaches the
# server's interface — the capture sees it — but the server's own nftables input hook drops it
# (a host firewall or security group filtering ICMPv6, against RFC 4890), so the server keeps
# re-sending 1500-byte segments until curl gives up after 8 s; the short last segment of the
# 4644-byte body (IP length 432) arrives and is SACKed. knetcap names tcp.mtu-blackhole with
# the path MTU the ICMPv6 announced (1400) and says the ICMP was dropped after the capture point.
SCENARIO_TOPOLOGY=routed
SCENARIO_EXPECT="tcp.mtu-blackhole"
SCENARIO_ON=("$NS_S" "$IF_S")
SCENARIO_FILTER=(tcp port 8080 or "(icmp6 and ip6[40] < 128)")

prepare() {
    ip -n "$NS_R" link set "$IF_RC" mtu 1400
    ip netns exec "$NS_S" nft -f - <<NFT
table ip6 kfa-mtu6 {
    chain input { type filter hook input priority 0; policy accept; icmpv6 type packet-too-big counter drop; }
}
NFT
    ip netns exec "$NS_S" sysctl -qw net.ipv4.tcp_mtu_probing=0
    ip -n "$NS_S" -6 route flush cache
    bg_start "$NS_S" http8080 python3 -u "$CAPTURES/topologies/routed.py" http :: 8080 4644; pid=$BG
    wait_ready "$pid" http8080
}

traffic() { http_get "http://[$IP6_S]:8080/" 8; }

verify() {
    bg_stop "$pid"
    dropped=$(ip netns exec "$NS_S" nft list table ip6 kfa-mtu6 | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
    log "  server dropped $dropped ICMPv6 packet-too-big"
    ip -n "$NS_R" link set "$IF_RC" mtu 1500; ip netns exec "$NS_S" nft delete table ip6 kfa-mtu6
    ip -n "$NS_S" -6 route flush cache
    sed 's/^/    client curl: /' <<<"$out" >&2
    [[ ${dropped:-0} -ge 4 ]] || die "expected the server to drop at least 4 ICMPv6 packet-too-big"
    tcpdump -nn -v -S -r "$CAP_FILE" 2>/dev/null | awk -v S="$IP6_S" '
        / IP6 \(/ { for (i = 1; i <= NF; i++) if ($i == "length:") { len = $(i + 1); sub(/\)/, "", len); len += 40 } }
        / packet too big, mtu 1400/ { ptb++ }
        index($0, S ".8080 >") && / seq [0-9]+:[0-9]+/ { for (i = 1; i <= NF; i++) if ($i == "seq") { s = $(i + 1); sub(/:.*/, "", s) }
            if (len == 1500) big[s]++; else small++ }
        END { for (s in big) if (big[s] > m) m = big[s]
              if (m < 4 || small < 2 || ptb < 4) { printf "[record] ERROR: mtu-v6: most sends of one 1500-byte segment %d, small data segments %d, packet too big %d\n", m, small, ptb > "/dev/stderr"; exit 1 }
              printf "[record]   verified: a 1500-byte segment sent %d times, %d small data segments, %d ICMPv6 packet too big (mtu 1400) at the server\n", m, small, ptb > "/dev/stderr" }' ||
        die "mtu-blackhole-v6 capture has the wrong shape"
}
