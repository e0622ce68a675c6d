#if canImport(Glibc)
import Glibc
#endif
import KnetcapWire

/// Buffered output to a file descriptor: bytes go out in large writes, or at once with
/// `flush` (live captures flush per packet). A reader going away (`EPIPE`, `| head`) ends
/// output quietly; any other write error is kept in `error`.
public final class TextOutput {
    // Unchecked: one thread writes a session's output; dynamic exclusivity checks cost per packet.
    @exclusivity(unchecked) public var buffer = TextBuffer(capacity: 1 << 17)
    let threshold = 1 << 16
    /// The descriptor written to (1 standard output, 2 standard error).
    public let fd: Int32
    /// Why writing failed (other than the reader going away), or `nil`.
    public private(set) var error: String?
    /// Flush after every packet and line (live captures).
    public var flushesEachPacket = false

    /// Everything flushed so far, when collecting (`init(collecting:)`) instead of writing.
    public private(set) var collected: [UInt8] = []
    private let isCollecting: Bool

    /// Whether a write that a signal interrupted is given up (set by the program to "a second
    /// stop signal came"): an output nobody reads (a stalled pipe or FIFO) blocks `write(2)`
    /// until a signal, and retrying for ever made knetcap unstoppable but by SIGKILL.
    nonisolated(unsafe) public static var givesUpOnSignal: () -> Bool = { false }
    /// The error of a write given up so.
    public static let blockedMessage = "blocked: nobody read it until a second stop signal ended the writing"

    public init(fd: Int32 = 1) {
        self.fd = fd
        isCollecting = false
    }

    /// Keeps the output in `collected` instead of writing it (tests, tools that post-process).
    public init(collecting: Void) {
        fd = -1
        isCollecting = true
    }

    /// `collected` as text.
    public var collectedText: String { String(decoding: collected, as: UTF8.self) }

    public func flushIfFull() { if flushesEachPacket || buffer.count >= threshold { flush() } }

    /// Set once a blocked write was given up: nothing more is written (it would block again).
    private var isGivenUp = false

    public func flush() {
        guard !buffer.isEmpty else { return }
        if isGivenUp { buffer.removeAll(); return }
        if isCollecting {
            buffer.withBytes { collected.append(contentsOf: $0) }
            buffer.removeAll()
            return
        }
        var failure: Int32 = 0
        buffer.withBytes { raw in
            var off = 0
            while off < raw.count {
                guard let base = raw.baseAddress else { return }
                let n = write(fd, base + off, raw.count - off)
                if n < 0 {
                    if errno == EINTR && !Self.givesUpOnSignal() { continue }
                    if errno != EPIPE { failure = errno }  // EPIPE: the reader went away (| head)
                    break
                }
                off += n
            }
        }
        if failure != 0 && error == nil { error = failure == EINTR ? Self.blockedMessage : String(cString: strerror(failure)) }
        if failure == EINTR { isGivenUp = true }
        buffer.removeAll()
    }

    public func line(_ s: String) { buffer.append(s); buffer.append(byte: 10) }
}
