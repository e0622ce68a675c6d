# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# tcp-mtu-controls.pcap - look-alikes of an MTU black hole: ordinary loss, and PMTUD working.
#
# Recorded: `sudo Captures/record.sh tcp-mtu-controls`, topology "routed"
# (topologies/routed.sh); knetcap's live capture on kfa-s0 in kfa-server (`tcp port 8080 or
# icmp or icmp6`). Shipped capture: Linux >= 6.5, Debian 12. Two GETs of a 4644-byte body (3 full segments and 300 bytes):
#   1. loss: all links MTU 1500; the router drops every 4th server segment longer than 1000
#      bytes (nftables `numgen inc mod 4 == 0`: deterministic ordinary loss, as `tc netem
#      loss` would be at random): each lost 1500-byte segment is re-sent at the same size and
#      acknowledged.
#   2. PMTUD: the router's link to the client MTU 1400 and its ICMP "fragmentation needed"
#      let through: the server gets 3/4 (next-hop MTU 1400), lowers its MSS and re-sends the
#      data in 1400-byte segments, acknowledged (RFC 1191).
# knetcap names nothing: big segments were acknowledged at the size first sent (1), or the
# sender learned the path MTU and the smaller re-sent segments got through (2).
SCENARIO_TOPOLOGY=routed
SCENARIO_EXPECT=""
SCENARIO_ON=("$NS_S" "$IF_S")
SCENARIO_FILTER=(tcp port 8080 or icmp or icmp6)
RPY=(python3 -u "$CAPTURES/topologies/routed.py")

prepare() {
    ip netns exec "$NS_S" sysctl -qw net.ipv4.tcp_mtu_probing=0
    ip -n "$NS_S" route flush cache; ip -n "$NS_S" -6 route flush cache
    ip -n "$NS_R" link set "$IF_RC" mtu 1500
    nft_router <<NFT
table ip kfa-loss {
    chain forward { type filter hook forward priority 0; policy accept; ip saddr $IP_S tcp sport 8080 meta length > 1000 numgen inc mod 4 == 0 counter drop; }
}
NFT
    bg_start "$NS_S" http8080 "${RPY[@]}" http 0.0.0.0 8080 4644; pid=$BG
    wait_ready "$pid" http8080
}

traffic() {
    out=$(ip netns exec "$NS_C" curl -sS -m 8 -o /dev/null -w 'loss: %{size_download} bytes, http %{http_code}\n' "http://$IP_S:8080/" 2>&1 || true)
    lost=$(ip netns exec "$NS_R" nft list table ip kfa-loss | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
    ip netns exec "$NS_R" nft delete table ip kfa-loss
    ip -n "$NS_R" link set "$IF_RC" mtu 1400
    sleep 1
    out+=$'\n'$(ip netns exec "$NS_C" curl -sS -m 8 -o /dev/null -w 'pmtud: %{size_download} bytes, http %{http_code}\n' "http://$IP_S:8080/" 2>&1 || true)
    sleep 1
}

verify() {
    bg_stop "$pid"
    ip -n "$NS_R" link set "$IF_RC" mtu 1500
    ip -n "$NS_S" route flush cache
    sed 's/^/    client curl: /' <<<"$out" >&2
    log "  router dropped $lost big segments (loss)"
    [[ $(grep -c '4644 bytes, http 200' <<<"$out") == 2 ]] || die "expected both GETs to complete"
    [[ ${lost:-0} -ge 1 ]] || die "expected the router to drop at least 1 big segment"
    tcpdump -nn -v -S -r "$CAP_FILE" 2>/dev/null | awk -v S="$IP_S" '
        /^[0-9]+:[0-9]+:[0-9.]+ IP / { quoted = 0 }   # a packet of its own (an ICMP quote is indented below it)
        / ICMP / { quoted = 1 }
        quoted && !/ need to frag / { next }
        /length [0-9]+\)$/ { len = $NF; sub(/\)/, "", len); next }
        $1 ~ "^" S "\\.8080$" && / seq [0-9]+:[0-9]+/ { for (i = 1; i <= NF; i++) if ($i == "seq") { s = $(i + 1); sub(/:.*/, "", s) }
            sent[s "/" len]++; if (len == 1400) mid++ }
        / need to frag \(mtu 1400\)/ { icmp++ }
        END { for (k in sent) if (sent[k] > 1 && k ~ /\/1500$/) resent++
              if (resent < 1 || icmp < 1 || mid < 1) { printf "[record] ERROR: controls: 1500-byte segments re-sent at 1500 %d, ICMP frag-needed %d, 1400-byte segments %d\n", resent, icmp, mid > "/dev/stderr"; exit 1 }
              printf "[record]   verified: %d 1500-byte segment(s) lost and re-sent at the same size, %d ICMP frag-needed (mtu 1400), %d 1400-byte segments\n", resent, icmp, mid > "/dev/stderr" }' ||
        die "mtu-controls capture has the wrong shape"
}
