#!/usr/bin/env python3
"""Seed corpora for the fuzz harnesses, extracted from the repository's own inputs.

Reads every capture in Captures/ and Tests/Captures/ (classic pcap and pcapng, standard
library only) and writes, under OUT (default Fuzz/seeds/):

  FuzzDissect/   one file per distinct frame: a link-type selector byte, then the frame
  FuzzDNS/       each DNS message (UDP payload, or a TCP segment's message after its length)
  FuzzHTTP/      each TCP payload that starts an HTTP/1.x message (selector byte first)
  FuzzAnalysis/  windows of up to 200 packets of each capture, in the harness's record form
  FuzzFilter/    every display-filter expression the tests, README and Makefile use
  FuzzWiretap/   every capture file of at most 64 KiB whole, and gzip forms of the pcapng ones
  FuzzFilter.dict  field and protocol names and the language's keywords (libFuzzer -dict)

Nothing here is committed: Fuzz/run.sh makes the seeds afresh before each run. Input formats
are described at the top of each harness (Fuzz/Sources/Fuzz*/Fuzz*.swift).
"""
import hashlib
import os
import re
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "Fuzz", "seeds")

# The harnesses' link-type order (Fuzz/Sources/FuzzSupport/Frames.swift, supportedLinkTypes).
LINK_ORDER = [1, 12, 113, 276, 0, 108, 228, 229, 239, 14, 101]
MAX_PER_CAPTURE = 400  # distinct frames per capture for the per-frame harnesses


def captures():
    found = []
    for base in ("Captures", "Tests/Captures"):
        for dirpath, _, names in os.walk(os.path.join(ROOT, base)):
            for n in sorted(names):
                if n.endswith(".pcap") or n.endswith(".pcapng"):
                    found.append(os.path.join(dirpath, n))
    return sorted(found)


def read_pcap(data):
    """Yields (linktype, seconds, nanoseconds, frame) from a classic pcap."""
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    link = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    off = 24
    while off + 16 <= len(data):
        sec, sub, incl, _orig = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        if incl > len(data) - off:
            break
        ns = sub if nano else sub * 1000
        yield link, sec + ns // 10 ** 9, ns % 10 ** 9, data[off:off + incl]
        off += incl


def read_pcapng(data):
    """Yields (linktype, seconds, nanoseconds, frame) from a pcapng (EPB, SPB and OPB)."""
    off = 0
    e = "<"
    ifaces = []  # (linktype, units per second, offset seconds)
    while off + 12 <= len(data):
        btype = struct.unpack(e + "I", data[off:off + 4])[0]
        if btype == 0x0A0D0D0A:
            bom = data[off + 8:off + 12]
            e = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            ifaces = []
        blen = struct.unpack(e + "I", data[off + 4:off + 8])[0]
        if blen < 12 or off + blen > len(data):
            break
        body = data[off + 8:off + blen - 4]
        if btype == 1 and len(body) >= 8:
            link = struct.unpack(e + "H", body[:2])[0]
            units, toff = 10 ** 6, 0
            o = 8
            while o + 4 <= len(body):
                code, olen = struct.unpack(e + "HH", body[o:o + 4])
                val = body[o + 4:o + 4 + olen]
                if code == 0:
                    break
                if code == 9 and olen >= 1:
                    r = val[0]
                    units = 2 ** (r & 0x7F) if r & 0x80 else 10 ** r
                if code == 14 and olen >= 8:
                    toff = struct.unpack(e + "q", val[:8])[0]
                o += 4 + ((olen + 3) & ~3)
            ifaces.append((link, units, toff))
        elif btype in (6, 2) and len(body) >= 20:
            if btype == 6:
                iface, hi, lo, cap, _orig = struct.unpack(e + "IIIII", body[:20])
                frame = body[20:20 + cap]
            else:
                iface, _drops, hi, lo, cap, _orig = struct.unpack(e + "HHIIII", body[:20])
                frame = body[20:20 + cap]
            if iface < len(ifaces):
                link, units, toff = ifaces[iface]
                t = hi << 32 | lo
                yield link, t // units + toff, (t % units) * 10 ** 9 // units, frame
        elif btype == 3 and len(body) >= 4 and ifaces:
            link = ifaces[0][0]
            yield link, 0, 0, body[4:]
        off += blen


