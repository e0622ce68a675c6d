import Foundation

// `knetcap interfaces ...` and `knetcap enter ...` are their own commands; everything else is
// the capture command, whose --help shows tcpdump-style flags first.
var arguments = Array(CommandLine.arguments.dropFirst())

/// `knetcap help [enter|interfaces]` and `knetcap enter help`, as kubectl and git answer them.
func printHelp(_ topic: String?) -> Never {
    switch topic {
    case nil: print(Knetcap.helpMessage())
    case "enter": print(Enter.helpMessage())
    case "interfaces": print(Interfaces.helpMessage())
    case let t?: fail(.usage, "no help topic \(t); try knetcap help, knetcap help enter or knetcap help interfaces")
    }
    exit(0)
}

switch arguments.first {
case "help":
    printHelp(arguments.dropFirst().first)
case "enter" where arguments.count == 2 && arguments[1] == "help", "interfaces" where arguments.count == 2 && arguments[1] == "help":
    printHelp(arguments[0])
case "interfaces":
    execute(Interfaces.self, NetnsOptions.rewritingPodNamespace(Array(arguments.dropFirst())))
case "enter":
    execute(Enter.self, NetnsOptions.rewritingShortNamespace(Array(arguments.dropFirst())))
default:
    execute(Knetcap.self, NetnsOptions.rewritingPodNamespace(arguments))
}
