# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# dns-timeout-glibc.pcap - one lost AAAA reply: glibc's 5 s resolver timeout.
#
# Recorded: `sudo Captures/record.sh dns-timeout-glibc`, topology "pair"; captured on knc-c0
# in knc-client (`udp port 53`). Shipped capture: Linux >= 6.5, Debian 12 glibc 2.36.
# Fault: an nftables rule in knc-dns (output hook, `udp sport 53 @th,304,16 0x001c limit rate
# 1/hour burst 1 packets drop`) drops only the first AAAA reply, so it never reaches the wire.
# On the wire: 1 `getent ahosts api.knetcap.test` lookup that takes ~5 s. A? and AAAA? leave
# back to back from one port; the A reply; ~5 s later glibc switches to single-request mode
# and re-sends BOTH queries with their original IDs from the same port, one after the other
# (A?, A reply, AAAA?, AAAA reply); 7 packets. knetcap names dns.conntrack-race.
SCENARIO_TOPOLOGY=pair
SCENARIO_EXPECT="dns.conntrack-race"
SCENARIO_FILTER=("${FILTER_WORDS[@]}")

prepare() {
    local qtype_bit
    warm_up   # refresh neighbour entries; must happen before the fault rule exists
    # Offset of QTYPE from the start of the UDP header: 8 (UDP) + 12 (DNS header) + wire
    # length of the question name (len(name) + 2).
    qtype_bit=$(( (8 + 12 + ${#NAME} + 2) * 8 ))
    # The limit statement matches while its bucket (1 token) lasts, i.e. only for the first
    # AAAA reply; later ones exceed the limit, do not match and pass. Dropped in the server's
    # output hook so the reply never reaches the wire (a drop on the client side would still
    # show up in the capture).
    ip netns exec "$NS_S" nft -f - <<NFT
table inet $NFT_TABLE {
    chain output {
        type filter hook output priority filter; policy accept;
        ip daddr $IP4_C udp sport 53 @th,$qtype_bit,16 0x001c limit rate 1/hour burst 1 packets counter drop
    }
}
NFT
}

traffic() { t0=$(now); out=$(lookup "$NAME"); t1=$(now); }

verify() {
    local dt dropped
    dt=$(elapsed "$t0" "$t1")
    expect_both_addresses "$out"
    log "  getent ahosts $NAME: ok in $dt s"
    dropped=$(nft_counter "$NS_S" inet "$NFT_TABLE")
    ip netns exec "$NS_S" nft delete table inet "$NFT_TABLE"
    [[ $dropped == 1 ]] || die "nft dropped ${dropped:-?} AAAA replies, expected exactly 1"
    awk -v d="$dt" 'BEGIN { exit !(d >= 4.5 && d < 8) }' ||
        die "lookup took $dt s, expected ~5 s (glibc resolver timeout)"
    [[ $HAVE_TCPDUMP == 1 ]] || { log "tcpdump missing: not verifying $CAP_FILE"; return 0; }
    tcpdump -nn -r "$CAP_FILE" udp port 53 2>/dev/null | awk -v NAME=timeout "$AWK_TCP"'
        { sub(/:$/, "", $5); split($3, s, "."); split($5, d, "."); port[NR] = (s[5] == "53") ? d[5] : s[5]
          split($1, hms, ":"); ts[NR] = hms[1] * 3600 + hms[2] * 60 + hms[3]
          id[NR] = $6 + 0; q[NR] = ($0 ~ / A+\? /); aaaa[NR] = ($0 ~ /AAAA/) }
        END {
            if (NR != 7) fail("expected 7 DNS packets, got " NR)
            # sendmmsg puts A? and AAAA? on the wire back to back; when the server answers
            # very fast the A reply can overtake the AAAA? (seen on 1 CPU): accept both orders.
            if (!(q[1] && !aaaa[1])) fail("capture does not start with A?")
            if (q[2] && aaaa[2] && !q[3] && id[3] == id[1]) { a6 = 2 }
            else if (!q[2] && id[2] == id[1] && q[3] && aaaa[3]) { a6 = 3 }
            else fail("packets 2-3 are not AAAA? and the A reply")
            for (i = 2; i <= 7; i++) if (port[i] != port[1]) fail("client port changes")
            if (!(q[4] && id[4] == id[1])) fail("packet 4 is not the re-sent A query")
            if (!(q[6] && id[6] == id[a6] && !q[7] && id[7] == id[a6])) fail("AAAA query not re-sent/answered")
            gap = ts[4] - ts[a6]
            if (gap < 4.5 || gap > 6) fail(sprintf("timeout gap %.6f s", gap))
            note(sprintf("timeout gap (AAAA? -> re-sent A?) %.6f s", gap))
        }' || die "timeout capture has the wrong shape"
}
