import ArgumentParser
import KnetcapDissect
import KnetcapFilter

/// `-Y EXPR` (Wireshark display filter) and `--fields`.
///
/// `-Y` selects the packets that are printed (or written with `-w`), like tshark's `-Y`; the
/// diagnosis still sees every packet, and `-c` still counts packets read (as tshark's `-c`).
struct DisplayOptions: ParsableArguments {
    @Option(name: .customShort("Y"), help: ArgumentHelp(
        "Wireshark display filter: print (or write with -w) only the packets it matches, e.g. 'tcp contains \"lbtest\"', 'http.request.uri == \"/mytest\"', 'ip.addr == 10.0.0.0/8 && dns'. The diagnosis still sees every packet; -c counts packets read. knetcap --fields lists the fields.",
        valueName: "EXPR"))
    var displayFilter: String?

    @Flag(name: .customLong("fields"), help: "List the fields and protocols -Y accepts, with their types, and exit.")
    var listFields = false

    /// The compiled `-Y` filter, or nil without `-Y`.
    /// - Throws: `Fatal(.badDisplayFilter)` with the error line and a caret line under the column.
    func compiled() throws -> DisplayFilter? {
        guard let text = displayFilter else { return nil }
        do {
            return try DisplayFilter(text)
        } catch {
            // `fail` writes "knetcap: " before the message: indent the caret by as much.
            throw Fatal(.badDisplayFilter, error.rendered(prefix: "-Y ", indent: "knetcap: ".count))
        }
    }

    /// `--fields`: one line per field, `NAME  TYPE  DESCRIPTION`, in protocol order; fields that
    /// may occur several times in one packet say so.
    static func fieldList() -> String {
        let fields = DisplayFilter.supportedFields
        let nameWidth = (fields.map(\.name.count).max() ?? 0) + 2
        let typeWidth = (fields.map(\.type.rawValue.count).max() ?? 0) + 2
        func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(1, w - s.count)) }
        var s = pad("FIELD", nameWidth) + pad("TYPE", typeWidth) + "DESCRIPTION\n"
        for f in fields {
            s += pad(f.name, nameWidth) + pad(f.type.rawValue, typeWidth) + f.blurb + (f.repeated ? " (may repeat)" : "") + "\n"
        }
        return s
    }
}
