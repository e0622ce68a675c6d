#if canImport(Glibc)
import Glibc
#endif

/// Where the records a writer handed to its library (libpcap's `pcap_dump`, libwiretap's
/// `wtap_dump`) end in the file, as the library counts the bytes it was given, so that a write
/// that fails part-way (a full disk) can leave the file ending on a record boundary: every
/// record in it complete, and the count of packets written what the file holds.
///
/// A stdio stream writes its buffer when full; a write that fails there may leave part of a
/// record in the file, and glibc drops the rest of the buffer. The file then holds a prefix of
/// what was handed to it, as far as the descriptor's offset says (`onDisk`): the writer cuts it
/// back (`ftruncate`) to the last boundary at or below that offset. Only the boundaries past
/// the last offset known on disk are kept (checked every 256 records): a few hundred at most.
struct RecordBoundaries {
    /// Record ends, ascending; `ends[0]` is the end of record `firstRecords` (0: the header's).
    private var ends: [Int64]
    private var firstRecords = 0
    private var sinceCheck = 0
    private let fd: Int32

    /// `headerEnd`: where the file's header (pcap file header; pcapng section header and
    /// interface blocks) ends; `fd`: the file's descriptor (its offset: the bytes written).
    init(headerEnd: Int64, fd: Int32) {
        ends = [headerEnd]
        self.fd = fd
    }

    /// One more record handed to the library, ending at `end`.
    mutating func append(_ end: Int64) {
        ends.append(end)
        sinceCheck &+= 1
        if sinceCheck & 255 == 0 { settle() }
    }

    /// Forgets the boundaries before the last one the file is known to hold.
    private mutating func settle() {
        let onDisk = Self.offset(fd)
        // Not seekable (a pipe): never cut back, so nothing to keep.
        if onDisk < 0 { firstRecords += ends.count - 1; ends.removeFirst(ends.count - 1); return }
        guard let i = ends.lastIndex(where: { $0 <= onDisk }), i > 0 else { return }
        ends.removeFirst(i)
        firstRecords += i
    }

    /// The descriptor's offset: the bytes the writes made so far put in the file (-1: none, a pipe).
    static func offset(_ fd: Int32) -> Int64 { fd < 0 ? -1 : Int64(lseek(fd, 0, SEEK_CUR)) }

    /// What the file holds now, as whole records: the end of the last record at or below
    /// `onDisk` bytes and the number of records before it (nil when not even the header is there).
    func complete(within onDisk: Int64) -> (end: Int64, records: Int)? {
        guard let i = ends.lastIndex(where: { $0 <= onDisk }) else { return nil }
        return (ends[i], firstRecords + i)
    }

    /// After a failed write: the offset the descriptor `fd` has reached, measured before the
    /// library closes the file (a close flushes what is left of its buffer, not a continuation
    /// of what is in the file); `close` closes it; then a regular file is cut back to its last
    /// complete record. Returns the records it holds, nil when it could not be cut (standard
    /// output, a device, a FIFO: nothing to truncate).
    func cutBack(closing close: () -> Void) -> Int? {
        var st = stat()
        let keep = fd >= 0 && fstat(fd, &st) == 0 && st.st_mode & S_IFMT == S_IFREG ? dup(fd) : -1
        let onDisk = Self.offset(fd)
        close()
        guard keep >= 0 else { return nil }
        defer { Glibc.close(keep) }
        guard onDisk >= 0, let c = complete(within: onDisk), ftruncate(keep, off_t(c.end)) == 0 else { return nil }
        return c.records
    }
}

extension WrittenFile {
    /// Keeps the first `n` packets (a file cut back to its last complete record).
    mutating func keepFirst(_ n: Int) {
        var left = n
        var kept: [ClosedRange<Int>] = []
        for r in frames where left > 0 {
            let take = min(left, r.count)
            kept.append(r.lowerBound...(r.lowerBound + take - 1))
            left -= take
        }
        frames = kept
    }
}
