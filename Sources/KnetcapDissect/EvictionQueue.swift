/// The keys of a table in the order their entries were (re)stamped, oldest first, for O(1)
/// amortised expiry and eviction (issue 11): a table pushes `(key, serial)` when it stores or
/// refreshes an entry and keeps the serial in the entry; an item whose serial no longer
/// matches its entry (the entry was removed, replaced or refreshed since) is stale and skipped
/// when it reaches the front (lazy deletion). `compact` drops stale items when they
/// outnumber the live ones, so the queue stays within about twice the table.
public struct EvictionQueue<Key: Hashable> {
    public struct Item {
        public var key: Key; public var serial: UInt32
        @inlinable public init(key: Key, serial: UInt32) { self.key = key; self.serial = serial }
    }
    // Inlinable (with its storage) so callers in other modules get it specialised for their key.
    @usableFromInline var items: [Item] = []
    @usableFromInline var head = 0
    @usableFromInline var nextSerial: UInt32 = 0

    @inlinable public init() {}

    /// Items queued, stale ones included.
    @inlinable public var count: Int { items.count - head }
    @inlinable public var isEmpty: Bool { head == items.count }

    /// A fresh serial for an entry about to be pushed (wraps after 2^32: an item that old is
    /// long gone, the queue holds at most about twice the table).
    @inlinable public mutating func serial() -> UInt32 { nextSerial &+= 1; return nextSerial }

    @inlinable public mutating func push(_ key: Key, _ serial: UInt32) { items.append(Item(key: key, serial: serial)) }

    @inlinable public var first: Item? { head < items.count ? items[head] : nil }

    @inlinable public mutating func removeFirst() {
        guard head < items.count else { return }
        head += 1
        if head == items.count { items.removeAll(keepingCapacity: true); head = 0 }
        else if head >= 4096 && head * 2 >= items.count { items.removeFirst(head); head = 0 }
    }

    /// Drops stale items once the queue holds more than twice `live` (plus slack): each
    /// compaction follows at least `live + 4096` pushes, so it costs O(1) per push.
    @inlinable public mutating func compact(live: Int, isLive: (Item) -> Bool) {
        guard count > 2 * live + 4096 else { return }
        items = items[head...].filter(isLive)
        head = 0
    }

    @inlinable public mutating func removeAll() { items.removeAll(); head = 0 }
}

/// A table's state limit: what it drops from tracking past its byte budget, counted for the
/// report ("state limit reached: N pending SYNs dropped from tracking").
public struct StateLimitNote: Sendable, Equatable, Encodable {
    /// What the table holds, plural, in the report's words: "pending SYNs", "DNS queries".
    public var what: String
    /// Entries dropped from tracking (never reported as faults).
    public var dropped: Int
    /// The table's budget in bytes, and the entries it holds at most.
    public var budgetBytes: Int
    public var maxEntries: Int
    public init(what: String, dropped: Int, budgetBytes: Int, maxEntries: Int) {
        self.what = what; self.dropped = dropped; self.budgetBytes = budgetBytes; self.maxEntries = maxEntries
    }
}

/// A table's byte budget turned into entries. A Swift `Dictionary` keeps a power-of-two
/// number of slots and doubles when 3/4 full, so the budget buys the largest slot count S with
/// S x (key + value stride) + (3/4 S) x `extra` <= budget, and the table holds 3/4 S entries
/// (never doubling past the budget). `extra` is what an entry costs outside its slot: its
/// items in an `EvictionQueue` (up to two each) and heap bytes it owns (a query name).
public struct TableBudget: Sendable {
    public let budgetBytes: Int
    public let maxEntries: Int
    /// Bytes per entry at the limit: `budgetBytes / maxEntries` (at most; the measured figure
    /// is in ARCHITECTURE.md).
    public var bytesPerEntry: Int { budgetBytes / max(1, maxEntries) }

    public init<K: Hashable, V>(bytes: Int, _: K.Type, _: V.Type, queueItems: Int = 2, heap: Int = 0) {
        let slot = MemoryLayout<K>.stride + MemoryLayout<V>.stride
        let extra = queueItems * MemoryLayout<EvictionQueue<K>.Item>.stride + heap
        var s = 1024
        while (s * 2) * slot + (s * 2) * 3 / 4 * extra <= bytes { s *= 2 }
        budgetBytes = bytes
        maxEntries = s * 3 / 4
    }
}

extension Dictionary {
    /// Runs `body` on the value stored for `key`, in place: its arrays and boxes are not copied
    /// (a `var v = table[k]; ...; table[k] = v` round trip copies every array it changes, since
    /// the table still holds the old one). One hash lookup. `nil` when `key` is absent.
    @inlinable @inline(__always)
    public mutating func modify<R>(_ key: Key, _ body: (inout Value) throws -> R) rethrows -> R? {
        guard let i = index(forKey: key) else { return nil }
        return try body(&values[i])
    }
}
