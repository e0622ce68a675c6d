# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# dns-tcp-fallback-refused.pcap - a truncated (TC=1) DNS answer, and the TCP retry refused.
#
# Recorded: `sudo Captures/record.sh dns-tcp-fallback-refused`, topology "lab"; captured on
# knf-c0 in knf-client (`host 10.77.0.5 and port 53`). Shipped capture: Linux >= 6.5, Debian
# 12 glibc 2.36.
# Fault: a python responder on 10.77.0.5:53/udp answers every query with TC=1 and no records;
# nothing listens on TCP 53 (topologies/lab.py dnstc).
# On the wire: `getent hosts api.knetcap.test` asks AAAA, gets TC=1, retries over TCP and gets
# RST/ACK (ack = SYN seq + 1), then the same for A; the lookup fails (rc 2) within 2 ms;
# 8 packets. knetcap names dns.tcp-fallback-failed (x2). See dns-healthy-tcp for the fix.
SCENARIO_TOPOLOGY=lab
SCENARIO_EXPECT="dns.tcp-fallback-failed"
SCENARIO_FILTER=(host "$IP_DNS_TC" and port 53)
TC_MODE=refused

# The responder: UDP only (refused), or also serving TCP 53 with an A answer (healthy).
prepare() {
    local answer=()
    [[ $TC_MODE == refused ]] || answer=("$NAME_A")
    resolver "$IP_DNS_TC"
    bg_start "$NS_S" "dnstc-$TC_MODE" "${PY[@]}" dnstc "$IP_DNS_TC" "${answer[@]}"; pid=$BG
    wait_ready "$pid" "dnstc-$TC_MODE"
}

traffic() { rc=0; out=$(timeout 20 ip netns exec "$NS_C" getent hosts "$NAME") || rc=$?; }

verify() {
    bg_stop "$pid"
    resolver "$IP_S"
    log "  getent hosts $NAME: rc $rc ${out:+($out)}"
    if [[ $TC_MODE == refused ]]; then
        [[ $rc -eq 2 ]] || die "expected getent to fail (rc 2), got rc $rc"
    else
        [[ $rc -eq 0 && $out == "$NAME_A "* ]] || die "expected $NAME -> $NAME_A over TCP"
    fi
    dump "$CAP_FILE" | awk -v NAME="tcfallback-$TC_MODE" -v MODE="$TC_MODE" -v D="$IP_DNS_TC.53" "$AWK_TCP"'
        { parse()
          if ($0 !~ /Flags \[/) {           # UDP DNS; tcpdump marks TC=1 with "|" after the id
              if (dst == D) { if ($7 !~ /\?$/) fail("not a query: " $0); nq++ }
              else if (src == D) { if ($6 !~ /^[0-9]+[*-]*\|/) fail("UDP answer without TC: " $0); ntc++ }
              else fail("unexpected packet: " $0)
              next }
          if (flags == "S") { if (dst != D) fail("SYN to " dst); nsyn++; syn[src] = seq }
          else if (flags == "R.") { if (src != D) fail("RST from " src)
              if (!(dst in syn)) fail("RST without SYN"); if (ack != syn[dst] + 1 && ack != syn[dst] + 1 - 4294967296) fail("RST/ACK ack != SYN seq + 1"); nrst++ }
          else if (flags == "S.") nsa++
          else if (flags ~ /P/ && src == D) nans++ }
        END { if (bad) exit 1
              if (nq < 1 || ntc < 1) fail("no UDP query / TC=1 answer")
              if (nsyn < 1) fail("no TCP retry to port 53")
              if (MODE == "refused") { if (nrst != nsyn || nsa) fail("TCP retries not all refused"); note(sprintf("%d UDP queries, %d TC=1 answers, %d TCP SYNs to %s each refused by RST/ACK (ack = SYN seq + 1)", nq, ntc, nsyn, D)) }
              else { if (nrst || nsa < 1 || nans < 1) fail("TCP retry did not get an answer"); note(sprintf("%d UDP queries, %d TC=1 answers, TCP retry answered (%d answer segments)", nq, ntc, nans)) } }' ||
        die "tcfallback ($TC_MODE) capture has the wrong shape"
}
