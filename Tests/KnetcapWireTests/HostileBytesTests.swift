import Testing
import KnetcapWire
#if canImport(Glibc)
import Glibc
#endif

/// Hostile DNS and TCP bytes: compression loops, forward pointers, oversized names, zero-length
/// options. Each must be rejected or bounded, never trap or hang (DESIGN.md, example 2).
@Suite struct HostileBytesTests {
    func withView<R>(_ b: [UInt8], _ body: (ByteView) -> R) -> R {
        b.withUnsafeBytes { body(ByteView($0)) }
    }

    /// A DNS header with one question, then `tail`.
    func dns(_ tail: [UInt8]) -> [UInt8] { [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0] + tail }

    @Test func pointerToItselfIsRejected() {
        // Name at offset 12 is a pointer to offset 12.
        withView(dns([0xc0, 12, 0, 1, 0, 1])) { v in
            let d = try! DNSView(v)
            #expect(d.walkName(at: 12) == nil)
            #expect(d.firstQuestion == nil)
            var t = TextBuffer()
            d.summary(into: &t, length: v.count)
            #expect(t.string == "4660+ [|domain]")
        }
    }

    @Test func forwardPointerIsRejected() {
        withView(dns([0xc0, 14, 3, 0x61, 0x62, 0x63, 0])) { v in
            #expect(try! DNSView(v).walkName(at: 12) == nil)
        }
    }

    @Test func backwardPointerChainEnds() {
        // "abc" at 12, then a pointer at 17 back to 12: valid, ends after the pointer.
        withView(dns([3, 0x61, 0x62, 0x63, 0, 0xc0, 12])) { v in
            let d = try! DNSView(v)
            #expect(d.walkName(at: 17) == 19)
            #expect(d.name(at: 17) == "abc")
        }
    }

