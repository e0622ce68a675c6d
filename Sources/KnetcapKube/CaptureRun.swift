import Foundation

/// One run of `kubectl knetcap capture`: the Jobs created, each pod's log followed (findings
/// handed on as they come, with the node), each node's pcapng copied back (`kubectl cp`) once
/// its pod says the capture is complete, each Job deleted then; `cleanup` deletes whatever
/// is left (at the end, and on Ctrl-C/SIGTERM), so no pod stays behind.
public final class CaptureRun: @unchecked Sendable {
    public let kubectl: Kubectl
    public let jobs: [CaptureJob]
    public let settings: JobSettings
    /// Where each node's capture is copied: `DIR/NODE.pcapng`.
    public let outputDirectory: String

    /// What became of one node's Job.
    public enum Outcome: Sendable, Equatable {
        /// Copied to this path; the capture's exit status in the pod.
        case copied(path: String, status: Int)
        case failed(String)
    }

    /// A finding line from a node (`{"finding": {...}}` as `knetcap --json` prints it), on a
    /// log-reading thread.
    public var onFinding: @Sendable (_ node: String, _ finding: [String: Any]) -> Void = { _, _ in }
    /// A progress or error line (knetcap's own stderr in the pod, pod states), for stderr.
    public var onNote: @Sendable (_ line: String) -> Void = { _ in }

    private let lock = NSLock()
    private var outcomes: [String: Outcome] = [:]
    private var streams: [Process] = []

    public init(kubectl: Kubectl, jobs: [CaptureJob], settings: JobSettings, outputDirectory: String) {
        self.kubectl = kubectl; self.jobs = jobs; self.settings = settings; self.outputDirectory = outputDirectory
    }

    /// Creates every Job (`kubectl create -f -`, one YAML stream).
    public func create() throws(KubeError) {
        let yaml: String
        do { yaml = try yamlDocuments(jobs.map(\.manifest)) } catch { throw KubeError(.kubectlFailed, "cannot write the Jobs as YAML: \(error)") }
        _ = try kubectl.run(["create", "-f", "-"], input: yaml)
    }

    /// Follows every Job to its end (in parallel, a thread each): the outcome per node. Waits
    /// at most the capture's duration, the pods' start-up and the copy window.
    public func follow(podStartTimeout: TimeInterval = 180) -> [String: Outcome] {
        let group = DispatchGroup()
        for job in jobs {
            group.enter()
            Thread { [self] in
                let o = followOne(job, podStartTimeout: podStartTimeout)
                lock.withLock { outcomes[job.node] = o }
                group.leave()
            }.start()
        }
        let limit = TimeInterval(settings.durationSeconds + settings.copyWindowSeconds) + podStartTimeout + 60
        if group.wait(timeout: .now() + limit) == .timedOut {
            lock.withLock { for j in jobs where outcomes[j.node] == nil {
                outcomes[j.node] = .failed("\(j.node): no result from Job \(j.name) after \(Int(limit)) s (kubectl describe job -n \(settings.namespace) \(j.name))")
            } }
        }
        return lock.withLock { outcomes }
    }

    /// Deletes this run's Jobs and their pods (label `knetcap.io/run`), without waiting, and
    /// stops the log streams.
    public func cleanup() {
        lock.withLock { streams.forEach { if $0.isRunning { $0.terminate() } } }
        _ = try? kubectl.run(["delete", "job", "-n", settings.namespace, "-l", "\(runLabel)=\(settings.runID)",
                              "--cascade=background", "--wait=false", "--ignore-not-found"])
    }

    private func followOne(_ job: CaptureJob, podStartTimeout: TimeInterval) -> Outcome {
        // The Job's pod, once running (or already ended).
        var pod: String? = nil
        let deadline = Date().addingTimeInterval(podStartTimeout)
        var lastState = ""
        while pod == nil {
            if Date() > deadline { return .failed("the capture pod on \(job.node) did not start in \(Int(podStartTimeout)) s (\(lastState.isEmpty ? "no pod" : lastState))") }
            if let list = try? kubectl.getJSON(["pods", "-n", settings.namespace, "-l", "job-name=\(job.name)"]),
               let item = (list["items"] as? [[String: Any]])?.first {
                let status = item["status"] as? [String: Any] ?? [:]
                let phase = status["phase"] as? String ?? "Pending"
                let name = (item["metadata"] as? [String: Any])?["name"] as? String
                let waiting = ((status["containerStatuses"] as? [[String: Any]])?.first?["state"] as? [String: Any])?["waiting"] as? [String: Any]
                lastState = [phase, waiting?["reason"] as? String, waiting?["message"] as? String].compactMap { $0 }.joined(separator: ": ")
                if ["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError"].contains(waiting?["reason"] as? String ?? "") {
                    return .failed("the capture pod on \(job.node) cannot start: \(lastState) (image \(settings.image); --image names another)")
                }
                if ["Running", "Succeeded", "Failed"].contains(phase) { pod = name }
            }
            if pod == nil { Thread.sleep(forTimeInterval: 1) }
        }
        guard let pod else { return .failed("no pod") }
        // Its log, line by line, to the marker line that says the file is complete. A stream
        // that ends before it (kubectl or the API server dropping a long request) is followed
        // again, up to 5 times; the log then starts over, so the lines already handled are
        // skipped.
        final class State: @unchecked Sendable { var status: Int? = nil; var file: String? = nil; var seen = 0; var line = 0 }
        let st = State()
        let node = job.node
        for attempt in 0..<6 where st.file == nil {
            if attempt > 0 {
                // Only a pod still running has more log to give.
                let phase = ((try? kubectl.getJSON(["pod", pod, "-n", settings.namespace]))?["status"] as? [String: Any])?["phase"] as? String
                guard phase == "Running" else { break }
                Thread.sleep(forTimeInterval: 1)
                onNote("\(node): the log stream of \(pod) ended early; following it again")
            }
            let done = DispatchSemaphore(value: 0)
            st.line = 0
            let stream: Process
            do {
                stream = try kubectl.stream(["logs", "-f", "-n", settings.namespace, pod, "-c", "knetcap"], line: { [self] line in
                    st.line += 1
                    guard st.line > st.seen else { return }
                    st.seen = st.line
                    guard let obj = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                        if !line.isEmpty { onNote("\(node): \(line)") }
                        return
                    }
                    if let f = obj["finding"] as? [String: Any] { onFinding(node, f) }
                    if let j = obj["knetcap_job"] as? [String: Any] {
                        st.status = j["status"] as? Int ?? -1
                        st.file = j["file"] as? String
                        done.signal()
                    }
                }, ended: { _ in done.signal() })
            } catch { return .failed(error.message) }
            lock.withLock { streams.append(stream) }
            done.wait()
            if st.file != nil, stream.isRunning { stream.terminate() }
        }
        guard let file = st.file else {
            return .failed("the capture pod \(pod) on \(job.node) ended before its capture was complete (kubectl logs -n \(settings.namespace) \(pod) -c knetcap)")
        }
        let local = "\(outputDirectory)/\(CaptureJob.fileStem(job.node)).pcapng"
        do {
            _ = try kubectl.run(["cp", "\(settings.namespace)/\(pod):\(file)", local, "-c", "knetcap"])
        } catch {
            return .failed("cannot copy the capture of \(job.node): \(error.message)")
        }
        _ = try? kubectl.run(["delete", "job", job.name, "-n", settings.namespace, "--cascade=background", "--wait=false", "--ignore-not-found"])
        return .copied(path: local, status: st.status ?? 0)
    }
}
