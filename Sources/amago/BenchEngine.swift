import ArgumentParser
import Autograd

struct BenchEngine: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "engine", abstract: "Tensor engine throughput.")
    @Flag(help: "Print one JSON object instead of a table.") var json = false
    func run() throws {}
}
