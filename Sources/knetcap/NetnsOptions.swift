import ArgumentParser

/// `--netns PID|PATH`, `--container ID`, `--pod NAME [-n NAMESPACE]`. Filled in by the
/// network-namespace work (issue 4).
struct NetnsOptions: ParsableArguments {
    /// With `--pod`, `-n NAMESPACE` is kubectl's namespace flag; otherwise `-n` is tcpdump's
    /// "don't resolve" flag. Rewrites `-n X` to `--namespace X` when `--pod` is present.
    static func rewritingPodNamespace(_ args: [String]) -> [String] {
        args
    }
}