def packets(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        return list(read_pcapng(data))
    return list(read_pcap(data))


def network(link, frame):
    """(ethertype, network-layer bytes) for the link types the seeds need, or None."""
    if link == 1:
        if len(frame) < 14:
            return None
        et, off = struct.unpack(">H", frame[12:14])[0], 14
        while et in (0x8100, 0x88A8) and len(frame) >= off + 4:
            et, off = struct.unpack(">H", frame[off + 2:off + 4])[0], off + 4
        return et, frame[off:]
    if link == 113 and len(frame) >= 16:
        return struct.unpack(">H", frame[14:16])[0], frame[16:]
    if link == 276 and len(frame) >= 20:
        return struct.unpack(">H", frame[0:2])[0], frame[20:]
    if link in (0, 108) and len(frame) >= 4:
        fam = struct.unpack("<I" if link == 0 else ">I", frame[:4])[0]
        return (0x0800 if fam == 2 else 0x86DD), frame[4:]
    if link in (12, 14, 101, 228, 229) and frame:
        return (0x86DD if frame[0] >> 4 == 6 else 0x0800), frame
    return None


def transport(et, net):
    """(protocol, source port, destination port, payload) for TCP and UDP, or None."""
    if et == 0x0800 and len(net) >= 20 and net[0] >> 4 == 4:
        ihl = (net[0] & 0x0F) * 4
        if struct.unpack(">H", net[6:8])[0] & 0x1FFF:
            return None  # not the first fragment
        proto, seg = net[9], net[ihl:struct.unpack(">H", net[2:4])[0] or len(net)]
    elif et == 0x86DD and len(net) >= 40:
        proto, seg = net[6], net[40:]
        while proto in (0, 43, 60) and len(seg) >= 8:  # hop-by-hop, routing, destination options
            proto, seg = seg[0], seg[(seg[1] + 1) * 8:]
    else:
        return None
    if proto == 17 and len(seg) >= 8:
        sp, dp = struct.unpack(">HH", seg[:4])
        return 17, sp, dp, seg[8:]
    if proto == 6 and len(seg) >= 20:
        sp, dp = struct.unpack(">HH", seg[:4])
        return 6, sp, dp, seg[(seg[12] >> 4) * 4:]
    return None


HTTP_STARTS = (b"HTTP/1.", b"GET ", b"HEAD ", b"POST ", b"PUT ", b"DELETE ", b"OPTIONS ", b"CONNECT ",
               b"TRACE ", b"PATCH ")


class Writer:
    def __init__(self, name):
        self.dir = os.path.join(OUT, name)
        os.makedirs(self.dir, exist_ok=True)
        self.seen = set()

    def add(self, data):
        h = hashlib.sha1(data).hexdigest()
        if h in self.seen:
            return False
        self.seen.add(h)
        with open(os.path.join(self.dir, h), "wb") as f:
            f.write(data)
        return True


def record(prev, sec, ns, frame):
    """One FuzzAnalysis record: a time delta when it fits, else the absolute time."""
    d = (sec - prev[0]) * 10 ** 9 + (ns - prev[1]) if prev else -1
    frame = frame[:65535]
    if 0 <= d < (1 << 22) * 1000 and d % 1000 == 0:
        v = d // 1000
        head = bytes([v >> 16, v >> 8 & 0xFF, v & 0xFF])
    elif 0 <= d < (1 << 22) * 10 ** 6 and d // 10 ** 6 * 10 ** 6 == d:
        v = d // 10 ** 6
        head = bytes([0x40 | v >> 16, v >> 8 & 0xFF, v & 0xFF])
    else:
        head = bytes([0x80]) + struct.pack(">QI", sec & (1 << 64) - 1, ns % 10 ** 9)
    return head + struct.pack(">H", len(frame)) + frame


def frame_seeds(caps, dissect, dns, http, analysis):
    for path in caps:
        try:
            pkts = packets(path)
        except (OSError, struct.error):
            continue
        n = 0
        for link, sec, ns, frame in pkts:
            if link not in LINK_ORDER:
                continue
            sel = bytes([LINK_ORDER.index(link)])
            if n < MAX_PER_CAPTURE and dissect.add(sel + frame):
                n += 1
            net = network(link, frame)
            t = transport(*net) if net else None
            if not t:
                continue
            proto, sp, dp, payload = t
            if 53 in (sp, dp) or 5353 in (sp, dp) or 5355 in (sp, dp):
                msg = payload[2:] if proto == 6 else payload
                if len(msg) >= 12:
                    dns.add(msg)
            if proto == 6 and payload.startswith(HTTP_STARTS):
                http.add(bytes([len(payload) % 3]) + payload)
        usable = [p for p in pkts if p[0] in LINK_ORDER]
        if not usable:
            continue
        sel = bytes([LINK_ORDER.index(usable[0][0])])
        for start in range(0, len(usable), 200):
            out, prev = bytearray(sel), None
            for link, sec, ns, frame in usable[start:start + 200]:
                if link != usable[0][0]:
                    continue
                out += record(prev, sec, ns, frame)
                prev = (sec, ns)
                if len(out) > 60000:
                    break
            analysis.add(bytes(out))


SWIFT_STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
FILTER_WORDS = re.compile(r"\b(eth|ip|ipv6|tcp|udp|icmp|icmpv6|dns|http|frame|sll|knetcap)\b|==|!=|contains|matches")


def unescape_swift(s):
    s = re.sub(r"\\u\{([0-9a-fA-F]+)\}", lambda m: chr(int(m.group(1), 16)), s)
    return (s.replace("\\\\", "\x00").replace('\\"', '"').replace("\\t", "\t").replace("\\n", "\n")
            .replace("\\r", "\r").replace("\\0", "\x00\x00").replace("\x00", "\\"))


def filter_seeds(filt):
    sources = []
    for d in ("Tests/KnetcapFilterTests", "Tests/KnetcapCLITests", "Tests/KnetcapReportTests"):
        p = os.path.join(ROOT, d)
        if os.path.isdir(p):
            sources += [os.path.join(p, n) for n in sorted(os.listdir(p)) if n.endswith(".swift")]
    for path in sources:
        with open(path, encoding="utf-8", errors="replace") as f:
            for lit in SWIFT_STRING.findall(f.read()):
                e = unescape_swift(lit)
                if FILTER_WORDS.search(e) and "\\(" not in lit and len(e) < 400:
                    filt.add(e.encode())
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        for m in re.finditer(r"-Y '([^']*)'", f.read()):
            filt.add(m.group(1).encode())


def filter_dict(path):
    names = set()
    fields = os.path.join(ROOT, "Sources/KnetcapDissect/Fields")
    for n in sorted(os.listdir(fields)):
        with open(os.path.join(fields, n), encoding="utf-8") as f:
            names.update(re.findall(r'\.init\("([a-z0-9_.]+)"', f.read()))
    words = sorted(names) + ["==", "!=", "===", "!==", "<=", ">=", "~=", "&&", "||", "and", "or", "not", "in",
                             "contains", "matches", "eq", "ne", "gt", "lt", "ge", "le", "all_eq", "any_ne",
                             "{", "}", "..", "(?-i)", "\\x", "0x", "/24", "::", "ff:ff:ff:ff:ff:ff"]
    with open(path, "w") as f:
        for w in words:
            f.write('"%s"\n' % w.replace("\\", "\\\\").replace('"', '\\"'))


def file_seeds(caps, out):
    """Whole capture files for FuzzWiretap (the reader sees the file as knetcap -r does)."""
    import gzip
    for path in caps:
        with open(path, "rb") as f:
            data = f.read()
        if len(data) <= 65536:
            out.add(data)
            if path.endswith(".pcapng"):
                out.add(gzip.compress(data, mtime=0))


def main():
    writers = {n: Writer(n) for n in ("FuzzDissect", "FuzzDNS", "FuzzHTTP", "FuzzAnalysis", "FuzzFilter", "FuzzWiretap")}
    caps = captures()
    frame_seeds(caps, writers["FuzzDissect"], writers["FuzzDNS"], writers["FuzzHTTP"], writers["FuzzAnalysis"])
    filter_seeds(writers["FuzzFilter"])
    file_seeds(caps, writers["FuzzWiretap"])
    filter_dict(os.path.join(OUT, "FuzzFilter.dict"))
    print("seeds from %d captures: %s" % (len(caps), ", ".join("%s %d" % (n, len(w.seen)) for n, w in writers.items())))


if __name__ == "__main__":
    main()
