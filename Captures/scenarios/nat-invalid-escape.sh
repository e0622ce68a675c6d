# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# nat-invalid-escape.pcap - a reply conntrack marks INVALID escapes the reverse NAT mid-connection.
#
# Recorded: `sudo Captures/record.sh nat-invalid-escape`, topology "lab"; captured on knf-c0
# in knf-client (`tcp and (host 192.0.2.10 or host 10.77.0.3)`). Shipped capture: Linux >= 6.5.
# Fault: knf-router DNATs `ip daddr 192.0.2.10 tcp dport 80` to 10.77.0.3:8080, and the
# backend routes its replies to the client through knf-router (so they are un-NATed there).
# The backend answers 2 s after the request; knf-router runs with
# net.netfilter.nf_conntrack_tcp_timeout_established=1 and nf_conntrack_tcp_loose=0, so the
# connection's conntrack entry is gone when the answer comes and the mid-stream segment is
# INVALID (nf_conntrack_proto_tcp: no SYN, no pickup): NAT skips it (no ct) and it is
# forwarded with the backend's own address, as a node without `ct state invalid drop` (or
# iptables `--ctstate INVALID -j DROP`) in its forward chain does.
# On the wire: SYN, SYN-ACK, ACK, request to and from 192.0.2.10:80; 2 s later the answer
# (seq, ack in the connection's sequence space) from 10.77.0.3:8080, which the client has no
# socket for: it answers RST (seq = that segment's ack) to 10.77.0.3:8080, which reaches the
# backend directly and resets its connection; the client's request times out and it closes
# (FINs to 192.0.2.10:80, unanswered); 12 packets. knetcap names nat.reply-source-mismatch, not
# tcp.rst-unlistened-port.
SCENARIO_TOPOLOGY=lab
SCENARIO_EXPECT="nat.reply-source-mismatch"
SCENARIO_FILTER=(tcp and '(' host "$VIP" or host "$IP_S" ')')

prepare() {
    vip_dnat
    ct_was=$(ip netns exec "$NS_R" sysctl -n net.netfilter.nf_conntrack_tcp_timeout_established net.netfilter.nf_conntrack_tcp_loose | tr '\n' ' ')
    ip netns exec "$NS_R" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established=1 net.netfilter.nf_conntrack_tcp_loose=0
    ip -n "$NS_S" route add "$IP_C/32" via "$IP_R"
    bg_start "$NS_S" backend "${PY[@]}" slowhttp 0.0.0.0 8080 2.5; pid=$BG
    wait_ready "$pid" backend
}

traffic() {
    out=$(ip netns exec "$NS_C" "${PY[@]}" request "$VIP" 80 1 4.5)
    sleep 0.5
}

verify() {
    local est loose
    bg_stop "$pid"
    read -r est loose <<<"$ct_was"
    ip netns exec "$NS_R" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established="$est" net.netfilter.nf_conntrack_tcp_loose="$loose"
    ip -n "$NS_S" route del "$IP_C/32" via "$IP_R"
    ip netns exec "$NS_R" nft delete table ip "$NFT_TABLE"
    log "  client: $out; backend: $(grep served "$WORK/backend.log" | head -1)"
    [[ $out == "request timeout=1" ]] || die "expected the client to get no answer from the VIP, got: $out"
    dump "$CAP_FILE" | awk -v NAME=escape -v V="$VIP.80" -v B="$IP_S.8080" "$AWK_TCP"'
        { parse()
          if (src == B && flags ~ /P/) { nesc++; eack = ack }
          else if (flags == "R" && dst == B) { if (seq != eack) fail("RST seq " seq " != the escaped segment ack " eack); nr++ }
          else if (src == V && flags == "S.") nsa++
          else if (src == B && flags ~ /S/) fail("SYN-ACK from the backend address: " $0)
          else if (dst == B && flags == "S") fail("a DNATed copy of the SYN on the client port: " $0) }
        END { if (bad) exit 1
              if (nsa != 1) fail("expected one SYN-ACK from the VIP, got " nsa + 0)
              if (nesc < 1 || nr < 1) fail("expected the answer from " B " and the client RST")
              note(sprintf("handshake with %s; %d answer segment(s) from %s, %d client RST(s)", V, nesc, B, nr)) }' ||
        die "escape capture has the wrong shape"
}
