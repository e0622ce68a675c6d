#!/usr/bin/env python3
"""Hostile capture timestamps against the built command line (issue 12).

Writes, by hand (struct), captures whose packet times sit at the edges of what a file can
say, and runs knetcap on each with every timestamp style and report form. Each run must end
normally: exit 0 (no --fail-on is given), never a signal (an arithmetic trap is SIGILL).

  hostile-classic.pcap   classic pcap: seconds 0 and 0xFFFFFFFF (2106), a sub-second
                         field of 0xFFFFFFFF (carried into seconds), time going backwards
  hostile-edges.pcapng   pcapng, if_tsresol 10^0 (1 unit = 1 s): 64-bit timestamps
                         0x7FFFFFFFFFFFFFFF (Int64.max s), 0x8000000000000000 (Int64.min s)
                         and 0xFFFFFFFFFFFFFFFF (-1 s), interleaved with sane ones; two
                         unanswered connections in the last seconds before Int64.max
  hostile-offset.pcapng  pcapng, if_tsoffset -2^63 + 10: very negative times, then
                         positive ones, then the largest

The packets are a DNS query and its retransmission (same id and socket), a TCP SYN and its
retransmission, and NXDOMAIN/NOERROR answers, so the DNS and TCP trackers, the search-list
analyser and every finding's evidence and gaps see the extreme times.

usage: Fuzz/hostile-timestamps.py KNETCAP [OUTDIR]
"""
import os
import struct
import subprocess
import sys
import tempfile


def ipv4(proto, payload, src=(10, 0, 0, 1), dst=(10, 0, 0, 2)):
    total = 20 + len(payload)
    return struct.pack(">BBHHHBBH4B4B", 0x45, 0, total, 1, 0x4000, 64, proto, 0, *src, *dst) + payload


def udp(sport, dport, data):
    return struct.pack(">HHHH", sport, dport, 8 + len(data), 0) + data


def tcp(sport, dport, seq, ack, flags):
    return struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 0x50, flags, 65535, 0, 0)


def name(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.split(".")) + b"\0"


def dns(ident, flags, qname, qtype=1, answers=b"", ancount=0):
    return struct.pack(">HHHHHH", ident, flags, 1, ancount, 0, 0) + name(qname) + struct.pack(">HH", qtype, 1) + answers


def frames():
    """The packets, in order (raw IPv4, LINKTYPE_RAW)."""
    q = ipv4(17, udp(40000, 53, dns(0x1234, 0x0100, "api.example.test")))
    nx1 = ipv4(17, udp(53, 40001, dns(0x2001, 0x8183, "web.default.svc.cluster.local")), (10, 0, 0, 2), (10, 0, 0, 1))
    nx2 = ipv4(17, udp(53, 40001, dns(0x2002, 0x8183, "web.svc.cluster.local")), (10, 0, 0, 2), (10, 0, 0, 1))
    ok = ipv4(17, udp(53, 40001, dns(0x2003, 0x8180, "web", answers=b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\x00\x00\x05",
                                     ancount=1)), (10, 0, 0, 2), (10, 0, 0, 1))
    qnx1 = ipv4(17, udp(40001, 53, dns(0x2001, 0x0100, "web.default.svc.cluster.local")))
    qnx2 = ipv4(17, udp(40001, 53, dns(0x2002, 0x0100, "web.svc.cluster.local")))
    qok = ipv4(17, udp(40001, 53, dns(0x2003, 0x0100, "web")))
    syn = ipv4(6, tcp(41000, 80, 1000, 0, 0x02))
    return q, syn, qnx1, nx1, qnx2, nx2, qok, ok


def classic(path):
    q, syn, qnx1, nx1, qnx2, nx2, qok, ok = frames()
    times = [(0, 0), (0xFFFFFFFF, 999999), (0, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x7FFFFFFF, 0),
             (0x80000000, 1), (0xFFFFFFFE, 0), (0xFFFFFFFF, 0), (1, 0), (0xFFFFFFFF, 999999)]
    pkts = [q, syn, q, syn, qnx1, nx1, qnx2, nx2, qok, ok]
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))  # LINKTYPE_RAW, microseconds
        for (sec, usec), p in zip(times, pkts):
            f.write(struct.pack("<IIII", sec, usec, len(p), len(p)) + p)


def block(btype, body):
    pad = b"\0" * (-len(body) % 4)
    n = 12 + len(body) + len(pad)
    return struct.pack("<II", btype, n) + body + pad + struct.pack("<I", n)


