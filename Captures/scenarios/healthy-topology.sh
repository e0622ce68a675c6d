# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# healthy-topology.pcap - DNS, HTTP direct and HTTP through a VIP with the hairpin done right.
#
# Recorded: `sudo Captures/record.sh healthy-topology`, topology "lab"; captured on knf-c0 in
# knf-client (`udp port 53 or tcp port 8080 or tcp port 80`). Shipped capture: Linux >= 6.5.
# dnsmasq on 10.77.0.3 (api.knetcap.test, web.knetcap.test -> 192.0.2.10); knf-router DNATs
# the VIP 192.0.2.10:80 to 10.77.0.3:8080 and masquerades hairpinned flows (`ct status dnat
# masquerade`), so replies come back from 192.0.2.10:80.
# On the wire: dnsmasq lookups (`getent ahosts`, curl's A+AAAA), `curl http://10.77.0.3:8080/`
# and `curl http://web.knetcap.test/` through the VIP; 30 packets, no RST. knetcap names no
# fault.
SCENARIO_TOPOLOGY=lab
SCENARIO_EXPECT=""
SCENARIO_FILTER=('(' udp port 53 or tcp port 8080 or tcp port 80 ')')

prepare() {
    local i
    dnsmasq_start "$NS_S" "$IP_S" dnsmasq --host-record="$NAME,$NAME_A,$NAME_AAAA" \
        --host-record="web.knetcap.test,$VIP"
    dpid=$BG
    bg_start "$NS_S" backend "${PY[@]}" http 0.0.0.0 8080; hpid=$BG
    wait_ready "$hpid" backend
    # the hairpin done right: DNAT plus SNAT (masquerade) of hairpinned flows, so the backend
    # replies via the router and the reply is un-NATed.
    nft_router <<NFT
table ip $NFT_TABLE {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        ip daddr $VIP tcp dport 80 counter dnat to $IP_S:8080
    }
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        ip saddr 10.77.0.0/24 ip daddr $IP_S tcp dport 8080 ct status dnat counter masquerade
    }
}
NFT
    for ((i = 0; i < 50; i++)); do
        ip netns exec "$NS_C" getent ahosts "$NAME" >/dev/null 2>&1 && break
        sleep 0.1
    done
}

traffic() {
    local i out
    for i in 1 2; do
        out=$(ip netns exec "$NS_C" getent ahosts "$NAME") || die "lookup of $NAME failed"
        grep -q "^$NAME_A " <<<"$out" || die "lookup lacks $NAME_A"
        sleep 0.2
    done
    out=$(ip netns exec "$NS_C" curl -sS -m 3 "http://$IP_S:8080/") || die "curl $IP_S:8080 failed"
    log "  curl http://$IP_S:8080/ -> $out"
    sleep 0.2
    out=$(ip netns exec "$NS_C" getent ahosts web.knetcap.test) || die "lookup of web.knetcap.test failed"
    out=$(ip netns exec "$NS_C" curl -sS -m 3 "http://web.knetcap.test/") || die "curl via VIP failed"
    log "  curl http://web.knetcap.test/ ($VIP) -> $out"
}

verify() {
    bg_stop "$hpid"; stop_pid "$dpid" TERM
    ip netns exec "$NS_R" nft delete table ip "$NFT_TABLE"
    dump "$CAP_FILE" | awk -v NAME=healthy -v V="$VIP.80" -v B="$IP_S.8080" "$AWK_TCP"'
        { parse()
          if ($0 ~ /Flags \[/) {
              if (flags ~ /R/) fail("RST in healthy capture: " $0)
              if (flags == "S") nsyn++
              if (flags == "S.") { nsa++; if (src != V && src != B) fail("SYN-ACK from " src) }
              if (flags ~ /P/) ndata++
          } else if ($0 ~ / [0-9]+\+? [A-Z]+\? /) nq++
          else if ($0 ~ / [0-9]+\*? .*[0-9]+\/[0-9]+\/[0-9]+/) na++ }
        END { if (bad) exit 1
              if (nsyn != 2 || nsa != 2) fail("expected 2 TCP handshakes, got " nsyn "/" nsa)
              if (ndata < 4) fail("expected request + response on both connections")
              if (nq < 5 || na != nq) fail("DNS queries " nq " vs answers " na)
              note(sprintf("%d DNS queries all answered, 2 HTTP connections (direct, via VIP) with data, no RST", nq)) }' ||
        die "healthy capture has the wrong shape"
}
