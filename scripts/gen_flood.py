#!/usr/bin/env python3
"""gen_flood.py - deterministic flood captures for knetcap's state bounds (issue 11).

    python3 scripts/gen_flood.py OUT.pcap --kind syn --count 1000000 [--rate 100000]
    python3 scripts/gen_flood.py OUT.pcap --kind dns --count 1000000 [--rate 100000]

--kind syn: COUNT SYNs, each from a distinct source (address 100.64.0.0/10 counting up, port
  1024 + n % 64000), to one server endpoint 10.0.0.80:80; none answered, none retransmitted
  (a spoofed-source flood: the senders keep no state).
--kind dns: COUNT DNS A queries, each a distinct transaction (client address, port, id and
  name q<n>.flood.default.svc.cluster.local), to 10.96.0.10:53; none answered.

--distinct-servers: each packet to its own server address instead (10.128.0.0/9 counting up):
  a scan, or queries to many resolvers, for the bounds of the --stats and --html tables.

Packets are RATE per second of capture time, starting at 1700000000 s; Ethernet, classic pcap
(microseconds). The same arguments give a byte-identical file. Nothing is random.
"""
import argparse
import struct
import sys


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload):
    h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, 64, proto, 0, src, dst))
    struct.pack_into("!H", h, 10, csum(bytes(h)))
    return bytes(h) + payload


ETH = bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0])
SERVER = bytes([10, 0, 0, 80])
DNS_SERVER = bytes([10, 96, 0, 10])


def source(n):
    a = (100 << 24 | 64 << 16) + 1 + n // 16  # 16 ports per address: distinct addresses and ports
    return struct.pack("!I", a), 1024 + n % 64000


DISTINCT = False


def server(n, default):
    return struct.pack("!I", (10 << 24 | 128 << 16) + 1 + n) if DISTINCT else default


def syn(n):
    src, sport = source(n)
    SERVER = server(n, globals()["SERVER"])
    opts = bytes([2, 4, 5, 0xB4, 1, 1, 4, 2])  # MSS 1460, NOP, NOP, SACK permitted
    tcp = bytearray(struct.pack("!HHIIBBHHH", sport, 80, (n * 2654435761) & 0xFFFFFFFF, 0, (28 // 4) << 4, 0x02, 64240, 0, 0) + opts)
    pseudo = src + SERVER + struct.pack("!BBH", 0, 6, len(tcp))
    struct.pack_into("!H", tcp, 16, csum(pseudo + bytes(tcp)))
    return ETH + ipv4(src, SERVER, 6, bytes(tcp))


def dns(n):
    src, sport = source(n)
    DNS_SERVER = server(n, globals()["DNS_SERVER"])
    name = b"".join(bytes([len(l)]) + l for l in [b"q%d" % n, b"flood", b"default", b"svc", b"cluster", b"local"]) + b"\0"
    msg = struct.pack("!HHHHHH", n & 0xFFFF, 0x0100, 1, 0, 0, 0) + name + struct.pack("!HH", 1, 1)
    udp = bytearray(struct.pack("!HHHH", sport, 53, 8 + len(msg), 0) + msg)
    pseudo = src + DNS_SERVER + struct.pack("!BBH", 0, 17, len(udp))
    struct.pack_into("!H", udp, 6, csum(pseudo + bytes(udp)) or 0xFFFF)
    return ETH + ipv4(src, DNS_SERVER, 17, bytes(udp))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--kind", choices=["syn", "dns"], required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--rate", type=float, default=100000.0, help="packets per second of capture time")
    ap.add_argument("--distinct-servers", action="store_true", help="each packet to its own server address")
    a = ap.parse_args()
    global DISTINCT
    DISTINCT = a.distinct_servers
    make = syn if a.kind == "syn" else dns
    step_us = 1e6 / a.rate
    with open(a.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        buf = []
        for n in range(a.count):
            t = int(n * step_us)
            frame = make(n)
            buf.append(struct.pack("<IIII", 1700000000 + t // 1000000, t % 1000000, len(frame), len(frame)) + frame)
            if len(buf) == 65536:
                f.write(b"".join(buf))
                buf = []
        f.write(b"".join(buf))
    return 0


if __name__ == "__main__":
    sys.exit(main())
