import Testing
import KnetcapFilter

/// Filters that would overflow the stack while compiling or evaluating are refused with an
/// error instead (found by a new user: 12,725 nested parentheses or 9,121 `||` terms crashed).
@Suite struct FilterLimitTests {
    @Test func deepNestingIsAnError() {
        let e = String(repeating: "(", count: 300) + "tcp" + String(repeating: ")", count: 300)
        #expect(throws: FilterError.self) { try DisplayFilter(e) }
        let ok = String(repeating: "(", count: 200) + "tcp" + String(repeating: ")", count: 200)
        #expect((try? DisplayFilter(ok)) != nil)
    }

    @Test func tooManyTestsIsAnError() {
        #expect(throws: FilterError.self) { try DisplayFilter(Array(repeating: "udp", count: 1100).joined(separator: "||")) }
        #expect((try? DisplayFilter(Array(repeating: "udp", count: 1000).joined(separator: "||"))) != nil)
    }

    @Test func longNotChainIsAnError() {
        #expect(throws: FilterError.self) { try DisplayFilter(String(repeating: "!", count: 9156) + "tcp") }
    }
}
