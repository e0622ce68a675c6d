# shellcheck shell=bash disable=SC2034  # sets variables for record.sh and the scenarios
# Topology "pair": a glibc client and dnsmasq on one veth (sourced by record.sh).
#
#   netns knc-client                          netns knc-dns
#   +----------------------------+   veth     +-----------------------------+
#   | knc-c0  10.53.0.2/24       |<---------->| knc-d0  10.53.0.1/24        |
#   |         fd53::2/64         |            |         fd53::1/64          |
#   | glibc resolver (getent)    |            | dnsmasq :53 (UDP/TCP)       |
#   | /etc/resolv.conf ->        |            |   api.knetcap.test A    10.53.0.80
#   |   nameserver 10.53.0.1     |            |   api.knetcap.test AAAA fd53::80
#   | capture tool on knc-c0     |            |   other *.knetcap.test  NXDOMAIN
#   +----------------------------+            | nftables fault rules (output)|
#                                             +-----------------------------+
#
# The client's resolv.conf is /etc/netns/knc-client/resolv.conf (created here, removed on
# exit). The client resolver is the real glibc one: `getent ahosts NAME` sends the A and AAAA
# queries in parallel (sendmmsg) from ONE UDP socket. IPv6 addresses are configured only so
# that getaddrinfo's AI_ADDRCONFIG still asks for AAAA (no DNS traffic goes over IPv6);
# RA/RS/DAD are disabled to keep the link quiet. Captures use $FILTER (default: udp port 53).
# Optional: ethtool (without it veth TX checksum offload stays on: "bad udp cksum"); tcpdump
# (without it the captures are not verified).

TOPOLOGY_NEEDS=(ip nft dnsmasq getent sysctl)
NS_C=knc-client; NS_S=knc-dns; IF_C=knc-c0; IF_S=knc-d0
IP4_C=10.53.0.2; IP4_S=10.53.0.1; IP6_C=fd53::2; IP6_S=fd53::1
NAME=api.knetcap.test; NAME_A=10.53.0.80; NAME_AAAA=fd53::80
NX_NAME=missing.knetcap.test
NETNS_ETC=/etc/netns/$NS_C
CAPTURE_ON=("$NS_C" "$IF_C")   # where scenarios capture by default
NFT_TABLE=knc_fault
read -r -a FILTER_WORDS <<<"$FILTER"

topology_teardown() { netns_delete "$NS_C" "$NS_S"; netns_etc_remove; }

topology_setup() {
    local ns
    # CPU pinning: with client and server on one CPU, waking dnsmasq for the A query preempts
    # getent inside sendmmsg(), so the A reply lands between the A and AAAA queries - an
    # artifact of both ends sharing a host. With the client and dnsmasq on different CPUs the
    # two queries leave back to back (a few us apart) before any reply, as with a real server.
    PIN_CLIENT=(); PIN_SERVER=()
    if command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then
        PIN_CLIENT=(taskset -c 0); PIN_SERVER=(taskset -c 1)
    else
        log "WARNING: taskset missing or single CPU; the A reply may overtake the AAAA query"
    fi
    command -v ethtool >/dev/null ||
        log "WARNING: ethtool not found; veth TX checksum offload stays on and captured UDP checksums will look bad"
    ip netns add "$NS_C"
    ip netns add "$NS_S"
    for ns in "$NS_C" "$NS_S"; do
        # Applies to interfaces created afterwards: no RS/RA/DAD chatter.
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_ra=0 \
            net.ipv6.conf.default.router_solicitations=0 \
            net.ipv6.conf.default.accept_dad=0
        ip -n "$ns" link set lo up
    done
    ip link add "$IF_C" netns "$NS_C" type veth peer name "$IF_S" netns "$NS_S"
    ip -n "$NS_C" addr add "$IP4_C/24" dev "$IF_C"
    ip -n "$NS_S" addr add "$IP4_S/24" dev "$IF_S"
    ip -n "$NS_C" -6 addr add "$IP6_C/64" dev "$IF_C" nodad
    ip -n "$NS_S" -6 addr add "$IP6_S/64" dev "$IF_S" nodad
    offload_off "$NS_C" "$IF_C"; offload_off "$NS_S" "$IF_S"
    ip -n "$NS_C" link set "$IF_C" up
    ip -n "$NS_S" link set "$IF_S" up

    netns_etc_create
    resolver "$IP4_S"
    dnsmasq_start "$NS_S" "$IP4_S" dnsmasq --log-queries --host-record="$NAME,$NAME_A,$NAME_AAAA"
    DNSMASQ_PID=$BG
    sleep 2   # let link-up chatter (IPv6 MLD reports) pass before capturing
}

# getent ahosts NAME in the client namespace; prints output, returns getent's rc.
lookup() { "${PIN_CLIENT[@]}" ip netns exec "$NS_C" getent ahosts "$1"; }

# Wait for dnsmasq and warm the neighbour caches so no ARP delay shows up in a capture.
# Before dnsmasq binds, the query gets ICMP port-unreachable and getent fails fast, so
# retrying is cheap.
warm_up() {
    local i
    for ((i = 0; i < 50; i++)); do
        kill -0 "$DNSMASQ_PID" 2>/dev/null || die "dnsmasq exited early"
        if lookup "$NAME" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    die "dnsmasq in $NS_S does not answer for $NAME"
}

expect_both_addresses() {  # $1 = getent output
    grep -q "^$NAME_A " <<<"$1" || die "lookup result lacks $NAME_A"
    grep -q "^$NAME_AAAA " <<<"$1" || die "lookup result lacks $NAME_AAAA"
}
