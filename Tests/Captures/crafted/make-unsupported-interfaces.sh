#!/bin/sh
# make-unsupported-interfaces.sh - writes unsupported-interfaces.pcapng: a pcapng of four
# interfaces, the first three of link types knetcap does not dissect, made from real captures
# by mergecap alone (no byte written by hand). `mergecap -a` concatenates its inputs in the
# order given, one interface each: D-Bus (2 packets), PPP (1), USER13 (DLT 160, 1), all three
# from tcpdump's tests, then Ethernet, the glibc conntrack race recorded here (7). Frames 1-4
# are read but not diagnosed (exit 9, one line naming the three interfaces); 5-11 diagnosed.
# Run in this folder: `./make-unsupported-interfaces.sh` (mergecap 4.0.17, Debian 12).
set -eu
cd "$(dirname "$0")"
mergecap -a -F pcapng -w unsupported-interfaces.pcapng \
    ../tcpdump-tests/unsupported-link-type-dbus.pcap \
    ../tcpdump-tests/ppp_ip_udp_dns.pcap \
    ../tcpdump-tests/unsupported-link-type-160.pcap \
    ../../../Captures/dns-timeout-glibc.pcap
