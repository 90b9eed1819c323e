import ArgumentParser

/// `amago bench …`: measured figures, one subcommand per component.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks; each prints a table, or one JSON object with --json.",
        subcommands: [BenchEngine.self, BenchAgent.self, BenchEpoch.self, BenchAct.self, BenchCollect.self, BenchHTTP.self])
}
