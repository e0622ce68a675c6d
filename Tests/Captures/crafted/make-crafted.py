#!/usr/bin/env python3
"""Writes the crafted captures of this folder (Tests/Captures/README.md, "crafted/"):
classic pcap files built byte by byte here, and one pcapng made from them by editcap.
Run from this folder: python3 make-crafted.py (needs editcap, Wireshark 4.0)."""
import struct, subprocess

def pcap(frames):
    out = struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
    for i, f in enumerate(frames):
        out += struct.pack('<IIII', 1700000000 + i, 0, len(f), len(f)) + f
    return out

def checksum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff

def ip_udp(payload):
    udp = struct.pack('!HHHH', 40000, 53, 8 + len(payload), 0) + payload
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    return ip[:10] + struct.pack('!H', checksum(ip)) + ip[12:] + udp

def tags(stack, inner):
    """Each (TPID, VLAN id) of `stack`, outermost first, then the EtherType `inner`."""
    b = struct.pack('!H', stack[0][0])
    for i, (_, vid) in enumerate(stack):
        b += struct.pack('!HH', vid, stack[i + 1][0] if i + 1 < len(stack) else inner)
    return b

def query(labels, qid):
    name = b''.join(bytes([len(l)]) + l for l in labels) + b'\0'
    return struct.pack('!HHHHHH', qid, 0x0100, 1, 0, 0, 0) + name + struct.pack('!HH', 1, 1)

MACS = bytes.fromhex('020000000002') + bytes.fromhex('020000000001')
DNS = query([b'www', b'example', b'com'], 0x1234)

# VLAN tag stacks: 802.1Q twice, 0x9100 then 802.1Q, two 802.1ad then 802.1Q, three 802.1ad,
# 802.1Q around an 802.1ad, one 802.1ad (IPv6 header of zeros after it).
stacks = [[(0x8100, 10), (0x8100, 20)], [(0x9100, 30), (0x8100, 40)], [(0x88a8, 50), (0x88a8, 60), (0x8100, 70)],
          [(0x88a8, 1), (0x88a8, 2), (0x88a8, 3)], [(0x8100, 4), (0x88a8, 5), (0x8100, 6)]]
vlan = [MACS + tags(s, 0x0800) + ip_udp(DNS) for s in stacks] + [MACS + tags([(0x88a8, 7)], 0x86dd) + bytes(40)]
open('vlan-stacks.pcap', 'wb').write(pcap(vlan))

# DNS query names with every kind of byte format_text treats apart: ASCII controls, backslash,
# quotes, space and dot in a label, valid, overlong, cut, surrogate, too large and
# non-printable UTF-8 sequences.
names = [[b'has\ttab', b'example', b'com'], [b'nl\nx', b'cr\ry'], [b'bs\\x', b'q"x', b"s'x"],
         [b'c\x00\x01\x1f\x7f\x07\x08\x0b\x0c', b'sp ace'], [b'hi\xc3\xa9\xff', b'd.ot'],
         [b'a\xc3x'], [b'b\xc0\xafx'], [b'c\xed\xa0\x80x'], [b'd\xf0\x9f\x98\x80x'], [b'e\xf4\x90\x80\x80x'],
         [b'f\x80\x80x'], [b'g\xe2\x82', b'x'], [b'i\xf8\x88\x80\x80\x80x'], [b'j\xe0\x80\xafx'],
         [b'a\xc2\x80x'], [b'b\xc0\x8ax'], [b'c\xe2\x80\x8bx'], [b'd\xef\xbf\xbfx'], [b'e\xf3\xb0\x80\x80x'],
         [b'f\xcd\xb8x'], [b'g\xc2\xa0x'], [b'h\xfex\xffx'], [b'k\xf3\xa0\x80\x81x'],
         [b'l\xfc\x80\x80\x80\x80\xafx'], [b'm\xf0\x90\x8f\xbfx']]
open('dns-name-bytes.pcap', 'wb').write(pcap([MACS + b'\x08\x00' + ip_udp(query(n, 0x100 + i)) for i, n in enumerate(names)]))

# Packet comments with a TAB, a newline, a CR, a backslash and quotes, control bytes.
comments = ['has\ttab', 'line1\nline2', 'cr\rx back\\slash q"x', 'c\x01\x1f\x7f sp', 'tab\tand\nnewline']
args = ['editcap', '-F', 'pcapng']
for i, c in enumerate(comments):
    args += ['-a', '%d:%s' % (i + 1, c)]
subprocess.run(args + ['dns-name-bytes.pcap', 'comments.pcapng'], check=True)

# dns.time of retransmitted queries (tshark's dns.retransmission_timer, 5 s): each id one case.
def dns_at(t, qid, response):
    msg = bytearray(query([b'retry', b'example', b'com'], qid))
    if response: msg[2:4] = b'\x81\x80'
    sport, dport = (53, 40000) if response else (40000, 53)
    udp = struct.pack('!HHHH', sport, dport, 8 + len(msg), 0) + bytes(msg)
    src, dst = (bytes([10, 0, 0, 2]), bytes([10, 0, 0, 1])) if response else (bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, src, dst)
    frame = MACS + b'\x08\x00' + ip[:10] + struct.pack('!H', checksum(ip)) + ip[12:] + udp
    return t, frame

