import Foundation

extension Process {
    /// As `KnetcapTestSupport`'s (this target runs the binary and links no support module):
    /// waits by polling `isRunning`, never this thread's run loop (concurrent `waitUntilExit`
    /// calls crashed the test process on Swift 6.3's swift-corelibs-foundation).
    func waitForExit() {
        while isRunning { usleep(1000) }
    }
}
