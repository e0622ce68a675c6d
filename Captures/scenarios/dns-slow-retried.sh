# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# dns-slow-retried.pcap - a slow DNS server whose answer comes after the client's retry.
#
# Recorded: `sudo Captures/record.sh dns-slow-retried`, topology "pair"; captured on knc-c0
# in knc-client (`udp port 53`). Shipped capture: Linux >= 6.5, Debian 12 glibc 2.36.
# The slow responder of dns-slow-answered (python, 10.53.0.3), with delays 5.5 s for the A
# query and 0.3 s for the AAAA; the client's resolv.conf has `options single-request` (glibc
# sends A, waits for its answer, then AAAA, from one socket). glibc gives up waiting after
# RES_TIMEOUT = 5 s and re-sends the A query (same id, same port); the responder does not
# answer the duplicate of a query it is still working on (as dnsmasq and CoreDNS do), and its
# one answer, 5.5 s after the first copy, is the one glibc takes.
# On the wire: A?, the same A? 5 s later, the A answer 0.5 s after that, then AAAA? and its
# answer 0.3 s later; 5 packets. Nothing was lost: the answer was late. knetcap names
# dns.timeout (a retransmission, glibc's 5 s gap), answered only after the retransmission.
# shellcheck source=Captures/scenarios/dns-slow-answered.sh
source "$CAPTURES/scenarios/dns-slow-answered.sh"
SCENARIO_TOPOLOGY=pair
SCENARIO_EXPECT="dns.timeout"
SLOW_DELAYS=(5.5 0.3)
SLOW_OPTIONS=(single-request)
SLOW_LOOKUPS=("$NAME")

verify() {
    local r
    slow_stop
    r=${SLOW_RESULTS[0]}
    [[ $r == *"$NAME_A"* && $r == *"$NAME_AAAA"* ]] || die "lookup result lacks an address: $r"
    grep -q '^duplicate .* qtype 1 ' "$WORK/slow-dns.log" || die "the responder saw no re-sent A query"
    dump "$CAP_FILE" | awk -v NAME=slow-retried -v S="$SLOW_IP.53" "$AWK_TCP"'
        { ts[NR] = $1 + 0; dst = $5; sub(/:$/, "", dst); q[NR] = (dst == S); a[NR] = / A\? /; aaaa[NR] = / AAAA\? /
          id[NR] = $6; sub(/[^0-9].*/, "", id[NR]) }
        END { if (bad) exit 1
              if (NR != 5) fail("expected 5 DNS packets, got " NR)
              if (!(q[1] && a[1] && q[2] && a[2] && id[2] == id[1])) fail("packets 1-2 are not the A query and its re-send")
              if (!(!q[3] && id[3] == id[1] && q[4] && aaaa[4] && !q[5] && id[5] == id[4])) fail("packets 3-5 are not the A answer, AAAA? and its answer")
              g = ts[2] - ts[1]; l = ts[3] - ts[1]
              if (g < 4.5 || g > 5.6) fail(sprintf("re-sent after %.3f s, expected ~5 s", g))
              if (l < 5.5 || l > 5.6) fail(sprintf("A answered after %.3f s, expected 5.5 s", l))
              note(sprintf("A? re-sent after %.3f s, answered %.3f s after the first copy; then AAAA", g, l)) }' ||
        die "slow-retried capture has the wrong shape"
}
