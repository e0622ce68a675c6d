# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# dns-search-expansion.pcap - a pod's ndots:5 search-list walk before the name resolves.
#
# Recorded: `sudo Captures/record.sh dns-search-expansion`, topology "lab"; captured on knf-c0
# in knf-client (`udp port 53`). Shipped capture: Linux >= 6.5, Debian 12 glibc 2.36.
# The client's resolv.conf has `search default.svc.cluster.local svc.cluster.local
# cluster.local` and `options ndots:5`, as a Kubernetes pod's does: a name with fewer than five
# dots is tried with each search suffix first. dnsmasq on 10.77.0.3 is authoritative for
# cluster.local and knetcap.test.
# On the wire: glibc `getent ahosts api.knetcap.test` walks the list (3 NXDOMAIN answers)
# before api.knetcap.test resolves; 8 packets. knetcap names dns.search-expansion.
SCENARIO_TOPOLOGY=lab
SCENARIO_EXPECT="dns.search-expansion"
SCENARIO_FILTER=(udp port 53)

prepare() {
    dnsmasq_start "$NS_S" "$IP_S" dnsmasq-search --local=/cluster.local/ --host-record="$NAME,$NAME_A"
    dpid=$BG
    sleep 1
    {
        printf 'nameserver %s\n' "$IP_S"
        printf 'search default.svc.cluster.local svc.cluster.local cluster.local\n'
        printf 'options ndots:5\n'
    } >"$NETNS_ETC/resolv.conf"
}

traffic() {
    ip netns exec "$NS_C" timeout 10 getent ahosts "$NAME" >/dev/null ||
        die "getent ahosts $NAME failed in the search scenario"
}

verify() {
    stop_pid "$dpid" TERM   # with SIGKILL fallback: a test runner may start us with SIGTERM blocked
    resolver "$IP_S"
    dump "$CAP_FILE" | awk -v NAME=search -v N="$NAME" "$AWK_TCP"'
        / NXDomain / { nx++ }
        / [0-9]+\/[0-9]+\/[0-9]+ A / { ok++ }
        END { if (bad) exit 1
              if (nx < 3) fail("expected 3 NXDOMAIN steps, got " nx)
              if (ok < 1) fail("the name never resolved")
              note(nx " NXDOMAIN answers, then " N " resolves") }' ||
        die "search capture has the wrong shape"
}
