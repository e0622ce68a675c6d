import Foundation

/// Finds and runs the external CLIs knetcap asks (crictl, docker, kubectl): looked up on
/// `searchPath` (PATH), run directly (no shell) with standard input from /dev/null, killed
/// after `timeout` seconds.
public struct ToolRunner: Sendable {
    /// Colon-separated directories, searched in order (PATH).
    public var searchPath: String
    /// Seconds a tool may run before it is killed (SIGKILL) and reported as failed.
    public var timeout: Double
    /// Variables set for the tools on top of knetcap's own environment.
    public var environment: [String: String]

    public init(searchPath: String? = nil, timeout: Double = 30, environment: [String: String] = [:]) {
        self.searchPath = searchPath ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        self.timeout = timeout
        self.environment = environment
    }

    /// The first executable `name` on `searchPath`, or nil.
    public func locate(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        for dir in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
            let d = dir.isEmpty ? "." : String(dir)
            let candidate = d + "/" + name
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDir), !isDir.boolValue,
               FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        return nil
    }

    /// What a tool printed and how it ended.
    public struct Output: Sendable {
        /// The command as run (argv, program name first as given, not the resolved path).
        public var command: [String]
        /// Exit status; -1 when killed after the timeout or ended by a signal.
        public var status: Int32
        public var stdout: String
        public var stderr: String

        public init(command: [String], status: Int32, stdout: String, stderr: String) {
            self.command = command; self.status = status; self.stdout = stdout; self.stderr = stderr
        }
        /// The last non-empty line of stderr (or stdout), trimmed: the tool's error message.
        /// klog's structured lines (kubectl's `E1201 08:56:03.115357   19502 memcache.go:265] ...`)
        /// are used only when nothing else was said, and then as their message alone.
        public var errorLine: String {
            let all = (stderr + "\n" + stdout).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("WARN") && !$0.contains("level=warning") && !$0.hasPrefix("knetcap: killed") }
            let lines = all.filter { Self.klogMessage($0) == nil }
            let marked = lines.first { l in ["FATA", "level=fatal", "level=error", "Error", "error:"].contains { l.contains($0) } }
            return marked ?? lines.last ?? all.last.flatMap(Self.klogMessage)
                ?? (stderr.contains("knetcap: killed") ? "no answer before the timeout" : "")
        }

        /// The message of a klog line (`Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg`): its
        /// `err="..."` value when it has one, else the text after `] `; `nil` for other lines.
        static func klogMessage(_ line: String) -> String? {
            let u = Array(line.utf8)
            guard u.count > 22, "IWEF".utf8.contains(u[0]), u[1...4].allSatisfy({ $0 >= 48 && $0 <= 57 }), u[5] == 32,
                  let close = line.range(of: "] ") else { return nil }
            let message = String(line[close.upperBound...])
            if let e = message.range(of: "err=\"") {
                var value = "", escaped = false
                for c in message[e.upperBound...] {
                    if escaped { value.append(c); escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { break } else { value.append(c) }
                }
                return value
            }
            return message
        }
    }

    /// Runs `executable` (a path from `locate`) as `command` (`command[0]` is the name shown
    /// in messages).
    /// - Throws: `NetnsError.system` when it cannot be started.
    public func run(_ executable: String, _ command: [String]) throws(NetnsError) -> Output {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("knetcap-tool-\(UUID().uuidString)")
        do {
            try fm.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw NetnsError(.system, "cannot run \(command.joined(separator: " ")): cannot create a temporary directory: \(error.localizedDescription)")
        }
        defer { try? fm.removeItem(at: dir) }
        let outURL = dir.appendingPathComponent("stdout"), errURL = dir.appendingPathComponent("stderr")
        _ = fm.createFile(atPath: outURL.path, contents: nil)
        _ = fm.createFile(atPath: errURL.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = Array(command.dropFirst())
        p.standardInput = FileHandle.nullDevice
        if !environment.isEmpty {
            p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        do {
            let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
            defer { try? out.close(); try? err.close() }
            p.standardOutput = out
            p.standardError = err
            try p.run()
        } catch {
            throw NetnsError(.system, "cannot run \(command.joined(separator: " ")) (\(executable)): \(error.localizedDescription)")
        }
        var timedOut = false
        if done.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            kill(p.processIdentifier, SIGKILL)
            done.wait()
        }
        let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        var stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        if timedOut { stderr += "\nknetcap: killed after \(Int(timeout)) s without an answer" }
        let status = timedOut || p.terminationReason == .uncaughtSignal ? -1 : p.terminationStatus
        return Output(command: command, status: status, stdout: stdout, stderr: stderr)
    }
}

/// A command line as one would type it (words quoted for sh when needed).
public func shellQuoted(_ words: [String]) -> String {
    words.map { w in
        let safe = !w.isEmpty && w.unicodeScalars.allSatisfy { c in
            c.isASCII && (CharacterSet.alphanumerics.contains(c) || "-_./:=@%+,".unicodeScalars.contains(c))
        }
        return safe ? w : "'" + w.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }.joined(separator: " ")
}
