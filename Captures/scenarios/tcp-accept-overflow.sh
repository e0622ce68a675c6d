# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# tcp-accept-overflow.pcap - the accept queue fills between SYN and ACK: the final ACK dropped.
#
# Recorded: `sudo Captures/record.sh tcp-accept-overflow`, topology "lab"; captured on knf-c0
# in knf-client (`tcp port 9001`). Shipped capture: Linux >= 6.5.
# Fault: python listens on 10.77.0.3:9001 with listen(8) and never calls accept(). Two clients
# connect and send an HTTP request; an nftables rule in knf-server's input hook drops their
# segments after the SYN for the first 0.5 s (standing in for the ACK's flight on a long path:
# the recording kernel has no netem), while 9 connections from knf-client2 fill the accept
# queue (8 + 1); then the rule goes. With net.ipv4.tcp_abort_on_overflow=0 (the default), tcp_check_req finds the
# queue full when the ACK arrives (tcp_v4_syn_recv_sock: sk_acceptq_is_full), counts
# ListenOverflows, marks the request acked and drops the segment: the request socket stays in
# SYN_RECV and the kernel re-sends its SYN-ACK (reqsk timer, 1 s, 2 s, 4 s ...).
# On the wire: SYN, SYN-ACK, ACK and the request (handshake complete on the client), then the
# same SYN-ACK again and again, each answered by the client's ACK, and the request re-sent on
# RTO backoff, never acknowledged (TcpExtListenOverflows rises in knf-server). knetcap names
# tcp.syn-backlog-drop (x2), not tcp.rst-unlistened-port nor tcp.syn-unanswered.
SCENARIO_TOPOLOGY=lab
SCENARIO_EXPECT="tcp.syn-backlog-drop"
SCENARIO_FILTER=(tcp port 9001)
OVERFLOW_ABORT=0
OVERFLOW_PORT=9001

overflow_nstat() { ip netns exec "$NS_S" nstat -az TcpExtListenOverflows | awk '/^TcpExt/ { print $2 }'; }

prepare() {
    abort_was=$(ip netns exec "$NS_S" sysctl -n net.ipv4.tcp_abort_on_overflow)
    ip netns exec "$NS_S" sysctl -qw net.ipv4.tcp_abort_on_overflow="$OVERFLOW_ABORT"
    bg_start "$NS_S" sink "${PY[@]}" sink "$IP_S" "$OVERFLOW_PORT" 8; pid=$BG
    wait_ready "$pid" sink
    ovf_before=$(overflow_nstat)
    ip netns exec "$NS_S" nft -f - <<NFT
table inet kco_hold {
    chain input {
        type filter hook input priority filter; policy accept;
        ip saddr $IP_C tcp dport $OVERFLOW_PORT tcp flags & syn == 0 counter drop
    }
}
NFT
}

traffic() {
    # the clients' SYNs are answered, their ACKs and requests held back while knf-client2
    # fills the accept queue (9 handshakes within milliseconds), then let through
    bg_start "$NS_C" request "${PY[@]}" request "$IP_S" "$OVERFLOW_PORT" 2 7; rpid=$BG
    sleep 0.2
    fill=$(ip netns exec "$NS_C2" "${PY[@]}" burst "$IP_S" "$OVERFLOW_PORT" 9 3)
    log "  client2: $fill"
    sleep 0.3
    ip netns exec "$NS_S" nft delete table inet kco_hold
    wait "$rpid" || true
    out=$(cat "$WORK/request.log")
    log "  client: $out"
}

# The clients' sockets outlive their processes (orphaned in FIN_WAIT1, re-sending the data the
# full queue never took, with backoff): closed here, so that no retransmission of this scenario
# lands in a later scenario's capture on the same topology.
close_client_sockets() {
    local ns i
    for ns in "$NS_C" "$NS_C2"; do
        ip netns exec "$ns" ss -K -tn dst "$IP_S" dport = :"$OVERFLOW_PORT" >/dev/null 2>&1 || true
    done
    for i in $(seq 1 150); do  # without ss -K (no INET_DIAG_DESTROY): the RST of the closed listener ends them
        [[ -z $(ip netns exec "$NS_C" ss -Htn state all dst "$IP_S" dport = :"$OVERFLOW_PORT"; \
                ip netns exec "$NS_C2" ss -Htn state all dst "$IP_S" dport = :"$OVERFLOW_PORT") ]] && return 0
        sleep 0.1
    done
    log "  warning: client sockets to :$OVERFLOW_PORT still open after 15 s"
}

verify() {
    local ovf_after
    ovf_after=$(overflow_nstat)
    bg_stop "$pid"
    close_client_sockets
    ip netns exec "$NS_S" sysctl -qw net.ipv4.tcp_abort_on_overflow="$abort_was"
    log "  server TcpExtListenOverflows: $ovf_before -> $ovf_after"
    SUMMARY_EXTRA[$SCENARIO_CAPTURE]="server TcpExtListenOverflows (knf-server): $ovf_before -> $ovf_after"
    [[ $ovf_after -gt $ovf_before ]] || die "TcpExtListenOverflows did not rise"
    [[ $fill == "burst connected=9" ]] || die "expected 9 connections to fill the queue, got: $fill"
    local want="request timeout=2"; [[ $OVERFLOW_ABORT == 1 ]] && want="request reset=2"
    [[ $out == "$want" ]] || die "expected '$want' from the clients, got: $out"
    dump "$CAP_FILE" | awk -v NAME=overflow -v S="$IP_S.$OVERFLOW_PORT" -v ABORT="$OVERFLOW_ABORT" "$AWK_TCP"'
        { parse(); c = (src == S) ? dst : src
          if (flags == "S") { syn[c]++ }
          else if (!(c in syn)) next   # a client of an earlier scenario on this port
          else if (flags == "S.") { if (src != S) fail("SYN-ACK from " src); synack[c]++; if (synack[c] == 1) sseq[c] = seq; else if (seq != sseq[c]) fail("SYN-ACK changed seq") }
          else if (src == S && flags == "R") { if (seq != sseq[c] + 1) fail("RST seq " seq " is not the SYN-ACK seq + 1"); rst[c]++ }
          else if (src == S) fail("server sent more than SYN-ACK/RST: " $0)
          else if (flags == "." && !(c in acked)) acked[c] = 1 }
        END { if (bad) exit 1
              for (c in syn) { n++
                  if (!(c in acked)) fail(c " never ACKed the SYN-ACK")
                  if (ABORT == 1 && !(c in rst)) fail(c " got no RST")
                  if (ABORT == 0 && synack[c] < 3) fail(c " got its SYN-ACK only " synack[c] " times") }
              if (n != 2) fail("expected 2 clients, got " n + 0)
              note(sprintf("2 clients completed the handshake and sent a request; the server answered only with %s", ABORT == 1 ? "RST (seq = SYN-ACK seq + 1)" : "re-sent SYN-ACKs")) }' ||
        die "overflow capture has the wrong shape"
}
