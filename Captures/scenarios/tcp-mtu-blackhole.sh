# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# tcp-mtu-blackhole.pcap - full-size segments vanish on a smaller-MTU link, the ICMP is dropped.
#
# Recorded: `sudo Captures/record.sh tcp-mtu-blackhole`, topology "routed"
# (topologies/routed.sh); knetcap's live capture on kfa-s0 in kfa-server (the sender's side:
# `tcp port 8080 or icmp or icmp6`). Shipped capture: Linux >= 6.5, Debian 12.
# The router's link to the client has MTU 1400 (an overlay's smaller MTU) while both ends
# have 1500: the client announces MSS 1460, the server sends 1500-byte segments with DF, the
# router cannot forward them and its ICMP "fragmentation needed" (3/4, next-hop MTU 1400) is
# dropped by nftables in its output hook (the black hole, RFC 2923 §2.1). The server has
# net.ipv4.tcp_mtu_probing=0 (no RFC 4821 search). On the wire: curl GETs a 11884-byte body
# (headers in their own segment, TCP_NODELAY): the headers (IP length 134) and the last 300
# bytes (352) arrive and are acknowledged (the tail by SACK), the eight 1500-byte segments
# never do; the first is re-sent (once at once on the SACK, then by RTO backoff 0.2, 0.4,
# 0.8 ... s) until curl gives up after 8 s and closes. knetcap names tcp.mtu-blackhole: path
# MTU between 352 and 1499.
SCENARIO_TOPOLOGY=routed
SCENARIO_EXPECT="tcp.mtu-blackhole"
SCENARIO_ON=("$NS_S" "$IF_S")
SCENARIO_FILTER=(tcp port 8080 or icmp or icmp6)

prepare() { mtu_blackhole_start 11884 0; }

traffic() { http_get "http://$IP_S:8080/" 8; }

verify() {
    mtu_blackhole_stop
    sed 's/^/    client curl: /' <<<"$out" >&2
    tcpdump -nn -v -S -r "$CAP_FILE" 2>/dev/null | awk -v S="$IP_S" '
        /length [0-9]+\)$/ { len = $NF; sub(/\)/, "", len); next }
        $1 ~ "^" S "\\.8080$" && / seq [0-9]+:[0-9]+/ { for (i = 1; i <= NF; i++) if ($i == "seq") { s = $(i + 1); sub(/:.*/, "", s) }
            if (len == 1500) big[s]++; else small++ }
        / ICMP / { icmp++ }
        END { for (s in big) if (big[s] > m) m = big[s]
              if (m < 4 || small < 2 || icmp) { printf "[record] ERROR: mtu: most sends of one 1500-byte segment %d, small data segments %d, ICMP %d\n", m, small, icmp > "/dev/stderr"; exit 1 }
              printf "[record]   verified: a 1500-byte segment sent %d times, %d small data segments, no ICMP at the server\n", m, small > "/dev/stderr" }' ||
        die "mtu-blackhole capture has the wrong shape"
}
