import KnetcapWire

/// `knetcap.*`: knetcap's own fields.
enum KnetcapFields {
    static let table: [FieldDescriptor] = [
        .init("knetcap.truncated", .string, "layer where the capture was cut (snaplen), if any") { p, f in
            guard case .truncated(let e) = p.stop else { return false }
            return e.layer.withUTF8Buffer { f(.bytes(UnsafeRawBufferPointer($0))) }
        },
        .init("knetcap.malformed", .string, "layer whose bytes are invalid, if any") { p, f in
            guard case .malformed(let e) = p.stop else { return false }
            return withText(e.description, f)
        },
    ]
}
