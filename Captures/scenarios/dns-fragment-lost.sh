# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# dns-fragment-lost.pcap - an EDNS0 answer fragmented by a small MTU, its tail dropped.
#
# Recorded: `sudo Captures/record.sh dns-fragment-lost`, topology "lab"; captured on knf-c0 in
# knf-client (`udp port 53 or ip[6:2] & 0x1fff != 0`: DNS and every non-first IPv4 fragment).
# Shipped capture: Linux >= 6.5, Debian 12 glibc 2.36.
# The client's resolv.conf has `options edns0` (glibc then offers a 1200-byte UDP buffer);
# dnsmasq on 10.77.0.3 answers big.knetcap.test with 40 A records (~700 bytes); the server's
# link has MTU 600, so its kernel sends the A answer as two IPv4 fragments; the switch
# (netns knf-sw, an nftables bridge rule `ip frag-off & 0x1fff != 0 drop`) drops every
# non-first fragment, as a firewall or overlay that drops fragments does.
# On the wire: glibc `getent ahosts big.knetcap.test` sends A? (no AAAA: the namespace has no
# IPv6 address, AI_ADDRCONFIG); of the A answer only its first fragment arrives (tcpdump:
# `[|domain]`); the client's kernel never completes the datagram, glibc re-sends after 5 s and
# the same happens again; the lookup fails after 10 s; 4 packets. knetcap names
# dns.fragment-lost (the first fragment carries the query's ports and DNS id), not dns.timeout.
SCENARIO_TOPOLOGY=lab
SCENARIO_EXPECT="dns.fragment-lost"
SCENARIO_FILTER=(udp port 53 or "(" "ip[6:2]" "&" 0x1fff "!=" 0 ")")
BIG=big.knetcap.test

prepare() {
    local records=() i
    for i in $(seq 1 40); do records+=(--host-record="$BIG,10.77.1.$i"); done
    dnsmasq_start "$NS_S" "$IP_S" dnsmasq-frag "${records[@]}"
    dpid=$BG
    ip -n "$NS_S" link set "$IF_S" mtu 600
    ip netns exec "$NS_SW" nft -f - <<NFT
table bridge knf_frag {
    chain forward {
        type filter hook forward priority filter; policy accept;
        ether type ip ip frag-off & 0x1fff != 0 counter drop
    }
}
NFT
    sleep 1
    resolver "$IP_S" edns0
}

traffic() {
    t0=$(now)
    out=$(ip netns exec "$NS_C" timeout 30 getent ahosts "$BIG" 2>&1) && die "the lookup succeeded: $out"
    t1=$(now)
}

verify() {
    local dropped dt
    dt=$(elapsed "$t0" "$t1")
    stop_pid "$dpid" TERM
    dropped=$(ip netns exec "$NS_SW" nft list table bridge knf_frag | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
    ip netns exec "$NS_SW" nft delete table bridge knf_frag
    ip -n "$NS_S" link set "$IF_S" mtu 1500
    resolver "$IP_S"
    log "  getent ahosts $BIG failed after $dt s; the switch dropped $dropped fragments"
    [[ ${dropped:-0} -ge 2 ]] || die "expected the switch to drop the tail of each A answer, dropped ${dropped:-0}"
    dump "$CAP_FILE" | awk -v NAME=frag "$AWK_TCP"'
        / A\? / { aq++ }
        /\[\|domain\]/ { heads++ }
        /offset [1-9]/ { tails++ }
        END { if (bad) exit 1
              if (aq < 2) fail("expected the A query twice, got " aq + 0)
              if (tails) fail("a non-first fragment reached the client")
              if (heads < 2) fail("expected the first fragment of each A answer, got " heads + 0)
              note(aq " A queries; " heads + 0 " first fragments of the A answer, no tail") }' ||
        die "fragment capture has the wrong shape"
}
