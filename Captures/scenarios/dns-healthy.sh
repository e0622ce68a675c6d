# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# dns-healthy.pcap - healthy glibc lookups, no fault.
#
# Recorded: `sudo Captures/record.sh dns-healthy`, topology "pair" (topologies/pair.sh);
# knetcap's live capture `ip netns exec knc-client knetcap -i knc-c0 -w FILE udp port 53`,
# from before the first query until after the last reply. Shipped capture: Linux >= 6.5,
# Debian 12 glibc 2.36 (the runner's summary prints `uname -r` and the glibc version).
# On the wire: 3 healthy `getent ahosts api.knetcap.test` lookups (A and AAAA sent together
# from one UDP port, both answered in < 1 ms), then 1 lookup of `missing.knetcap.test` (A and
# AAAA both answered NXDOMAIN); 16 packets. knetcap names no fault.
SCENARIO_TOPOLOGY=pair
SCENARIO_EXPECT=""
SCENARIO_FILTER=("${FILTER_WORDS[@]}")

prepare() { warm_up; }

traffic() {
    local i t0 t1 out rc
    for i in 1 2 3; do
        t0=$(now); out=$(lookup "$NAME"); t1=$(now)
        expect_both_addresses "$out"
        log "  getent ahosts $NAME: ok in $(elapsed "$t0" "$t1") s"
        sleep 0.3
    done
    rc=0; lookup "$NX_NAME" >/dev/null || rc=$?
    [[ $rc -eq 2 ]] || die "expected NXDOMAIN (getent rc 2) for $NX_NAME, got rc $rc"
    log "  getent ahosts $NX_NAME: not found (rc 2), as expected"
}
