# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# healthy-load.pcap - a healthy control under load, cut at 96 bytes: no finding.
#
# Recorded: `sudo Captures/record.sh healthy-load`, topology "lab"; captured on knf-c0 in
# knf-client with a 96-byte snapshot length (`-s 96 udp port 53 or tcp port 8080`). Shipped
# capture: Linux >= 6.5, glibc 2.36, dnsmasq.
# dnsmasq on 10.77.0.3 serves api.knetcap.test (A 10.77.0.80, AAAA fd77::80); an HTTP/1.1
# server (python http.server, keep-alive) listens on 10.77.0.3:8080.
# On the wire: 128 lookups started at once, every query answered: 64 glibc `getent ahosts` (A
# only: the namespaces have no IPv6 address) and 64 AAAA queries from python sockets; then curl
# fetching 5 URLs over one keep-alive connection (one handshake, 5 requests and answers, then
# FIN). Every frame longer than 96 bytes is cut (DNS answers, HTTP heads): truncated, not
# malformed. knetcap names no fault.
SCENARIO_TOPOLOGY=lab
SCENARIO_EXPECT=""
SCENARIO_FILTER=(-s 96 udp port 53 or tcp port 8080)

prepare() {
    dnsmasq_start "$NS_S" "$IP_S" dnsmasq-load --host-record="$NAME,$NAME_A,$NAME_AAAA" --dns-forward-max=1000
    dpid=$BG
    bg_start "$NS_S" keepalive "${PY[@]}" keepalive "$IP_S" 8080; kpid=$BG
    wait_ready "$kpid" keepalive
    sleep 0.5
}

traffic() {
    local i pids=() failed=0
    ip netns exec "$NS_C" "${PY[@]}" aaaa "$IP_S" "$NAME" 64 >"$WORK/aaaa.out" & pids+=($!)
    for ((i = 0; i < 64; i++)); do
        ip netns exec "$NS_C" getent ahosts "$NAME" >/dev/null & pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || failed=$((failed + 1)); done
    [[ $failed -eq 0 ]] || die "$failed of ${#pids[@]} lookups failed under load"
    [[ $(cat "$WORK/aaaa.out") == "aaaa answered=64" ]] || die "AAAA queries: $(cat "$WORK/aaaa.out")"
    curl_out=$(ip netns exec "$NS_C" curl -sS --max-time 5 "http://$IP_S:8080/"{1,2,3,4,5} 2>&1)
    sleep 0.3
}

verify() {
    stop_pid "$dpid" TERM; bg_stop "$kpid"
    [[ $(grep -c '^hello' <<<"$curl_out") -eq 5 ]] || die "curl did not get 5 answers: $curl_out"
    dump "$CAP_FILE" | awk -v NAME=healthy-load '
        / > [0-9.]+\.53: / { q++ }
        /\.53 > / { a++ }
        / Flags \[S\]/ { syn++ }
        END { if (q < 128) { print "[record] ERROR: " NAME ": only " q + 0 " queries" > "/dev/stderr"; exit 1 }
              if (a != q) { print "[record] ERROR: " NAME ": " q " queries, " a + 0 " answers" > "/dev/stderr"; exit 1 }
              if (syn != 1) { print "[record] ERROR: " NAME ": expected one TCP handshake (keep-alive), got " syn + 0 > "/dev/stderr"; exit 1 }
              print "[record]   verified: " q " DNS queries, " a " answers; one keep-alive connection" > "/dev/stderr" }' ||
        die "healthy-load capture has the wrong shape"
}
