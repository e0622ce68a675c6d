import KnetcapWire

/// One occurrence of a field in a packet, as the JSON writer and display filters read it.
/// `bytes` (text of string fields, raw bytes of byte and protocol fields) points into the
/// packet or a stack buffer and is valid only during the callback that received it: reading a
/// field allocates nothing.
public enum FieldValue {
    case uint(UInt64)
    case bool(Bool)
    case ip(IPAddress)
    /// A MAC address, 48 bits (`MACAddress.value`).
    case ether(UInt64)
    /// A time offset in nanoseconds (`frame.time_relative`, `dns.time`).
    case ns(Int64)
    /// An absolute capture time, exact to the nanosecond (`frame.time_epoch`).
    case time(Timestamp)
    case bytes(UnsafeRawBufferPointer)
}

/// The type of a field, as Wireshark's `-G fields` names them loosely.
public enum FieldType: String, Sendable {
    case unsigned = "unsigned integer", boolean, string = "character string", address = "IPv4 address",
         ipv6 = "IPv6 address", ether = "Ethernet address", bytes = "byte sequence",
         time = "absolute time (seconds since the epoch)", relativeTime = "time offset (seconds)",
         proto = "protocol"
}

/// Calls `body` with each occurrence of a field in a packet, in packet order, until `body`
/// returns true; returns whether it did. An absent field never calls `body` and returns false.
public typealias FieldReader = @Sendable (Packet, (FieldValue) -> Bool) -> Bool

/// Calls `body` with the text of each occurrence of a protocol in a packet (its tree line, as
/// tshark 4.0's `-T fields -e tcp` prints it), in packet order, until `body` returns true;
/// returns whether it did.
public typealias ProtocolTextReader = @Sendable (Packet, (String) -> Bool) -> Bool

/// A field knetcap knows, declared once in its protocol's table (`Fields/DNSFields.swift`):
/// its Wireshark name (`dns.qry.name`), type, width, description and its one typed reader.
/// The registry, `--fields`, the JSON writer and the `-Y` compiler all read these.
///
/// `repeated` fields may occur several times in one packet (`dns.a`); JSON gives them as
/// arrays. `filterOnly` fields are for display filters and not written to JSON: protocols
/// (`tcp`), the either-direction aliases (`ip.addr`, `tcp.port`) and raw bytes
/// (`tcp.payload`). `maxValue` is the largest value an unsigned field can hold (its width on
/// the wire). `tracking` is the per-capture state the reader needs (`CaptureState`).
public struct FieldDescriptor: Sendable {
    public let name: String
    public let type: FieldType
    public let repeated: Bool
    public let filterOnly: Bool
    public let maxValue: UInt64
    /// Digits of the hexadecimal form Wireshark displays an unsigned field in (`dns.id`
    /// `0x4fe8`: 4, its BASE_HEX width); 0 for decimal.
    public let hexDigits: Int
    public let blurb: String
    public let tracking: CaptureState.Tracking
    /// The field as Wireshark has it (what `-Y` tests).
    public let read: FieldReader
    /// What the JSON writer reads, where it writes less than Wireshark has (`nil`: `read`).
    let jsonRead: FieldReader?
    /// A protocol's tree line for each occurrence (`-T fields -e ip`); `nil` for other fields.
    public let text: ProtocolTextReader?

    init(_ name: String, _ type: FieldType, _ blurb: String, bits: Int = 64, hex: Int = 0, repeated: Bool = false,
         filterOnly: Bool = false, tracking: CaptureState.Tracking = [], json: FieldReader? = nil,
         text: ProtocolTextReader? = nil, textIsName: Bool = false, _ read: @escaping FieldReader) {
        self.name = name; self.type = type; self.blurb = blurb; self.repeated = repeated
        self.filterOnly = filterOnly || type == .proto
        self.tracking = tracking
        maxValue = bits >= 64 ? .max : (UInt64(1) << UInt64(bits)) - 1
        hexDigits = hex
        self.read = read
        jsonRead = json
        // A protocol whose tree item has no text of its own (proto_tree_add_item): tshark
        // prints its filter name for each occurrence (`icmp`, `http`, `vxlan`).
        if textIsName {
            let read = read
            self.text = { p, f in read(p) { _ in f(name) } }
        } else {
            self.text = text
        }
    }

    /// The reader the JSON writer uses (`nil` for filter-only fields).
    /// No `??` or `Optional.map` here: a closure that passes through a generic function comes
    /// back reabstracted, and every call of it then copies the whole `Packet` (issue 11).
    public var jsonReader: FieldReader? {
        if filterOnly { return nil }
        if let j = jsonRead { return j }
        return read
    }
}

extension Packet {
    /// Calls `body` for every field occurrence the JSON output writes, in registry order
    /// (`FieldRegistry.all`), each field's occurrences in packet order.
    public func forEachJSONField(_ body: (FieldDescriptor, FieldValue) -> Void) {
        for d in FieldRegistry.json {
            if let r = d.jsonRead { _ = r(self) { body(d, $0); return false } } else { _ = d.read(self) { body(d, $0); return false } }
        }
    }
}

// MARK: - Reader building blocks (used by the protocol tables)

nonisolated(unsafe) let emptyBytes = UnsafeRawBufferPointer(start: nil, count: 0)

/// Calls `f` with the UTF-8 bytes of `s` (no copy for native strings).
func withText(_ s: String, _ f: (FieldValue) -> Bool) -> Bool {
    var s = s
    return s.withUTF8 { f(.bytes(UnsafeRawBufferPointer($0))) }
}