    @Test func nameLongerThan255IsRejected() {
        var tail: [UInt8] = []
        for _ in 0..<5 { tail += [63] + [UInt8](repeating: 0x61, count: 63) }
        tail += [0, 0, 1, 0, 1]
        withView(dns(tail)) { v in #expect(try! DNSView(v).walkName(at: 12) == nil) }
    }

    @Test func reservedLabelTypeIsRejected() {
        withView(dns([0x41, 0x61, 0])) { v in #expect(try! DNSView(v).walkName(at: 12) == nil) }
    }

    @Test func labelPastTheEndIsRejected() {
        withView(dns([10, 0x61])) { v in #expect(try! DNSView(v).walkName(at: 12) == nil) }
    }

    @Test func hugeRecordCountsAreBounded() {
        // QDCOUNT 0, ANCOUNT 65535, then nothing: the walk stops at once.
        let b: [UInt8] = [0, 1, 0x81, 0x80, 0, 0, 0xff, 0xff, 0, 0, 0, 0]
        withView(b) { v in
            let d = try! DNSView(v)
            var n = 0
            #expect(d.forEachRecord { _ in n += 1; return true } == false)
            #expect(n == 0)
        }
    }

    @Test func shortDNSIsTruncated() {
        withView([1, 2, 3]) { v in
            #expect(throws: WireError("dns", .truncated, need: 12, have: 3)) { try DNSView(v) }
        }
    }

    @Test func zeroLengthTCPOptionStopsTheWalk() {
        // 24-byte header (data offset 6): option kind 2 (MSS) with length 0.
        var h = [UInt8](repeating: 0, count: 24)
        h[12] = 6 << 4
        h[20] = 2; h[21] = 0
        withView(h) { v in
            let t = try! TCPView(v)
            #expect(t.optionList == [.malformed(kind: 2)])
        }
    }

    @Test func tcpDataOffsetBelowFiveIsMalformed() {
        var h = [UInt8](repeating: 0, count: 20)
        h[12] = 4 << 4
        withView(h) { v in
            #expect(throws: WireError("tcp", .malformed, need: 20, have: 16)) { try TCPView(v) }
        }
    }

    @Test func ipv4HeaderLengthBelowFiveIsMalformed() {
        var h = [UInt8](repeating: 0, count: 20)
        h[0] = 0x44
        withView(h) { v in
            #expect(throws: WireError("ip", .malformed, need: 20, have: 16)) { try IPv4View(v) }
        }
    }

    @Test func ipv6ExtensionHeaderLoopIsBounded() {
        // 40-byte header, next header 0 (hop-by-hop), then hop-by-hop headers that each say
        // "next: hop-by-hop" forever: the walk stops after maxExtensionHeaders.
        var b = [UInt8](repeating: 0, count: 40)
        b[0] = 0x60
        b[4] = 0x01; b[5] = 0x00  // payload length 256
        for _ in 0..<32 { b += [0, 0, 0, 0, 0, 0, 0, 0] }
        withView(b) { v in
            let ip = try! IPv6View(v)
            #expect(ip.upperProtocol == .hopByHop)
            #expect(ip.upperOffset == 40 + 8 * IPv6View.maxExtensionHeaders)
        }
    }

    @Test func ipv6AddressText() {
        #expect(IPAddress(v6hi: 0x2001_0db8_0000_0000, lo: 1).description == "2001:db8::1")
        #expect(IPAddress(v6hi: 0, lo: 0).description == "::")
        #expect(IPAddress(v6hi: 0xfe80_0000_0000_0000, lo: 0x0217_f2ff_fed7_cf65).description == "fe80::217:f2ff:fed7:cf65")
        #expect(IPAddress(v6hi: 0x2001_0db8_0000_0001, lo: 0x0000_0000_0001_0001).description == "2001:db8:0:1::1:1")
    }

    /// The packet line writes addresses into its buffer itself (and `description` is that
    /// text): the same text as the C library's `inet_ntop` for every shape of zero run, mapped
    /// and plain IPv4. Left out: `::a.b.c.d` with the first six groups zero, glibc's form for the
    /// deprecated IPv4-compatible addresses (RFC 4291 §2.5.5.1), which RFC 5952 §5 does not
    /// ask for and tcpdump prints as hex.
    @Test func addressTextInABufferAgreesWithInetNtop() {
        var addrs: [IPAddress] = [IPAddress(v4: 0), IPAddress(v4: 0xffff_ffff), IPAddress(v4: 0x0a60_000a),
                                  IPAddress(v4: 0x6409_630a), IPAddress(v6hi: 0, lo: 0), IPAddress(v6hi: 0, lo: 1),
                                  IPAddress(v6hi: 0, lo: 0xffff_0a00_0001), IPAddress(v6hi: 0, lo: 0xfffe_0a00_0001),
                                  IPAddress(v6hi: 0x2001_0db8_0000_0001, lo: 0x0000_0000_0001_0001),
                                  IPAddress(v6hi: 0x2001_0000_0000_0001, lo: 0x0000_0000_0000_0001)]
        // Every pattern of zero and non-zero groups, and every octet value.
        for mask in 0..<256 {
            var hi: UInt64 = 0, lo: UInt64 = 0
            for k in 0..<8 where mask & (1 << k) != 0 {
                let g = UInt64(0x1000 >> (k % 4 * 4) | k)
                if k < 4 { hi |= g << (48 - 16 * UInt64(k)) } else { lo |= g << (48 - 16 * UInt64(k - 4)) }
            }
            if !(hi == 0 && lo >> 32 == 0 && lo >> 16 & 0xffff != 0) { addrs.append(IPAddress(v6hi: hi, lo: lo)) }
            addrs.append(IPAddress(v4: UInt32(mask) << 24 | UInt32(255 - mask) << 16 | UInt32(mask / 10) << 8 | UInt32(mask)))
        }
        var t = TextBuffer(capacity: 16)
        var want = ""
        for a in addrs { t.append(a); t.append(byte: 32); want += Self.inetNtop(a) + " " }
        #expect(addrs.count > 500)
        #expect(t.string == want)
    }

    /// `inet_ntop(3)` of `a`, from its bytes in network order.
    static func inetNtop(_ a: IPAddress) -> String {
        var text = [CChar](repeating: 0, count: 64)
        let bytes: [UInt8] = a.isIPv6
            ? (0..<8).map { UInt8(truncatingIfNeeded: a.hi >> (56 - 8 * UInt64($0))) } + (0..<8).map { UInt8(truncatingIfNeeded: a.lo >> (56 - 8 * UInt64($0))) }
            : (0..<4).map { UInt8(truncatingIfNeeded: a.v4 >> (24 - 8 * UInt32($0))) }
        let ok = bytes.withUnsafeBytes { inet_ntop(a.isIPv6 ? AF_INET6 : AF_INET, $0.baseAddress, &text, 64) } != nil
        return ok ? String(cString: text) : "inet_ntop failed"
    }
}
