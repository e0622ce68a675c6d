#!/usr/bin/env python3
"""Writes overlay-tunnel frames onto an interface (AF_PACKET), for the overlay-tunnels scenario:
Geneve (Ethernet and IPv4 payloads, one option), IP-in-IP, IPv6-in-IPv4, GRE (plain, and
with a key carrying Ethernet) and IP-in-IP-in-IP, each carrying one DNS query and its answer
and one SYN answered by RST/ACK. The kernel that records the shipped capture has no geneve,
ipip or gre modules, so the frames are built here (RFC 8926, 2003, 4213, 2784/2890 headers;
checksummed IPv4 headers) and sent and captured by the real kernel.

usage: tunnels.py IFACE DST_MAC OUTER_SRC OUTER_DST
"""
import socket, struct, sys, time

ifname, dmac, osrc, odst = sys.argv[1:5]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
smac = s.getsockname()[4]
dmac = bytes.fromhex(dmac.replace(":", ""))
IMAC_C, IMAC_S = bytes.fromhex("0a580af40002"), bytes.fromhex("0a580af40103")

def csum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xFFFF)
    t += t >> 16
    return ~t & 0xFFFF

def ip4(src, dst, proto, payload, ident):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload

def ip6(src, dst, nh, payload):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, 64,
                       socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)) + payload

def udp(sp, dp, payload):
    return struct.pack("!HHHH", sp, dp, 8 + len(payload), 0) + payload

def tcp(sp, dp, seq, ack, flags, win):
    return struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 0x50, flags, win, 0, 0)

def eth(payload, src=None, dst=None, t=0x0800):
    return (dst or dmac) + (src or smac) + struct.pack("!H", t) + payload

def dns(ident, name, answer=None):
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0\0\1\0\1"
    if answer is None:
        return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + q
    return (struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0) + q
            + b"\xc0\x0c\0\1\0\1\0\0\0\x3c\0\4" + socket.inet_aton(answer))

def conversation(i, c, sv, v6=False):
    """One DNS query and answer, one SYN and its RST/ACK, between inner c and sv."""
    port = 41000 + i
    q, a = dns(0x4b00 + i, "api.knetcap.test"), dns(0x4b00 + i, "api.knetcap.test", "10.77.0.80")
    syn = tcp(port + 100, 8081, 1000 * i, 0, 0x02, 64240)
    rst = tcp(8081, port + 100, 0, 1000 * i + 1, 0x14, 0)
    if v6:
        return [ip6(c, sv, 17, udp(port, 53, q)), ip6(sv, c, 17, udp(53, port, a)),
                ip6(c, sv, 6, syn), ip6(sv, c, 6, rst)]
    return [ip4(c, sv, 17, udp(port, 53, q), 100 + i), ip4(sv, c, 17, udp(53, port, a), 200 + i),
            ip4(c, sv, 6, syn, 300 + i), ip4(sv, c, 6, rst, 400 + i)]

C, S = "10.244.0.2", "10.244.1.3"
frames = []
n = 0
def outer(proto, inner, reply, ident):
    a, b = (odst, osrc) if reply else (osrc, odst)
    return eth(ip4(a, b, proto, inner, ident))

for k, pkt in enumerate(conversation(1, C, S)):   # Geneve, Ethernet payload, VNI 7
    reply = k % 2 == 1
    inner = eth(pkt, IMAC_S if reply else IMAC_C, IMAC_C if reply else IMAC_S)
    frames.append(outer(17, udp(51000 + k, 6081, struct.pack("!BBHI", 0, 0, 0x6558, 7 << 8) + inner), reply, 10 + k))
for k, pkt in enumerate(conversation(2, C, S)):   # Geneve, IPv4 payload, VNI 9, one 8-byte option
    reply = k % 2 == 1
    hdr = struct.pack("!BBHI", 2, 0, 0x0800, 9 << 8) + struct.pack("!HBBI", 0x0102, 1, 1, 0xDEADBEEF)
    frames.append(outer(17, udp(52000 + k, 6081, hdr + pkt), reply, 20 + k))
for k, pkt in enumerate(conversation(3, C, S)):   # IP-in-IP (Calico)
    frames.append(outer(4, pkt, k % 2 == 1, 30 + k))
for k, pkt in enumerate(conversation(4, "fd00:244::2", "fd00:244:1::3", v6=True)):   # IPv6 in IPv4
    frames.append(outer(41, pkt, k % 2 == 1, 40 + k))
for k, pkt in enumerate(conversation(5, C, S)):   # GRE, IPv4 payload
    frames.append(outer(47, struct.pack("!HH", 0, 0x0800) + pkt, k % 2 == 1, 50 + k))
for k, pkt in enumerate(conversation(6, C, S)):   # GRE with key 77, Ethernet payload
    reply = k % 2 == 1
    inner = eth(pkt, IMAC_S if reply else IMAC_C, IMAC_C if reply else IMAC_S)
    frames.append(outer(47, struct.pack("!HHI", 0x2000, 0x6558, 77) + inner, reply, 60 + k))
for k, pkt in enumerate(conversation(7, C, S)):   # IP-in-IP-in-IP
    reply = k % 2 == 1
    mid = ip4("10.0.0.2", "10.0.0.1", 4, pkt, 70 + k) if reply else ip4("10.0.0.1", "10.0.0.2", 4, pkt, 70 + k)
    frames.append(outer(4, mid, reply, 80 + k))
for f in frames:
    s.send(f)
    time.sleep(0.002)
print("sent %d frames" % len(frames))