def option(code, value):
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def shb():
    return block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(tsresol=None, tsoffset=None):
    opts = b""
    if tsresol is not None:
        opts += option(9, bytes([tsresol]))
    if tsoffset is not None:
        opts += option(14, struct.pack("<q", tsoffset))
    if opts:
        opts += option(0, b"")
    return block(1, struct.pack("<HHI", 101, 0, 65535) + opts)


def epb(iface, t, p):
    return block(6, struct.pack("<IIIII", iface, t >> 32, t & 0xFFFFFFFF, len(p), len(p)) + p)


def pcapng_edges(path):
    q, syn, qnx1, nx1, qnx2, nx2, qok, ok = frames()
    times = [0x8000000000000000, 0x7FFFFFFFFFFFFFFF, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000,
             1_700_000_000, 0xFFFFFFFFFFFFFFFF, 0x7FFFFFFFFFFFFFF0, 0x7FFFFFFFFFFFFFF5,
             0x7FFFFFFFFFFFFFFA, 0x7FFFFFFFFFFFFFFF]
    pkts = [q, syn, q, syn, qnx1, nx1, qnx2, nx2, qok, ok]
    # Two more connection attempts, each SYN sent twice in the last seconds before Int64.max:
    # two findings of one kind, so the report prints the group's first and last times.
    syn2, syn3 = ipv4(6, tcp(41001, 80, 7, 0, 0x02)), ipv4(6, tcp(41002, 80, 9, 0, 0x02))
    times += [0x7FFFFFFFFFFFFFFB, 0x7FFFFFFFFFFFFFFB, 0x7FFFFFFFFFFFFFFD, 0x7FFFFFFFFFFFFFFE]
    pkts += [syn2, syn3, syn2, syn3]
    with open(path, "wb") as f:
        f.write(shb() + idb(tsresol=0))
        for t, p in zip(times, pkts):
            f.write(epb(0, t, p))


def pcapng_offset(path):
    q, syn, qnx1, nx1, qnx2, nx2, qok, ok = frames()
    base = -(1 << 63) + 10  # if_tsoffset: seconds = timestamp + offset (64-bit, libpcap)
    sane = (1 << 63) - 10 + 1_700_000_000  # a timestamp that lands on 1700000000 s
    with open(path, "wb") as f:
        f.write(shb() + idb(tsresol=0, tsoffset=base))
        seq = [(0, q), (1, syn), (sane, q), (sane + 1, syn), (2, qnx1), (sane + 2, nx1), (3, qnx2), (4, nx2),
               (5, qok), (0xFFFFFFFFFFFFFFFF, ok)]
        for t, p in seq:
            f.write(epb(0, t, p))


RUNS = [[], ["-q"], ["--json"], ["-tt"], ["-ttt"], ["-tttt"], ["-ttttt"], ["--nano", "--number", "-ttttt"],
        ["-Y", "frame.time_relative > 1 or frame.time_delta < 0 or dns.time > 0"], ["--json", "-Y", "frame.time_epoch > 0"]]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    knetcap = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="knetcap-hostile-")
    os.makedirs(out, exist_ok=True)
    files = []
    for fname, write in (("hostile-classic.pcap", classic), ("hostile-edges.pcapng", pcapng_edges),
                         ("hostile-offset.pcapng", pcapng_offset)):
        path = os.path.join(out, fname)
        write(path)
        files.append(path)
    env = dict(os.environ, SWIFT_BACKTRACE="enable=no")
    bad = 0
    for path in files:
        for tz in ("UTC", "Asia/Kolkata"):
            # The reports of issue 9: --stats (text and JSON), --html, diff of the file with itself.
            runs = RUNS + [["-q", "--stats", "--color=always"], ["-q", "--json", "--stats"],
                           ["-q", "--html", os.path.join(out, "report.html")], ["diff-with-itself"]]
            for args in runs:
                if args == ["diff-with-itself"]:
                    r = subprocess.run([knetcap, "diff", path, path], capture_output=True, env=dict(env, TZ=tz))
                    args = ["(diff %s %s)" % (path, path)]
                else:
                    r = subprocess.run([knetcap, "-r", path] + args, capture_output=True, env=dict(env, TZ=tz))
                if r.returncode != 0:
                    bad += 1
                    why = "signal %d" % -r.returncode if r.returncode < 0 else "exit %d" % r.returncode
                    print("FAIL %s TZ=%s %s: %s\n%s" % (os.path.basename(path), tz, " ".join(args), why,
                                                        r.stderr.decode(errors="replace")[-600:]))
    print("hostile timestamps: %d runs, %d failed (%s)" % (len(files) * 2 * (len(RUNS) + 4), bad, out))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