retries = [  # (seconds, id, response)
    (0, 1, 0), (3, 1, 0), (6, 1, 0), (6.1, 1, 1),                   # 6 s after the first: a new query
    (10, 2, 0), (10.5, 2, 1), (11, 2, 0), (11.2, 2, 1),             # asked again after its answer
    (20, 3, 0), (20.1, 3, 1), (20.3, 3, 1),                         # answered twice
    (30, 4, 0), (34.999999, 4, 0), (35.5, 4, 1),                    # just within 5 s: timed from the first
    (40, 5, 0), (45, 5, 0), (45.1, 5, 1),                           # exactly 5 s: a new query
    (50, 6, 0), (54, 6, 0), (58, 6, 0), (58.5, 6, 1),               # 4 s apart, 8 s from the first
]
out = struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
for t, qid, resp in retries:
    ts, f = dns_at(t, qid, resp)
    sec, usec = divmod(round(ts * 1e6), 1000000)
    out += struct.pack('<IIII', 1700000000 + sec, usec, len(f), len(f)) + f
open('dns-retransmissions.pcap', 'wb').write(out)

# records.pcapng, written block by block (pcapng, little-endian): between packets, records that
# are not packets (custom blocks, copiable and not, one with options; systemd journal export
# blocks, with their time), and packet comments that are not valid UTF-8 (a lone continuation
# byte, 0xff, an overlong "/", a cut sequence, a surrogate), beside valid ones; two interfaces,
# the second's comment not valid UTF-8 either.
def block(btype, body):
    body += bytes(-len(body) % 4)
    return struct.pack('<II', btype, 12 + len(body)) + body + struct.pack('<I', 12 + len(body))

def options(opts):
    out = b''
    for code, value in opts:
        out += struct.pack('<HH', code, len(value)) + value + bytes(-len(value) % 4)
    return out + (struct.pack('<HH', 0, 0) if opts else b'')

def epb(ifid, t, frame, comments=()):
    usec = round(t * 1e6) + 1700000000 * 10**6
    return block(6, struct.pack('<IIIII', ifid, usec >> 32, usec & 0xffffffff, len(frame), len(frame)) + frame
                 + bytes(-len(frame) % 4) + options([(1, c) for c in comments]))

def journal(t, message):
    entry = b'__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=1\n_BOOT_ID=0123456789abcdef0123456789abcdef\nMESSAGE=%s\n' % (
        round(t * 1e6) + 1700000000 * 10**6, message)
    return block(9, entry)

frame = MACS + b'\x08\x00' + ip_udp(DNS)
shb = block(0x0A0D0D0A, struct.pack('<IHHq', 0x1A2B3C4D, 1, 0, -1))
idb0 = block(1, struct.pack('<HHI', 1, 0, 65535) + options([(2, b'eth0'), (1, b'ok')]))
idb1 = block(1, struct.pack('<HHI', 1, 0, 65535) + options([(2, b'eth1'), (1, b'if\xff\xfebad')]))
records = [shb, idb0, idb1,
           block(0x00000BAD, struct.pack('<I', 32473) + b'custom before the first packet'),
           epb(0, 0, frame, [b'valid \xc3\xa9']),
           journal(0.5, b'journal entry one'),
           epb(1, 1, frame, [b'lone \x80 continuation']),
           epb(0, 2, frame, [b'ff \xff byte', b'second ok']),
           block(0x40000BAD, struct.pack('<I', 32473) + b'not copiable' + options([(1, b'custom comment')])),
           block(0x00000BAD, struct.pack('<I', 36724) + b'x'),
           epb(0, 3, frame, [b'overlong \xc0\xaf slash']),
           journal(3.5, b'journal entry two'),
           epb(1, 4, frame, [b'cut \xe2\x82', b'surrogate \xed\xa0\x80 x']),
           epb(0, 5, frame),
           block(0x00000BAD, struct.pack('<I', 32473) + b'custom after the last packet'),
           journal(6, b'journal entry three')]
open('records.pcapng', 'wb').write(b''.join(records))

# arp-icmpv6.pcap: ARP requests and replies of every kind packet-arp.c names (a request, a
# reply, a probe from 0.0.0.0, an announcement, gratuitous requests and replies), then an
# ICMPv6 echo request and reply (the protocols' tree lines, `-T fields -e arp -e icmpv6`).
def arp(op, sha, spa, tha, tpa):
    body = struct.pack('!HHBBH', 1, 0x0800, 6, 4, op) + bytes.fromhex(sha) + bytes(spa) + bytes.fromhex(tha) + bytes(tpa)
    return bytes.fromhex('ffffffffffff' + sha) + b'\x08\x06' + body + bytes(18)

