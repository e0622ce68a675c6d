# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# tcp-mtu-probing.pcap - the same black hole, survived by RFC 4821 probing (tcp_mtu_probing=1).
#
# Recorded: `sudo Captures/record.sh tcp-mtu-probing`, topology "routed"
# (topologies/routed.sh); knetcap's live capture on kfa-s0 in kfa-server (the sender's side:
# `tcp port 8080 or icmp or icmp6`). Shipped capture: Linux >= 6.5, Debian 12.
# As tcp-mtu-blackhole.sh (router link MTU 1400, its ICMP fragmentation-needed dropped), but
# the server has net.ipv4.tcp_mtu_probing=1: after repeated retransmission timeouts
# tcp_write_timeout calls tcp_mtu_probing, which lowers the MSS to tcp_base_mss (1024), and
# the data re-sent in 1076-byte segments is acknowledged: the GET completes, seconds late.
# knetcap names tcp.mtu-blackhole (warning: recovered), the re-sent size in its evidence.
SCENARIO_TOPOLOGY=routed
SCENARIO_EXPECT="tcp.mtu-blackhole"
SCENARIO_ON=("$NS_S" "$IF_S")
SCENARIO_FILTER=(tcp port 8080 or icmp or icmp6)

prepare() { mtu_blackhole_start 4644 1; }

traffic() { http_get "http://$IP_S:8080/" 12; }

verify() {
    mtu_blackhole_stop
    sed 's/^/    client curl: /' <<<"$out" >&2
    [[ $out == "4644 bytes, http 200" ]] || die "expected the GET to complete after probing"
    tcpdump -nn -v -S -r "$CAP_FILE" 2>/dev/null | awk -v S="$IP_S" '
        /length [0-9]+\)$/ { len = $NF; sub(/\)/, "", len); next }
        $1 ~ "^" S "\\.8080$" && / seq [0-9]+:[0-9]+/ { for (i = 1; i <= NF; i++) if ($i == "seq") { s = $(i + 1); sub(/:.*/, "", s) }
            if (len == 1500) big[s]++; else if (len == 1076) probed++ }
        END { for (s in big) if (big[s] > m) m = big[s]
              if (m < 4 || probed < 1) { printf "[record] ERROR: probing: most sends of one 1500-byte segment %d, 1076-byte segments %d\n", m, probed > "/dev/stderr"; exit 1 }
              printf "[record]   verified: a 1500-byte segment sent %d times, then %d 1076-byte segments\n", m, probed > "/dev/stderr" }' ||
        die "mtu-probing capture has the wrong shape"
}
