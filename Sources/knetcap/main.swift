import Foundation

// `knetcap interfaces ...` and `knetcap enter ...` are their own commands; everything else is
// the capture command, whose --help shows tcpdump-style flags first.
var arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "interfaces":
    execute(Interfaces.self, NetnsOptions.rewritingPodNamespace(Array(arguments.dropFirst())))
case "enter":
    execute(Enter.self, NetnsOptions.rewritingShortNamespace(Array(arguments.dropFirst())))
default:
    execute(Knetcap.self, NetnsOptions.rewritingPodNamespace(arguments))
}