def icmpv6(t, src, dst):
    msg = struct.pack('!BBHHH', t, 0, 0, 1, 1) + b'ping'
    ip6 = struct.pack('!IHBB', 0x60000000, len(msg), 58, 64) + bytes.fromhex(src) + bytes.fromhex(dst)
    return MACS + b'\x86\xdd' + ip6 + msg

A, B, Z = '020000000001', '020000000002', '000000000000'
frames = [arp(1, A, [10, 0, 0, 1], Z, [10, 0, 0, 2]), arp(2, B, [10, 0, 0, 2], A, [10, 0, 0, 1]),
          arp(1, A, [0, 0, 0, 0], Z, [10, 0, 0, 3]), arp(1, A, [10, 0, 0, 3], Z, [10, 0, 0, 3]),
          arp(1, A, [10, 0, 0, 4], 'ffffffffffff', [10, 0, 0, 4]), arp(2, A, [10, 0, 0, 5], A, [10, 0, 0, 5]),
          arp(3, A, [10, 0, 0, 1], Z, [10, 0, 0, 2]),
          icmpv6(128, 'fd000000000000000000000000000001', 'fd000000000000000000000000000002'),
          icmpv6(129, 'fd000000000000000000000000000002', 'fd000000000000000000000000000001')]
open('arp-icmpv6.pcap', 'wb').write(pcap(frames))

# icmp-short-quotes.pcap: ICMP and ICMPv6 errors that quote less than a Linux router does
# (icmp-quotes.pcap, recorded, quotes whole datagrams): a TCP header cut after 4, 8, 12, 13,
# 16 and 19 bytes under IPv4 and after 4, 8, 12 and 16 under IPv6 (what tshark shows of each:
# the ports; the sequence number from 8 under IPv4; the fixed header from 16), the 8 bytes of
# a UDP header to port 53 with no DNS after them, and echo requests whose TTL / hop limit ran
# out (the quoted ICMP, `icmp.type` `11,8`).
def ip4(proto, payload, src, dst, total=None, ttl=64, ident=7):
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, total or 20 + len(payload), ident, 0x4000, ttl, proto, 0,
                     bytes(int(x) for x in src.split('.')), bytes(int(x) for x in dst.split('.')))
    return ip[:10] + struct.pack('!H', checksum(ip)) + ip[12:] + payload

def icmp4(t, c, quote):
    m = struct.pack('!BBHI', t, c, 0, 0) + quote
    return m[:2] + struct.pack('!H', checksum(m)) + m[4:]

def ip6(nh, payload, src, dst, plen=None, hlim=64):
    return struct.pack('!IHBB', 0x60000000, len(payload) if plen is None else plen, nh, hlim) + bytes.fromhex(src) + bytes.fromhex(dst) + payload

C6, N6, V6 = 'fd880001000000000000000000000002', 'fd880001000000000000000000000001', 'fd880096000000000000000000000010'
tcp = struct.pack('!HHIIHHHH', 40001, 53, 0x11223344, 0x55667788, 0x5012, 1000, 0, 0)
frames = [MACS + b'\x08\x00' + ip4(1, icmp4(3, 3, ip4(6, tcp[:n], '10.88.1.2', '10.96.0.10', total=40, ident=n)), '10.88.1.1', '10.88.1.2')
          for n in (4, 8, 12, 13, 16, 19)]
frames += [MACS + b'\x86\xdd' + ip6(58, struct.pack('!BBHI', 1, 4, 0, 0) + ip6(6, tcp[:n], C6, V6, plen=20), N6, C6) for n in (4, 8, 12, 16)]
frames += [MACS + b'\x08\x00' + ip4(1, icmp4(3, 3, ip4(17, struct.pack('!HHHH', 40002, 53, 62, 0), '10.88.1.2', '10.96.0.10', total=82)),
                                    '10.88.1.1', '10.88.1.2'),
           MACS + b'\x08\x00' + ip4(1, icmp4(11, 0, ip4(1, struct.pack('!BBHHH', 8, 0, 0, 77, 1) + b'abcdefgh', '10.88.1.2', '10.88.2.2', ttl=1)),
                                    '10.88.1.1', '10.88.1.2'),
           MACS + b'\x86\xdd' + ip6(58, struct.pack('!BBHI', 3, 0, 0, 0) + ip6(58, struct.pack('!BBHHH', 128, 0, 0, 77, 1) + b'abcdefgh', C6, V6, hlim=1),
                                    N6, C6)]
open('icmp-short-quotes.pcap', 'wb').write(pcap(frames))

# linktype-65520.pcapng: one interface of LINKTYPE_ value 65520 (a value no registry assigns,
# for which libwiretap 4.0 has no encapsulation: tshark shows WTAP_ENCAP = 0) and one packet of
# 20 zero bytes on it.
open('linktype-65520.pcapng', 'wb').write(shb + block(1, struct.pack('<HHI', 65520, 0, 65535))
                                          + block(6, struct.pack('<IIIII', 0, 0, 0, 20, 20) + bytes(20)))
