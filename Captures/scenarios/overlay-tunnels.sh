# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# overlay-tunnels.pcap - Geneve, IP-in-IP, IPv6-in-IPv4, GRE and nested IP-in-IP frames.
#
# Recorded: `sudo Captures/record.sh overlay-tunnels`, topology "lab"; captured on knf-s0 in
# knf-server (`ip proto 4 or ip proto 41 or ip proto 47 or udp port 6081`). Shipped capture:
# Linux >= 6.5. The recording kernel has no geneve, ipip or gre modules, so the frames are
# built by topologies/tunnels.py (RFC 8926, 2003, 4213, 2784/2890 headers) and written by
# knf-client's kernel onto its veth (AF_PACKET); the capture is the server side of the bridge.
# Between node addresses 10.77.0.2 and 10.77.0.3, seven tunnels (Geneve with an Ethernet
# payload, VNI 7; Geneve with an IPv4 payload and one option, VNI 9; IP-in-IP; IPv6 in IPv4;
# GRE; GRE with key 77 and an Ethernet payload; IP-in-IP-in-IP) each carry one DNS query and
# its answer and one SYN to port 8081 answered by RST/ACK; 28 packets. knetcap decapsulates
# all of them and names tcp.rst-unlistened-port (x7), each carried in its tunnel.
SCENARIO_TOPOLOGY=lab
SCENARIO_EXPECT="tcp.rst-unlistened-port"
SCENARIO_ON=("$NS_S" "$IF_S")
SCENARIO_FILTER=(ip proto 4 or ip proto 41 or ip proto 47 or udp port 6081)

traffic() {
    local mac
    mac=$(ip netns exec "$NS_S" cat "/sys/class/net/$IF_S/address")
    out=$(ip netns exec "$NS_C" python3 "$CAPTURES/topologies/tunnels.py" "$IF_C" "$mac" "$IP_C" "$IP_S")
    log "  client: $out"
    sleep 0.3
}

verify() {
    [[ $out == "sent 28 frames" ]] || die "tunnels.py: $out"
    dump "$CAP_FILE" | awk -v NAME=tunnels "$AWK_TCP"'
        / Geneve, / { geneve++ }
        / GREv0, / { gre++ }
        / A\? api\.knetcap\.test\. / { q++ }
        / Flags \[R\.\]/ { rst++ }
        END { if (bad) exit 1
              if (NR != 28) fail("expected 28 packets, got " NR)
              if (geneve != 8 || gre != 8) fail("expected 8 Geneve and 8 GRE packets, got " geneve + 0 ", " gre + 0)
              if (q != 7 || rst != 7) fail("expected 7 DNS queries and 7 RSTs decoded by tcpdump, got " q + 0 ", " rst + 0)
              note("28 packets in 7 tunnels: 7 DNS queries answered, 7 SYNs refused") }' ||
        die "tunnels capture has the wrong shape"
}
