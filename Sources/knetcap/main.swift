import Foundation

/// Standard input, output or error closed when knetcap started (`knetcap -r - <&-`), each now
/// held by /dev/null opened the wrong way round, so that a read of 0 or a write to 1 or 2
/// still fails with EBADF (as on the closed descriptor) and no pipe or file knetcap opens
/// later takes 0, 1 or 2 (a pipe on 0 was read as the capture; a `-w` file on 1 would get the
/// packet lines). glibc does the same for set-user-id programs (csu/check_fds.c).
nonisolated(unsafe) var closedStandardDescriptors: Set<Int32> = []
for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
    closedStandardDescriptors.insert(fd)
    _ = open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY)  // the lowest free descriptor: fd
}

// `knetcap interfaces ...`, `knetcap enter ...` and `knetcap diff ...` are their own commands; everything else is
// the capture command, whose --help shows tcpdump-style flags first.
var arguments = Array(CommandLine.arguments.dropFirst())

/// `knetcap help [enter|interfaces]` and `knetcap enter help`, as kubectl and git answer them.
func printHelp(_ topic: String?) -> Never {
    switch topic {
    case nil: print(Knetcap.helpMessage())
    case "enter": print(Enter.helpMessage())
    case "interfaces": print(Interfaces.helpMessage())
    case "diff": print(Diff.helpMessage())
    case "merge": print(Merge.helpMessage())
    case let t?: fail(.usage, "no help topic \(t); try knetcap help, knetcap help enter, knetcap help interfaces, knetcap help diff or knetcap help merge")
    }
    exit(0)
}

/// tcpdump takes a short option's value joined to it (`-c3`, `-rdns.pcap`, `-ieth0`, `-s0`, `-C1`):
/// split those into two words for the parser. Words after `--` are left alone.
func splittingJoinedValues(_ args: [String]) -> [String] {
    var out: [String] = []
    var rest = args[...]
    while let a = rest.popFirst() {
        if a == "--" { out.append(a); out.append(contentsOf: rest); break }
        if a.count > 2, a.hasPrefix("-"), !a.hasPrefix("--"), let flag = a.dropFirst().first, "criswCGWY".contains(flag) {
            out.append("-\(flag)")
            out.append(String(a.dropFirst(2)))
        } else {
            out.append(a)
        }
    }
    return out
}

// Run as `kubectl-knetcap` (a link to this binary, what `kubectl knetcap` runs): the plugin.
if CommandLine.arguments.first.map({ ($0 as NSString).lastPathComponent }) == "kubectl-knetcap" {
    KubectlPlugin.main(arguments)
}

switch arguments.first {
case "help":
    printHelp(arguments.dropFirst().first)
case "enter" where arguments.count == 2 && arguments[1] == "help", "interfaces" where arguments.count == 2 && arguments[1] == "help",
     "diff" where arguments.count == 2 && arguments[1] == "help", "merge" where arguments.count == 2 && arguments[1] == "help":
    printHelp(arguments[0])
case "interfaces":
    execute(Interfaces.self, NetnsOptions.rewritingPodNamespace(Array(arguments.dropFirst())))
case "diff":
    execute(Diff.self, Array(arguments.dropFirst()))
case "merge":
    execute(Merge.self, Array(arguments.dropFirst()))
case "enter":
    execute(Enter.self, NetnsOptions.rewritingShortNamespace(Array(arguments.dropFirst())))
default:
    execute(Knetcap.self, NetnsOptions.rewritingPodNamespace(splittingJoinedValues(arguments)))
}
