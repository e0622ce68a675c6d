# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# overlay-vxlan.pcap - pod traffic as a node's underlay interface sees it: VXLAN (flannel).
#
# Recorded: `sudo Captures/record.sh overlay-vxlan`, topology "lab"; captured on knf-c0 in
# knf-client (`udp port 4789`: only the encapsulated traffic). Shipped capture: Linux >= 6.5.
# knf-client and knf-server get a VXLAN device each (VNI 1, UDP port 4789 as Calico's VXLAN
# mode uses; flannel and Cilium use 8472, which knetcap decodes too) over the lab bridge, with
# "pod" addresses 10.244.0.2 and 10.244.1.3.
# On the wire, every packet inside VXLAN: a DNS lookup (glibc getent; A only, the namespaces
# have no IPv6) answered by dnsmasq on 10.244.1.3, and two connects to 10.244.1.3:8081, where
# nothing listens (RST/ACK); 6 packets.
# knetcap decapsulates and names tcp.rst-unlistened-port (x2) on the inner endpoints, saying
# which tunnel and which node addresses carried them; the DNS lookup is healthy.
SCENARIO_TOPOLOGY=lab
SCENARIO_EXPECT="tcp.rst-unlistened-port"
SCENARIO_FILTER=(udp port 4789)
POD_C=10.244.0.2; POD_S=10.244.1.3

prepare() {
    ip -n "$NS_C" link add knf-vx type vxlan id 1 remote "$IP_S" local "$IP_C" dstport 4789 dev "$IF_C"
    ip -n "$NS_S" link add knf-vx type vxlan id 1 remote "$IP_C" local "$IP_S" dstport 4789 dev "$IF_S"
    ip -n "$NS_C" addr add "$POD_C/16" dev knf-vx; ip -n "$NS_S" addr add "$POD_S/16" dev knf-vx
    ip -n "$NS_C" link set knf-vx up; ip -n "$NS_S" link set knf-vx up
    dnsmasq_start "$NS_S" "$POD_S" dnsmasq-vxlan --host-record="$NAME,$NAME_A,$NAME_AAAA"
    dpid=$BG
    sleep 1
    resolver "$POD_S"
    # resolve the neighbours over the tunnel before the capture starts
    ip netns exec "$NS_C" "${PY[@]}" poke "$POD_S"
}

traffic() {
    ip netns exec "$NS_C" timeout 10 getent ahosts "$NAME" >/dev/null || die "getent over VXLAN failed"
    out=$(ip netns exec "$NS_C" "${PY[@]}" connect "$POD_S" 8081 2 2)
}

verify() {
    stop_pid "$dpid" TERM
    resolver "$IP_S"
    ip -n "$NS_C" link del knf-vx; ip -n "$NS_S" link del knf-vx
    [[ $(grep -c ' refused after ' <<<"$out") == 2 ]] || die "expected 2 refused connects over VXLAN: $out"
    dump "$CAP_FILE" | awk -v NAME=vxlan "$AWK_TCP"'
        / VXLAN, flags \[I\] \(0x08\), vni 1$/ { outer++ }
        / 10\.244\.1\.3\.53 > / { dns++ }
        / Flags \[R\.\]/ { rst++ }
        END { if (bad) exit 1
              if (outer < 6) fail("expected VXLAN packets, got " outer + 0)
              if (dns < 1) fail("no DNS answer inside VXLAN")
              if (rst != 2) fail("expected 2 RST inside VXLAN, got " rst + 0)
              note(outer " VXLAN packets (vni 1, port 4789): DNS answered, 2 connects refused") }' ||
        die "vxlan capture has the wrong shape"
}
