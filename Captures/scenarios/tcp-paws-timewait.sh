# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# tcp-paws-timewait.pcap - two clients behind one SNAT port, a TSval behind a TIME_WAIT's.
#
# Recorded: `sudo Captures/record.sh tcp-paws-timewait`, topology "lab"; captured on the
# server side, knf-m0 in knf-remote (`tcp port 80`). Shipped capture: Linux >= 6.5.
# knf-client and knf-client2 are behind `snat to 10.78.0.1:40000` (one public port). Client 1
# fetches a page; the server closes first and keeps the 4-tuple in TIME_WAIT with ts_recent =
# client 1's TSval. Client 2's SYN maps to the same public ip:port (conntrack evicts its
# TIME_WAIT entry because the new ISN is ahead: nf_nat_used_tuple_harder) but carries a TSval
# from a different, lower clock (3.6 days behind in the shipped recording). The ISNs are
# pinned with TCP_REPAIR so the eviction always happens, and client 2's source port is chosen
# by probing (probe SYNs dropped before conntrack) so that its TSval is behind client 1's.
# On the wire: the TIME_WAIT socket rejects client 2's SYN by PAWS (TcpExtPAWSTimewait 1) and
# answers with a bare ACK (ack = client 1's FIN + 1); client 2 sends RST (seq = that ack),
# which kills the TIME_WAIT, and its SYN retransmitted ~10 ms later (same seq) is answered with
# a SYN-ACK; 23 packets. This is what modern Linux does: the SYN is not silently dropped (that
# needed tcp_tw_recycle, removed in 4.12). knetcap names no fault (the SYN is answered).
SCENARIO_TOPOLOGY=lab
SCENARIO_EXPECT=""
SCENARIO_ON=("$NS_M" "$IF_M")
SCENARIO_FILTER=(tcp port 80)

prepare() {
    bg_start "$NS_M" remote-http "${PY[@]}" http "$IP_M" 80; pid=$BG
    wait_ready "$pid" remote-http
    nft_router <<NFT
table ip $NFT_TABLE {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "$IF_R1" ip protocol tcp counter snat to $IP_R1:40000
    }
}
table ip knf_probe {
    chain prerouting {
        type filter hook prerouting priority raw; policy accept;
        ip saddr $IP_C2 tcp dport 80 counter drop
    }
}
NFT
}

traffic() {
    local out1 out2 ts1 port2
    out1=$(ip netns exec "$NS_C" "${PY[@]}" pawsget "$IP_M" 80 "$IP_C" 41000 100000000)
    log "  client 1: $out1"
    ts1=${out1##* }
    out2=$(ip netns exec "$NS_C2" "${PY[@]}" tsprobe "$IP_M" 80 "$IP_C2" "$ts1" 41000 41100)
    log "  client 2 probe: $out2"
    port2=$(awk '{print $2}' <<<"$out2")
    ip netns exec "$NS_R" nft delete table ip knf_probe
    sleep 0.2
    out2=$(ip netns exec "$NS_C2" "${PY[@]}" pawsget "$IP_M" 80 "$IP_C2" "$port2" 1100000000)
    log "  client 2: $out2"
}

verify() {
    local paws
    bg_stop "$pid"
    ip netns exec "$NS_R" nft delete table ip "$NFT_TABLE"
    paws=$(ip netns exec "$NS_M" nstat -az TcpExtPAWSTimewait | awk '/^TcpExt/ { print $1 "=" $2 }')
    log "  remote nstat: $paws"
    [[ $paws == TcpExtPAWSTimewait=1 ]] || die "expected exactly one PAWS reject in TIME_WAIT"
    dump "$CAP_FILE" | awk -v NAME=paws -v P="$IP_R1.40000" -v M="$IP_M.80" "$AWK_TCP"'
        { parse()
          if ((src != P || dst != M) && (src != M || dst != P)) fail("unexpected endpoints: " $0)
          if (flags == "S") { nsyn++
              if (nsyn == 2) { s2 = seq; ts2 = tsval; if (!((lastts - ts2 + 4294967296) % 4294967296 < 2147483648 && lastts != ts2)) fail("2nd SYN TSval " ts2 " not behind " lastts); st = "syn2" }
              else if (nsyn == 3) { if (seq != s2) fail("SYN retransmission changed seq"); st = "syn3" } }
          else if (st == "syn2" && src == M) { if (flags != ".") fail("TIME_WAIT answer is not a bare ACK: " $0)
              if (ack == s2 + 1) fail("ACK acks the new SYN"); twack = ack; st = "acked" }
          else if (st == "acked" && src == P) { if (flags != "R" || seq != twack) fail("no RST (seq = ACK ack) from the client: " $0); st = "rst" }
          else if (st == "syn3" && src == M) { if (flags != "S." || ack != s2 + 1) fail("no SYN-ACK for the retransmitted SYN: " $0); st = "done" }
          if (src == P && tsval != "" && nsyn == 1) lastts = tsval }
        END { if (bad) exit 1
              if (nsyn != 3 || st != "done") fail("expected SYN, bare ACK, RST, SYN, SYN-ACK (state " st ")")
              note(sprintf("2nd SYN from %s with TSval %d behind %d: bare ACK (ack %d) from TIME_WAIT, RST, SYN retransmitted, SYN-ACK", P, ts2, lastts, twack)) }' ||
        die "paws capture has the wrong shape"
}
