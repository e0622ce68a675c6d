# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# nat-hairpin.pcap - DNAT without SNAT to a backend on the client's own L2 segment.
#
# Recorded: `sudo Captures/record.sh nat-hairpin`, topology "lab"; captured on knf-c0 in
# knf-client (`tcp and (host 192.0.2.10 or host 10.77.0.3)`). Shipped capture: Linux >= 6.5.
# Fault: knf-router DNATs `ip daddr 192.0.2.10 tcp dport 80` to 10.77.0.3:8080 without SNAT;
# the backend shares the client's L2 segment, so its SYN-ACK goes straight to the client.
# On the wire: the SYN-ACK (ack = SYN seq + 1) comes from 10.77.0.3:8080 and is never
# un-NATed. The client kernel has no such connection and answers RST (seq = that ack), then
# retransmits its SYN to the VIP (same seq; kernel default 1 s linear SYN timeouts) until the
# 3.5 s connect timeout; 4 x (SYN, SYN-ACK, RST) = 12 packets. knetcap names
# nat.reply-source-mismatch (with --vip 192.0.2.10: the hairpin).
SCENARIO_TOPOLOGY=lab
SCENARIO_EXPECT="nat.reply-source-mismatch"
SCENARIO_FILTER=(tcp and '(' host "$VIP" or host "$IP_S" ')')

prepare() {
    vip_dnat
    bg_start "$NS_S" backend "${PY[@]}" http 0.0.0.0 8080; pid=$BG
    wait_ready "$pid" backend
}

traffic() { out=$(ip netns exec "$NS_C" "${PY[@]}" connect "$VIP" 80 3.5 1); }

verify() {
    local dnat
    bg_stop "$pid"
    dnat=$(nft_counter "$NS_R" ip "$NFT_TABLE")
    ip netns exec "$NS_R" nft delete table ip "$NFT_TABLE"
    log "  client: $out"
    log "  router: dnat rule matched $dnat packet(s)"
    [[ $out == *" timeout after "* ]] || die "expected the connect to the VIP to time out"
    dump "$CAP_FILE" | awk -v NAME=hairpin -v C="$IP_C" -v V="$VIP.80" -v B="$IP_S.8080" "$AWK_TCP"'
        { parse()
          if (flags == "S") { if (dst != V) fail("SYN not to VIP: " $0)
              if (nsyn++ == 0) { s0 = seq; cport = src } else if (seq != s0 || src != cport) fail("SYN retransmission differs: " $0) }
          else if (flags == "S.") { if (src != B) fail("SYN-ACK not from backend: " $0)
              if (dst != cport) fail("SYN-ACK to " dst)
              if (ack != s0 + 1 && ack != s0 + 1 - 4294967296) fail("SYN-ACK ack " ack " != SYN seq + 1"); nsa++; sa_ack = ack }
          else if (flags == "R") { if (src != cport || dst != B) fail("RST " src " > " dst)
              if (seq != sa_ack) fail("RST seq " seq " != SYN-ACK ack " sa_ack); nr++ }
          else fail("unexpected packet: " $0)
          if ((src ~ "^" V) || (dst != V && dst != cport && dst != B)) fail("packet from VIP / unexpected: " $0) }
        END { if (bad) exit 1
              if (nsyn < 2) fail("SYN not retransmitted")
              if (nsa < 2 || nr < 2) fail("expected a SYN-ACK from the backend and a RST for each SYN")
              note(sprintf("%d SYNs to %s (same seq), %d SYN-ACKs from %s acking seq+1, %d RSTs from the client", nsyn, V, nsa, B, nr)) }' ||
        die "hairpin capture has the wrong shape"
}
