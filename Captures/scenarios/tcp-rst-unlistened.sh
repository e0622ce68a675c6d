# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# tcp-rst-unlistened.pcap - SYNs refused: nothing listens, or the app is on 127.0.0.1 only.
#
# Recorded: `sudo Captures/record.sh tcp-rst-unlistened`, topology "lab"
# (topologies/lab.sh); knetcap's live capture on knf-c0 in knf-client
# (`tcp and host 10.77.0.3`). Shipped capture: Linux >= 6.5, Debian 12.
# On the wire: 2 connects to 10.77.0.3:8081 (nothing listens) and 2 to 10.77.0.3:8080, where
# the app is bound to 127.0.0.1:8080 only (the "health check to the pod IP" case). Each SYN
# is answered by the server kernel with RST/ACK, seq 0, ack = SYN seq + 1; 8 packets. knetcap
# names tcp.rst-unlistened-port (x4). With DIAG_DIR, knetcap's live diagnosis in knf-server
# writes rst-server.json (its findings quote the LISTEN table: the app listens on
# 127.0.0.1:8080 instead).
SCENARIO_TOPOLOGY=lab
SCENARIO_EXPECT="tcp.rst-unlistened-port"
SCENARIO_FILTER=(tcp and host "$IP_S")

prepare() {
    bg_start "$NS_S" app-loopback "${PY[@]}" http 127.0.0.1 8080; pid=$BG
    wait_ready "$pid" app-loopback
    ip netns exec "$NS_S" ss -Htln | sed 's/^/    server ss -tln: /' >&2
    # the app works from inside the pod...
    ip netns exec "$NS_S" curl -sS -m 2 -o /dev/null http://127.0.0.1:8080/ || die "app on 127.0.0.1:8080 not reachable locally"
    start_server_diag rst-server tcp and host "$IP_S"
}

traffic() {
    out=$(ip netns exec "$NS_C" "${PY[@]}" connect "$IP_S" 8081 2 2)
    out+=$'\n'$(ip netns exec "$NS_C" "${PY[@]}" connect "$IP_S" 8080 2 2)
}

verify() {
    stop_server_diag
    bg_stop "$pid"
    sed 's/^/    client: /' <<<"$out" >&2
    [[ $(grep -c ' refused after ' <<<"$out") == 4 ]] || die "expected 4 refused connects"
    dump "$CAP_FILE" | awk -v NAME=rst -v C="$IP_C" -v S="$IP_S" "$AWK_TCP"'
        { parse()
          if (flags == "S") { n_syn++; syn[src] = seq; if (src !~ "^" C "\\.") fail("SYN not from client") }
          else if (flags == "R.") {
              n_rst++; split(src, a, "."); port = a[5]; rp[port]++
              key = dst
              if (!(key in syn)) fail("RST/ACK without SYN: " $0)
              if (ack != syn[key] + 1 && ack != syn[key] + 1 - 4294967296) fail("RST/ACK ack " ack " != SYN seq " syn[key] " + 1")
              if (seq != 0) fail("RST/ACK seq " seq " != 0")
          } else fail("unexpected packet: " $0) }
        END { if (bad) exit 1
              if (NR != 8 || n_syn != 4 || n_rst != 4) fail("expected 4 SYN + 4 RST/ACK, got " NR " packets")
              if (rp[8081] != 2 || rp[8080] != 2) fail("expected 2 RSTs from :8081 and 2 from :8080")
              note("4 SYN -> RST/ACK (ack = SYN seq + 1), 2x :8081 unlistened, 2x :8080 loopback-only") }' ||
        die "rst capture has the wrong shape"
}
