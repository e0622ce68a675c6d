# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# dns-healthy-tcp.pcap - a truncated (TC=1) DNS answer, and the TCP retry answered.
#
# Recorded: `sudo Captures/record.sh dns-healthy-tcp`, topology "lab"; captured on knf-c0 in
# knf-client (`host 10.77.0.5 and port 53`). Shipped capture: Linux >= 6.5, Debian 12 glibc
# 2.36. The same as dns-tcp-fallback-refused, but the responder on 10.77.0.5 also serves TCP 53
# (A -> 10.77.0.80, other types NODATA).
# On the wire: `getent hosts api.knetcap.test`: both TCP retries complete (AAAA NODATA, A
# 10.77.0.80) and the lookup succeeds; 24 packets. knetcap names no fault.
# shellcheck source=Captures/scenarios/dns-tcp-fallback-refused.sh
source "$CAPTURES/scenarios/dns-tcp-fallback-refused.sh"
SCENARIO_TOPOLOGY=lab
SCENARIO_EXPECT=""
TC_MODE=healthy
