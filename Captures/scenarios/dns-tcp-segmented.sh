# shellcheck shell=bash disable=SC2034,SC2154  # sourced by record.sh after its topology
# dns-tcp-segmented.pcap - DNS over TCP written in odd pieces, every query answered.
#
# Recorded: `sudo Captures/record.sh dns-tcp-segmented`, topology "lab"; captured on knf-c0 in
# knf-client (`tcp port 53`). Shipped capture: Linux >= 6.5, dnsmasq 2.90.
# dnsmasq serves knetcap.test on 10.77.0.3 (TCP 53). A python client on one TCP connection
# (TCP_NODELAY, a pause between writes so each write is its own segment) sends four queries
# (RFC 7766 §8 framing): the 2-byte length alone and then the message; a message cut after
# its 10th byte; two whole messages in one write; then reads the four answers.
# On the wire: each piece is its own segment, so a message spans two segments (tshark shows
# it on the second) and one segment carries two messages (tshark shows both). knetcap
# reassembles as tshark does and names no fault.
SCENARIO_TOPOLOGY=lab
SCENARIO_EXPECT=""
SCENARIO_FILTER=(tcp port 53)

client='
import socket, struct, sys, time
def query(ident, qtype):
    name = b"".join(bytes([len(l)]) + l.encode() for l in sys.argv[2].split("."))
    q = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + name + b"\0" + struct.pack("!HH", qtype, 1)
    return struct.pack("!H", len(q)) + q
s = socket.create_connection((sys.argv[1], 53), timeout=5)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
def send(b): s.sendall(b); time.sleep(0.05)
a, b, c, d = query(0x7001, 1), query(0x7002, 28), query(0x7003, 1), query(0x7004, 28)
send(a[:2]); send(a[2:])          # the length prefix alone, then the message
send(b[:12]); send(b[12:])        # cut inside the message (after its 10th byte)
send(c + d)                       # two messages in one segment
got, buf = 0, b""
while got < 4:
    chunk = s.recv(4096)
    if not chunk: break
    buf += chunk
    while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
        n = struct.unpack("!H", buf[:2])[0]; buf = buf[2 + n:]; got += 1
print("answers", got)
s.close()
'

prepare() {
    dnsmasq_start "$NS_S" "$IP_S" dnsmasq-tcpseg --host-record="$NAME,$NAME_A,$NAME_AAAA"
    dpid=$BG
    sleep 1
}

traffic() { out=$(timeout 20 ip netns exec "$NS_C" python3 -c "$client" "$IP_S" "$NAME"); }

verify() {
    stop_pid "$dpid" TERM
    log "  client: $out"
    [[ $out == "answers 4" ]] || die "expected four answers over TCP, got: $out"
    # tshark reassembles: four queries and four answers, the two-message segment shown twice.
    local n
    n=$(tshark -r "$CAP_FILE" -Y dns -T fields -e dns.id 2>/dev/null | tr ',' '\n' | grep -c . || true)
    [[ $n -eq 8 ]] || die "tshark sees $n DNS messages, expected 8"
    tshark -r "$CAP_FILE" -Y dns -T fields -e dns.id 2>/dev/null | grep -q ',' || die "no segment with two DNS messages"
}
