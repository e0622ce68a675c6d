# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# dns-search-timeout.pcap - a pod's ndots:5 search-list walk that ends in a timeout.
#
# Recorded: `sudo Captures/record.sh dns-search-timeout`, topology "lab"; captured on knf-c0
# in knf-client (`udp port 53`). Shipped capture: Linux >= 6.5, Debian 12 glibc 2.36.
# The client's resolv.conf is a Kubernetes pod's (`search default.svc.cluster.local
# svc.cluster.local cluster.local`, `options ndots:5`) with `timeout:1 attempts:2`. dnsmasq on
# 10.77.0.3 is authoritative for cluster.local (NXDOMAIN) and forwards other names to
# 10.77.0.99, which does not exist: those queries are never answered.
# On the wire: glibc `getent ahosts api.example.org` asks for each search suffix (A only: the
# namespaces have no IPv6), 3 NXDOMAIN answers, then for api.example.org itself, never
# answered: re-sent after 1 s, and the lookup fails (res_search stops at the timeout). knetcap names
# dns.search-expansion (the walk, ending in the timeout) and dns.timeout (the unanswered
# query).
SCENARIO_TOPOLOGY=lab
SCENARIO_EXPECT="dns.search-expansion dns.timeout"
SCENARIO_FILTER=(udp port 53)
SEARCH_NAME=api.example.org

prepare() {
    dnsmasq_start "$NS_S" "$IP_S" dnsmasq-search-timeout --local=/cluster.local/ --server=10.77.0.99
    dpid=$BG
    sleep 1
    {
        printf 'nameserver %s\n' "$IP_S"
        printf 'search default.svc.cluster.local svc.cluster.local cluster.local\n'
        printf 'options ndots:5 timeout:1 attempts:2\n'
    } >"$NETNS_ETC/resolv.conf"
}

traffic() {
    if ip netns exec "$NS_C" timeout 10 getent ahosts "$SEARCH_NAME" >/dev/null; then
        die "getent ahosts $SEARCH_NAME resolved in the search-timeout scenario"
    fi
    sleep 0.5
}

verify() {
    stop_pid "$dpid" TERM
    resolver "$IP_S"
    dump "$CAP_FILE" | awk -v NAME=search-timeout -v N="$SEARCH_NAME" '
        / NXDomain / { nx++ }
        $0 ~ (" (A|AAAA)\\? " N "\\. ") { q++ }
        / [0-9]+\/[0-9]+\/[0-9]+ / && !/ NXDomain / { ok++ }
        END { if (nx < 3) { print "[record] ERROR: " NAME ": expected 3 NXDOMAIN answers, got " nx + 0 > "/dev/stderr"; exit 1 }
              if (q < 2) { print "[record] ERROR: " NAME ": expected " N " asked twice, got " q + 0 > "/dev/stderr"; exit 1 }
              if (ok > 0) { print "[record] ERROR: " NAME ": an answer other than NXDOMAIN" > "/dev/stderr"; exit 1 }
              print "[record]   verified: " nx " NXDOMAIN answers, then " q " queries for " N ", none answered" > "/dev/stderr" }' ||
        die "search-timeout capture has the wrong shape"
}
