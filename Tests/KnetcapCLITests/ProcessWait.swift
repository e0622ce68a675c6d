import Foundation

/// One child process started at a time in the test process (see `runSerialized`).
let processLaunch = NSLock()

extension Process {
    /// As `KnetcapTestSupport`'s: `run()` one at a time (concurrent `Process.run` calls of
    /// Swift 6.3's swift-corelibs-foundation crashed the test process).
    func runSerialized() throws {
        processLaunch.lock()
        defer { processLaunch.unlock() }
        try run()
    }

    /// As `KnetcapTestSupport`'s (this target runs the binary and links no support module):
    /// waits by polling `isRunning`, never this thread's run loop (concurrent `waitUntilExit`
    /// calls crashed the test process on Swift 6.3's swift-corelibs-foundation).
    func waitForExit() {
        while isRunning { usleep(1000) }
    }
}

extension Pipe {
    /// As `KnetcapTestSupport`'s: both ends closed now, not when Foundation frees the pipe
    /// (the test process ran out of descriptors below 1,400 and `Process.run` crashed).
    func closeBothEnds() {
        try? fileHandleForReading.close()
        try? fileHandleForWriting.close()
    }
}
