# shellcheck shell=bash disable=SC2034  # sets variables for record.sh and the scenarios
# Topology "lab": clients, a server, a NAT router and a remote host (sourced by record.sh).
#
#                        netns knf-sw: bridge knf-br0 (plain L2 switch)
#            +------------------+-------------------+------------------+
#            |                  |                   |                  |
#   netns knf-client    netns knf-server     netns knf-router    netns knf-client2
#   knf-c0 10.77.0.2    knf-s0 10.77.0.3     knf-r0 10.77.0.1    knf-k0 10.77.0.4
#   (captures here)     (+10.77.0.5 DNS)     nftables NAT         (paws only)
#   default via .1      default via .1       ip_forward=1               |
#   glibc resolver:                          knf-r1 10.78.0.1 ---- veth ----+
#   /etc/netns/knf-client/resolv.conf                                       |
#                                                           netns knf-remote knf-m0 10.78.0.2
#
#   VIP 192.0.2.10:80 is routed by the client to the router (default route).
#
# No IPv6 on the links (no RS/MLD/DAD chatter), no ICMP redirects. Client and server apps are
# plain python sockets (topologies/lab.py), glibc getent, curl and dnsmasq: every packet comes
# from the real kernel. tcpdump verifies every capture.
#
# SYN retransmission timing: Linux >= 6.5 retransmits the first 4 SYNs at a fixed 1 s
# (net.ipv4.tcp_syn_linear_timeouts=4). The backlog scenario sets it to 0 in knf-client for
# the classic 1 s, 2 s, 4 s backoff; the others keep the kernel default.

TOPOLOGY_NEEDS=(ip nft python3 dnsmasq getent curl nstat sysctl tcpdump timeout)
NS_SW=knf-sw; NS_C=knf-client; NS_S=knf-server; NS_R=knf-router
NS_C2=knf-client2; NS_M=knf-remote
ALL_NS=("$NS_C" "$NS_C2" "$NS_S" "$NS_R" "$NS_M" "$NS_SW")
BR=knf-br0
IF_C=knf-c0; IF_S=knf-s0; IF_R=knf-r0; IF_C2=knf-k0; IF_R1=knf-r1; IF_M=knf-m0
IP_C=10.77.0.2; IP_S=10.77.0.3; IP_R=10.77.0.1; IP_C2=10.77.0.4; IP_DNS_TC=10.77.0.5
IP_R1=10.78.0.1; IP_M=10.78.0.2
VIP=192.0.2.10
NAME=api.knetcap.test; NAME_A=10.77.0.80; NAME_AAAA=fd77::80
NETNS_ETC=/etc/netns/$NS_C
CAPTURE_ON=("$NS_C" "$IF_C")   # where scenarios capture by default
NFT_TABLE=knf_nat
PY=(python3 -u "$CAPTURES/topologies/lab.py")
PIN_SERVER=()

topology_teardown() { netns_delete "${ALL_NS[@]}"; netns_etc_remove; }

veth_into_bridge() {    # $1 = ns, $2 = iface, $3 = addr/prefix
    local port=${2}p
    ip link add "$2" netns "$1" type veth peer name "$port" netns "$NS_SW"
    ip -n "$NS_SW" link set "$port" master "$BR" up
    ip -n "$1" addr add "$3" dev "$2"
    offload_off "$1" "$2"; offload_off "$NS_SW" "$port"
    ip -n "$1" link set "$2" up
}

topology_setup() {
    local ns
    for ns in "${ALL_NS[@]}"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
            net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0 \
            net.ipv4.conf.all.accept_redirects=0 net.ipv4.conf.default.accept_redirects=0
    done
    ip netns exec "$NS_SW" sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null || true
    ip -n "$NS_SW" link add "$BR" type bridge stp_state 0 forward_delay 0
    ip -n "$NS_SW" link set "$BR" up
    veth_into_bridge "$NS_C" "$IF_C" "$IP_C/24"
    veth_into_bridge "$NS_S" "$IF_S" "$IP_S/24"
    veth_into_bridge "$NS_R" "$IF_R" "$IP_R/24"
    veth_into_bridge "$NS_C2" "$IF_C2" "$IP_C2/24"
    ip -n "$NS_S" addr add "$IP_DNS_TC/24" dev "$IF_S"
    ip link add "$IF_R1" netns "$NS_R" type veth peer name "$IF_M" netns "$NS_M"
    ip -n "$NS_R" addr add "$IP_R1/24" dev "$IF_R1"; ip -n "$NS_M" addr add "$IP_M/24" dev "$IF_M"
    offload_off "$NS_R" "$IF_R1"; offload_off "$NS_M" "$IF_M"
    ip -n "$NS_R" link set "$IF_R1" up; ip -n "$NS_M" link set "$IF_M" up
    for ns in "$NS_C" "$NS_S" "$NS_C2"; do ip -n "$ns" route add default via "$IP_R"; done
    ip -n "$NS_M" route add default via "$IP_R1"
    ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1

    netns_etc_create
    resolver "$IP_S"
    # warm ARP caches so no ARP delay shows up in a capture
    # (a UDP datagram to the discard port resolves the neighbour; answer ignored)
    ip netns exec "$NS_C" "${PY[@]}" poke "$IP_S" "$IP_R" "$IP_DNS_TC"
    ip netns exec "$NS_S" "${PY[@]}" poke "$IP_R" "$IP_C"
    ip netns exec "$NS_R" "${PY[@]}" poke "$IP_M"
    sleep 1
}

nft_router() { ip netns exec "$NS_R" nft -f -; }

# DIAG_DIR=dir: also run knetcap's live diagnosis (-q --json) in the server namespace during
# a scenario, so its findings carry what it read there (/proc/net/netstat ListenOverflows,
# the LISTEN table). Used by the test suite (rst and backlog); off by default.
start_server_diag() {  # $1 = name, rest = filter words
    DIAG_PID=""
    [[ -n ${DIAG_DIR:-} && $KNETCAP != *tcpdump* ]] || return 0
    local name=$1; shift
    ip netns exec "$NS_S" "$KNETCAP" -i "$IF_S" -q --json "$@" >"$DIAG_DIR/$name.json" 2>"$DIAG_DIR/$name.err" &
    DIAG_PID=$!
    sleep 1
}
stop_server_diag() {
    [[ -n ${DIAG_PID:-} ]] || return 0
    stop_pid "$DIAG_PID" INT
    DIAG_PID=""
}

# knf-router DNATs the VIP's port 80 to the backend 10.77.0.3:8080 (no SNAT), in $NFT_TABLE.
vip_dnat() {
    nft_router <<NFT
table ip $NFT_TABLE {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        ip daddr $VIP tcp dport 80 counter dnat to $IP_S:8080
    }
}
NFT
}
