# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# nat-hairpin-bridge.pcap - the hairpin of nat-hairpin.pcap seen on the bridge: SYN and its DNAT.
#
# Recorded: `sudo Captures/record.sh nat-hairpin-bridge`, topology "lab"; captured on knf-br0
# in knf-sw, the L2 bridge itself (`tcp and (host 192.0.2.10 or host 10.77.0.3)`), with the
# bridge's MAC ageing at 0 so every frame is flooded and the capture (promiscuous) sees the
# frames of all ports, as a node's cni0 does. Shipped capture: Linux >= 6.5.
# Fault: the one of nat-hairpin.sh: knf-router DNATs 192.0.2.10:80 to 10.77.0.3:8080 without
# SNAT, and the backend on the client's segment answers straight to the client.
# On the wire, per attempt: the client's SYN to 192.0.2.10:80, the same SYN (same seq) from
# knf-router to 10.77.0.3:8080, the SYN-ACK from 10.77.0.3:8080 to the client (never
# un-NATed), the client's RST to 10.77.0.3:8080; 4 attempts in the 3.5 s connect timeout.
# knetcap names nat.reply-source-mismatch (the DNATed copy is the same SYN, not a second
# handshake; the client's RST is never tcp.rst-unlistened-port).
# shellcheck source=Captures/scenarios/nat-hairpin.sh
source "$CAPTURES/scenarios/nat-hairpin.sh"
SCENARIO_TOPOLOGY=lab
SCENARIO_EXPECT="nat.reply-source-mismatch"
SCENARIO_ON=("$NS_SW" "$BR")
eval "hairpin_$(declare -f prepare)"
eval "hairpin_$(declare -f verify)"

prepare() {
    # ageing_time in centiseconds (ip -j prints the kernel's value; the text form is seconds)
    ageing_was=$(ip -n "$NS_SW" -j -d link show "$BR" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["linkinfo"]["info_data"]["ageing_time"])')
    ip -n "$NS_SW" link set "$BR" type bridge ageing_time 0
    hairpin_prepare
}

verify() {
    ip -n "$NS_SW" link set "$BR" type bridge ageing_time "$ageing_was"
    # relearn the ports now, so the next scenario's captures see only their own port's frames
    ip netns exec "$NS_C" "${PY[@]}" poke "$IP_S" "$IP_R"; ip netns exec "$NS_S" "${PY[@]}" poke "$IP_R" "$IP_C"
    ip netns exec "$NS_R" "${PY[@]}" poke "$IP_C" "$IP_S"
    bg_stop "$pid"
    ip netns exec "$NS_R" nft delete table ip "$NFT_TABLE"
    log "  client: $out"
    [[ $out == *" timeout after "* ]] || die "expected the connect to the VIP to time out"
    dump "$CAP_FILE" | awk -v NAME=hairpin-bridge -v V="$VIP.80" -v B="$IP_S.8080" "$AWK_TCP"'
        { parse()
          if (flags == "S" && dst == V) { if (n++ == 0) { s0 = seq; cport = src } else if (seq != s0) fail("SYN retransmission differs"); tovip++ }
          else if (flags == "S" && dst == B) { if (seq != s0 || src != cport) fail("DNATed SYN differs: " $0); tob++ }
          else if (flags == "S.") { if (src != B || dst != cport) fail("SYN-ACK " src " > " dst); nsa++ }
          else if (flags == "R") { if (src != cport || dst != B) fail("RST " src " > " dst); nr++ }
          else fail("unexpected packet: " $0) }
        END { if (bad) exit 1
              if (tovip < 2 || tob != tovip || nsa != tovip || nr != tovip) fail(sprintf("per attempt SYN, DNATed SYN, SYN-ACK, RST: %d %d %d %d", tovip, tob, nsa, nr))
              note(sprintf("%d x (SYN to %s, the same SYN to %s, SYN-ACK from %s, client RST)", tovip, V, B, B)) }' ||
        die "hairpin bridge capture has the wrong shape"
}
unset -f hairpin_verify
