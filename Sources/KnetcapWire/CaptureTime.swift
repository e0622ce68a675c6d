/// Capture-time arithmetic that no timestamp from a file can make trap (issue 12): horizons
/// such as `now.seconds + 10` saturate at the ends of `Int64` instead of overflowing.
extension Int64 {
    /// `self + n`, clamped to `Int64.min ... Int64.max`.
    @inline(__always) public func saturatingAdd(_ n: Int64) -> Int64 {
        let (v, overflow) = addingReportingOverflow(n)
        return overflow ? (n > 0 ? .max : .min) : v
    }
}
