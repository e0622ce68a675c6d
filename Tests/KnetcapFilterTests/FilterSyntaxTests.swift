import Testing
@testable import KnetcapFilter

@Suite struct FilterSyntaxTests {
    @Test func placeholder() throws { _ = try DisplayFilter("tcp") }
}
