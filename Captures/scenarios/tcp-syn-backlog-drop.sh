# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# tcp-syn-backlog-drop.pcap - a full accept queue: the listener drops every SYN.
#
# Recorded: `sudo Captures/record.sh tcp-syn-backlog-drop`, topology "lab"; captured on
# knf-c0 in knf-client (`tcp port 9000`). Shipped capture: Linux >= 6.5, Debian 12.
# Fault: python listens on 10.77.0.3:9000 with listen(1) and never calls accept();
# net.ipv4.tcp_syncookies=0 in knf-server. The client runs with
# net.ipv4.tcp_syn_linear_timeouts=0 for this capture (Linux >= 6.5 otherwise retransmits the
# first 4 SYNs at a fixed 1 s interval).
# On the wire: two handshakes complete (accept queue now full), then 20 parallel connects (8 s
# timeout): the listener drops every SYN (TcpExtListenOverflows and TcpExtListenDrops 0 -> 80
# in knf-server), each client sends its SYN 4 times with the same seq after 1 s, 2 s, 4 s and
# never gets a SYN-ACK; 86 packets. knetcap names tcp.syn-backlog-drop (x20). With DIAG_DIR,
# the live diagnosis in knf-server writes backlog-server.json (quotes ListenOverflows).
SCENARIO_TOPOLOGY=lab
SCENARIO_EXPECT="tcp.syn-backlog-drop"
SCENARIO_FILTER=(tcp port 9000)

nstat_server() { ip netns exec "$NS_S" nstat -az TcpExtListenOverflows TcpExtListenDrops TcpExtTCPReqQFullDrop |
    awk '/^TcpExt/ { printf "%s=%s ", $1, $2 }'; }

prepare() {
    ip netns exec "$NS_S" sysctl -qw net.ipv4.tcp_syncookies=0
    # Linux >= 6.5 retransmits the first tcp_syn_linear_timeouts (default 4) SYNs after a
    # fixed 1 s RTO before it backs off (1,1,1,1,1,2,4 s); set it to 0 in the client for the
    # classic exponential backoff (1 s, 2 s, 4 s).
    linear=""
    if [[ -e /proc/sys/net/ipv4/tcp_syn_linear_timeouts ]]; then
        linear=$(ip netns exec "$NS_C" sysctl -n net.ipv4.tcp_syn_linear_timeouts)
        ip netns exec "$NS_C" sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0
    fi
    bg_start "$NS_S" sink "${PY[@]}" sink "$IP_S" 9000 1; pid=$BG
    wait_ready "$pid" sink
    before=$(nstat_server)
    start_server_diag backlog-server tcp port 9000
}

traffic() {
    # two connections complete: they fill the accept queue (backlog 1 -> 2 entries)
    bg_start "$NS_C" hold "${PY[@]}" hold "$IP_S" 9000 2; hpid=$BG
    wait_ready "$hpid" hold
    sed 's/^/    client: /' "$WORK/hold.log" >&2
    sleep 0.3
    out=$(ip netns exec "$NS_C" "${PY[@]}" burst "$IP_S" 9000 20 8)
    log "  client: $out"
}

verify() {
    local after ovf0 ovf1
    stop_server_diag
    after=$(nstat_server)
    bg_stop "$hpid"; bg_stop "$pid"
    ip netns exec "$NS_S" sysctl -qw net.ipv4.tcp_syncookies=1
    if [[ -n $linear ]]; then ip netns exec "$NS_C" sysctl -qw net.ipv4.tcp_syn_linear_timeouts="$linear"; fi
    log "  server nstat before: $before"
    log "  server nstat after:  $after"
    SUMMARY_EXTRA[$SCENARIO_CAPTURE]="server nstat (knf-server):"$'\n'"  before: $before"$'\n'"  after:  $after"
    ovf0=$(sed -n 's/.*TcpExtListenOverflows=\([0-9]*\).*/\1/p' <<<"$before")
    ovf1=$(sed -n 's/.*TcpExtListenOverflows=\([0-9]*\).*/\1/p' <<<"$after")
    [[ $ovf1 -gt $ovf0 ]] || die "TcpExtListenOverflows did not rise ($ovf0 -> $ovf1)"
    [[ $out == "burst timeout=20" ]] || die "expected all 20 burst connects to time out, got: $out"
    dump "$CAP_FILE" | awk -v NAME=backlog -v C="$IP_C" -v S="$IP_S.9000" "$AWK_TCP"'
        { parse()
          if (flags == "S") {
              if (src in first) { n[src]++; dt = t - last[src]; last[src] = t
                  if (seq != first[src]) fail("retransmitted SYN changed seq: " $0)
                  if (n[src] == 2 && (dt < 0.8 || dt > 1.5)) fail(sprintf("1st retransmission after %.3f s", dt))
                  if (n[src] == 3 && (dt < 1.6 || dt > 2.8)) fail(sprintf("2nd retransmission after %.3f s", dt))
                  if (n[src] == 4 && (dt < 3.2 || dt > 5.5)) fail(sprintf("3rd retransmission after %.3f s", dt)) }
              else { first[src] = seq; last[src] = t; n[src] = 1; order[++ns] = src }
          } else if (flags == "S.") { synack[dst] = 1; if (src != S) fail("SYN-ACK from " src) }
          else if (flags == "." ) { acked[src] = 1 }
          else fail("unexpected packet: " $0) }
        END { if (bad) exit 1
              for (i = 1; i <= ns; i++) { c = order[i]
                  if (c in synack) { if (n[c] != 1 || !(c in acked)) fail("handshake " c " incomplete"); ok++ }
                  else { if (n[c] < 3) fail(c " sent only " n[c] " SYNs"); dropped++; if (n[c] > maxn) maxn = n[c] } }
              if (ok != 2) fail("expected 2 completed handshakes, got " ok + 0)
              if (dropped != 20) fail("expected 20 clients without SYN-ACK, got " dropped + 0)
              note(sprintf("2 handshakes completed to %s; 20 clients sent up to %d identical SYNs (RTO 1 s, 2 s, 4 s), no SYN-ACK", S, maxn)) }' ||
        die "backlog capture has the wrong shape"
}
