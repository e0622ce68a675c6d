internal import CCompression
#if canImport(Glibc)
import Glibc
#endif

/// The compression a file's first bytes announce: gzip (RFC 1952 §2.3.1, `1f 8b`), a zstd
/// frame (RFC 8878 §3.1.1, `28 b5 2f fd`) or an LZ4 frame (`04 22 4d 18`) — the three
/// libwiretap 4.0 decompresses.
enum Compression: String {
    case gzip, zstd, lz4

    /// The compression of the regular file at `path`, by magic bytes; nil when none, when it is
    /// not a regular file (a FIFO's first bytes would be consumed) or cannot be read.
    init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var m = [UInt8](repeating: 0, count: 4)
        guard fread(&m, 1, 4, f) == 4 else { return nil }
        self.init(magic: m)
    }

    /// The compression the first four bytes `m` announce (nil: none, or fewer bytes).
    init?(magic m: [UInt8]) {
        guard m.count >= 4 else { return nil }
        switch (m[0], m[1], m[2], m[3]) {
        case (0x1f, 0x8b, _, _): self = .gzip
        case (0x28, 0xb5, 0x2f, 0xfd): self = .zstd
        case (0x04, 0x22, 0x4d, 0x18): self = .lz4
        default: return nil
        }
    }

    /// What the stream is made of: gzip members (RFC 1952 §2.2), zstd frames (RFC 8878 §3.1),
    /// LZ4 frames (the LZ4 frame format).
    var unit: String { self == .gzip ? "member" : "frame" }

    /// "a gzip", "a zstd", "an lz4" (stream).
    var withArticle: String { self == .lz4 ? "an lz4" : "a \(rawValue)" }

    /// What is wrong with the compressed stream at `path`, decompressed from its start with
    /// zlib / libzstd / liblz4 until `enough` bytes come out: nil when they do (or the stream
    /// ends complete), else why not — the library's error, or that the input ended inside a
    /// member or frame (a truncated file), with the bytes decompressed before. Reads at most the file.
    func damage(path: String, enough: Int = 65_536) -> String? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var output = [UInt8](repeating: 0, count: 65_536)
        return output.withUnsafeMutableBytes { out -> String? in
            switch self {
            case .gzip:
                var z = z_stream()
                // 15 + 16: a gzip wrapper (zlib.h, inflateInit2).
                guard inflateInit2_(&z, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
                defer { inflateEnd(&z) }
                return feed(f, enough: enough) { inp, at in
                    z.next_in = UnsafeMutablePointer(mutating: inp.baseAddress!.assumingMemoryBound(to: UInt8.self) + at)
                    z.avail_in = UInt32(inp.count - at)
                    z.next_out = out.baseAddress!.assumingMemoryBound(to: UInt8.self); z.avail_out = UInt32(out.count)
                    let rc = inflate(&z, Z_NO_FLUSH)
                    var step = Step(consumed: inp.count - at - Int(z.avail_in), produced: out.count - Int(z.avail_out), complete: rc == Z_STREAM_END)
                    if rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR {
                        step.error = "gzip: \(z.msg.map { String(cString: $0) } ?? "error \(rc)")"
                    }
                    return step
                }
            case .zstd:
                guard let d = ZSTD_createDStream() else { return nil }
                defer { ZSTD_freeDStream(d) }
                return feed(f, enough: enough) { inp, at in
                    var ib = ZSTD_inBuffer(src: inp.baseAddress, size: inp.count, pos: at)
                    var ob = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                    let rc = ZSTD_decompressStream(d, &ob, &ib)  // 0: a frame is complete
                    var step = Step(consumed: ib.pos - at, produced: ob.pos, complete: rc == 0)
                    if ZSTD_isError(rc) != 0 { step.error = "zstd: \(String(cString: ZSTD_getErrorName(rc)))" }
                    return step
                }
            case .lz4:
                var ctx: OpaquePointer?
                guard LZ4F_isError(LZ4F_createDecompressionContext(&ctx, UInt32(LZ4F_VERSION))) == 0, let ctx else { return nil }
                defer { LZ4F_freeDecompressionContext(ctx) }
                return feed(f, enough: enough) { inp, at in
                    var outSize = out.count, inSize = inp.count - at
                    let rc = LZ4F_decompress(ctx, out.baseAddress, &outSize, inp.baseAddress! + at, &inSize, nil)  // 0: a frame is complete
                    if LZ4F_isError(rc) != 0 { return Step(error: "lz4: \(String(cString: LZ4F_getErrorName(rc)))") }  // (sizes undefined then)
                    return Step(consumed: inSize, produced: outSize, complete: rc == 0)
                }
            }
        }
    }

    /// One call into a decompressor: input bytes taken, output bytes made, whether the stream
    /// (gzip member, zstd/lz4 frame) ended there, or the library's error (with the bytes the
    /// library says it took before it, where it says: zlib and libzstd; liblz4 leaves its
    /// sizes undefined on an error).
    private struct Step {
        var consumed = 0, produced = 0, complete = false
        var error: String?
    }

    /// Reads `f` 16 KiB at a time and hands `decode` the chunk and the offset already taken,
    /// until `enough` bytes came out (nil), the stream ended complete at end of file (nil), the
    /// input ended inside it, or `decode` failed (why, with the bytes made before).
    private func feed(_ f: UnsafeMutablePointer<FILE>, enough: Int, decode: (UnsafeRawBufferPointer, Int) -> Step) -> String? {
        var input = [UInt8](repeating: 0, count: 16_384)
        var produced = 0, complete = false
        var fed = 0  // compressed bytes of the chunks before this one
        while produced < enough {
            let n = fread(&input, 1, input.count, f)
            defer { fed += n }
            let failure: String?? = input.withUnsafeBytes { all in
                let inp = UnsafeRawBufferPointer(rebasing: all.prefix(n))
                var at = 0
                // At end of file, the decoder may still hold output: call it until it has none.
                repeat {
                    let s = decode(inp, at)
                    if let e = s.error {
                        // How far into the compressed file the library had read when it found
                        // it (liblz4 does not say how much of this chunk it took: all of it).
                        let taken = fed + at + (rawValue == "lz4" ? n - at : s.consumed)
                        return .some("\(e), found after \(taken) compressed bytes (\(produced + s.produced) decompressed)")
                    }
                    at += s.consumed
                    produced += s.produced
                    // A call that moved nothing says nothing about the stream: after a complete
                    // frame, zstd and lz4 answer an empty input with the next frame's header size.
                    if s.consumed > 0 || s.produced > 0 { complete = s.complete }
                    if s.consumed == 0 && s.produced == 0 {
                        if complete { return .some(nil) }  // the stream ended; bytes after it are not ours to judge
                        if n > 0 { return .some("\(rawValue): no progress after \(fed + at) compressed bytes (\(produced) decompressed)") }
                        break
                    }
                } while at < n || n == 0
                return nil
            }
            if let failure { return failure }
            if n == 0 {
                return complete ? nil : "the \(rawValue) stream ends inside a \(unit): its \(fed) compressed bytes decompress to \(produced) (truncated file)"
            }
        }
        return nil
    }
}
