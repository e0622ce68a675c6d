# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# dns-timeout-single.pcap - one lost A reply with `options single-request`: a plain timeout.
#
# Recorded: `sudo Captures/record.sh dns-timeout-single`, topology "pair"; captured on knc-c0
# in knc-client (`udp port 53`). Shipped capture: Linux >= 6.5, Debian 12 glibc 2.36.
# The client's resolv.conf has `options single-request`: glibc sends A, waits for its answer,
# then AAAA, from one socket. An nftables rule in knc-dns (output hook, `udp sport 53
# @th,304,16 0x0001 limit rate 1/hour burst 1 packets drop`) drops only the first A reply.
# On the wire: A? with no answer, the same A? re-sent after ~5 s (glibc's timeout) and
# answered, then AAAA? and its answer; 5 packets. No second query was in flight when the A
# reply was lost, so this is not the conntrack race: knetcap names dns.timeout.
SCENARIO_TOPOLOGY=pair
SCENARIO_EXPECT="dns.timeout"
SCENARIO_FILTER=("${FILTER_WORDS[@]}")

prepare() {
    local qtype_bit
    warm_up
    qtype_bit=$(( (8 + 12 + ${#NAME} + 2) * 8 ))
    ip netns exec "$NS_S" nft -f - <<NFT
table inet $NFT_TABLE {
    chain output {
        type filter hook output priority filter; policy accept;
        ip daddr $IP4_C udp sport 53 @th,$qtype_bit,16 0x0001 limit rate 1/hour burst 1 packets counter drop
    }
}
NFT
    resolver "$IP4_S" single-request
}

traffic() { t0=$(now); out=$(lookup "$NAME"); t1=$(now); }

verify() {
    local dt dropped
    dt=$(elapsed "$t0" "$t1")
    resolver "$IP4_S"
    expect_both_addresses "$out"
    dropped=$(nft_counter "$NS_S" inet "$NFT_TABLE")
    ip netns exec "$NS_S" nft delete table inet "$NFT_TABLE"
    [[ $dropped == 1 ]] || die "nft dropped ${dropped:-?} A replies, expected exactly 1"
    awk -v d="$dt" 'BEGIN { exit !(d >= 4.5 && d < 8) }' || die "lookup took $dt s, expected ~5 s"
    dump "$CAP_FILE" | awk -v NAME=single "$AWK_TCP"'
        / A\? / { aq++ } / AAAA\? / { aaaaq++ }
        END { if (bad) exit 1
              if (NR != 5) fail("expected 5 DNS packets, got " NR)
              if (aq != 2 || aaaaq != 1) fail("expected A? twice and AAAA? once, got " aq + 0 ", " aaaaq + 0)
              note("A? lost, re-sent after ~5 s and answered; then AAAA?") }' ||
        die "single-request capture has the wrong shape"
}
