import ArgumentParser
import Autograd

/// The `amago` command: the service, training and benchmarks.
@main
struct Amago: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "amago",
        abstract: "Train in-context reinforcement-learning agents and serve their policies.",
        subcommands: [Serve.self, Worker.self, Train.self, Envs.self, Bench.self])

    /// Tunes the allocator before any thread exists (glibc's `mallopt` is not thread-safe; made
    /// lazily by the first tensor, it raced allocations on the server's threads), then runs.
    static func main() {
        Allocator.configure()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
