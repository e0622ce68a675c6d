# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# tcp-accept-overflow-reset.pcap - the accept queue full at the ACK, tcp_abort_on_overflow=1.
#
# Recorded: `sudo Captures/record.sh tcp-accept-overflow-reset`, topology "lab"; captured on
# knf-c0 in knf-client (`tcp port 9001`). Shipped capture: Linux >= 6.5.
# tcp-accept-overflow.sh with net.ipv4.tcp_abort_on_overflow=1 in knf-server: when the
# clients' ACKs find the accept queue full, tcp_check_req goes to embryonic_reset and answers
# with a reset (tcp_v4_send_reset for a segment with ACK: RST without ACK, seq = its ack, i.e.
# the SYN-ACK's seq + 1) and drops the request socket; the request that follows gets the same
# reset (no socket).
# On the wire: SYN, SYN-ACK, ACK, request, then RSTs from the server right after the
# handshake, before it sent anything else; 2 clients. knetcap names tcp.syn-backlog-drop (x2),
# never tcp.rst-unlistened-port (the port answered the SYN).
SCENARIO_TOPOLOGY=lab
SCENARIO_EXPECT="tcp.syn-backlog-drop"
# shellcheck source=Captures/scenarios/tcp-accept-overflow.sh
source "$CAPTURES/scenarios/tcp-accept-overflow.sh"
OVERFLOW_ABORT=1
