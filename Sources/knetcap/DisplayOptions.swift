import ArgumentParser

/// `-Y EXPR` (Wireshark display filter) and `--fields`. Filled in by the display-filter work
/// (issue 5).
struct DisplayOptions: ParsableArguments {
}
