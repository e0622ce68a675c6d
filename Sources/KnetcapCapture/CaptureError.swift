/// Why a packet source or writer could not be opened or read. `kind` decides the exit code;
/// `message` is the one line printed on stderr.
public struct CaptureError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// `-r FILE` does not exist.
        case noSuchFile
        /// The file exists but libpcap cannot read it as pcap or pcapng (or it is a directory).
        case notACapture
        /// The capture filter does not compile (libpcap's message).
        case badFilter
        /// `-i` names no interface in this network namespace.
        case noSuchInterface
        /// Not allowed to open the file or the device (root, CAP_NET_RAW).
        case permissionDenied
        /// `-w FILE` cannot be created or written.
        case cannotWrite
        /// Reading failed part-way (libpcap reported an error mid-file; wiretap: a truncated
        /// or corrupt record).
        case readFailed
        /// A compressed file (gzip, zstd, lz4) does not decompress part-way.
        case decompressFailed
        /// A compressed input read from a pipe broke, and the temporary copy that would say
        /// whether the compressed stream or the capture in it is broken could not be written
        /// (`$TMPDIR` missing, read-only or full).
        case temporaryCopyFailed
        /// Anything else libpcap reports.
        case other
    }
    public let kind: Kind
    public let message: String
    public init(_ kind: Kind, _ message: String) { self.kind = kind; self.message = message }
    public var description: String { message }
}
