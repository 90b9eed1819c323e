import ArgumentParser

/// The `amago` command: the service, training and benchmarks.
@main
struct Amago: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "amago",
        abstract: "Train in-context reinforcement-learning agents and serve their policies.",
        subcommands: [Serve.self, Train.self, Envs.self, Bench.self])
}
