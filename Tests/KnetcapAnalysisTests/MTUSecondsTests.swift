import Testing
@testable import KnetcapAnalysis

/// The MTU blackhole finding's time text. libFuzzer's FuzzAnalysis harness (CI's fuzz smoke,
/// session 12) gave it a recovery time below Int.min µs from hostile capture times, and
/// `Int((d * 1e6).rounded())` trapped (SIGILL). The crash input was in the harness's own
/// format, which no test replays; this pins the function itself.
@Suite struct MTUSecondsTests {
    @Test func saneDifferencesKeepTheirUnits() {
        #expect(MTUBlackholeAnalyzer.seconds(0.000_5) == "500 µs")
        #expect(MTUBlackholeAnalyzer.seconds(0.25) == "250 ms")
        #expect(MTUBlackholeAnalyzer.seconds(2.345) == "2.34 s")
        #expect(MTUBlackholeAnalyzer.seconds(-0.002) == "-2000 µs")  // time going back: below 1 ms
    }

    @Test func hostileDifferencesDoNotTrap() {
        // Each of these trapped in an Int conversion before the fix.
        #expect(MTUBlackholeAnalyzer.seconds(-1.8e19) == "-1.8e+19 s")
        #expect(MTUBlackholeAnalyzer.seconds(9.3e15) == "9.3e+15 s")
        #expect(MTUBlackholeAnalyzer.seconds(.infinity) == "inf s")
        #expect(MTUBlackholeAnalyzer.seconds(-.infinity) == "-inf s")
        #expect(MTUBlackholeAnalyzer.seconds(.nan) == "nan s")
    }
}
