import Autograd
import Foundation
import NeuralNet
import Testing
import TestSupport

@Suite struct ParameterFileTests {
    func temporaryURL() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("amago-\(UUID().uuidString).safetensors")
    }

    func trainedModel() throws -> (Transformer, AdamW) {
        var c = TransformerConfiguration(inputs: 3)
        c.dModel = 8; c.heads = 2; c.dFeedForward = 16; c.layers = 1
        let model = Transformer(c, using: RandomGenerator(seed: 1))
        let optimizer = AdamW(parameters: model.namedParameters())
        for _ in 0..<3 {
            optimizer.zeroGrad()
            try model(randomTensor([2, 3, 3], seed: 2), times: Array(0..<6)).sum().backward()
            optimizer.step()
        }
        return (model, optimizer)
    }

    @Test func saveThenLoad_restoresParametersAndOptimizerBitExactly() throws {
        let (model, optimizer) = try trainedModel()
        let url = temporaryURL()
        defer { try? FileManager.default.removeItem(at: url) }
        try saveTrainingState(model: model, optimizer: optimizer, metadata: ["epoch": "7"], to: url)

        var c = TransformerConfiguration(inputs: 3)
        c.dModel = 8; c.heads = 2; c.dFeedForward = 16; c.layers = 1
        let fresh = Transformer(c, using: RandomGenerator(seed: 99))
        let freshOptimizer = AdamW(parameters: fresh.namedParameters())
        let metadata = try loadTrainingState(model: fresh, optimizer: freshOptimizer, from: url)
        #expect(metadata["epoch"] == "7")
        for (a, b) in zip(model.namedTensors(), fresh.namedTensors()) {
            #expect(a.name == b.name)
            #expect(a.tensor.data.map(\.bitPattern) == b.tensor.data.map(\.bitPattern), "\(a.name)")
        }
        #expect(freshOptimizer.stepCount == 3)
        #expect(freshOptimizer.firstMoments.map { $0.map(\.bitPattern) } == optimizer.firstMoments.map { $0.map(\.bitPattern) })
        #expect(freshOptimizer.secondMoments.map { $0.map(\.bitPattern) } == optimizer.secondMoments.map { $0.map(\.bitPattern) })
    }

    @Test func layout_isSafetensors() throws {
        let file = ParameterFile(tensors: [("a.b", [2], [1.5, -2])], metadata: ["k": "v"])
        let bytes = try file.encoded()
        let headerLength = Int(bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        #expect((8 + headerLength) % 8 == 0)
        let header = try JSONSerialization.jsonObject(with: bytes[8..<(8 + headerLength)]) as! [String: Any]
        let entry = header["a.b"] as! [String: Any]
        #expect(entry["dtype"] as? String == "F32" && entry["shape"] as? [Int] == [2] && entry["data_offsets"] as? [Int] == [0, 8])
        #expect((header["__metadata__"] as? [String: String]) == ["k": "v"])
        #expect(bytes.count == 8 + headerLength + 8)
        #expect(Array(bytes.suffix(4)) == [0x00, 0x00, 0x00, 0xC0])  // -2.0f little-endian
    }

    @Test func truncatedFile_namesTheTensor() throws {
        let file = ParameterFile(tensors: [("first", [4], [1, 2, 3, 4]), ("second", [3], [5, 6, 7])])
        let bytes = try file.encoded()
        #expect(throws: NeuralNetError.truncatedTensor(name: "second", needed: 28, available: 25)) {
            try ParameterFile.decode(bytes.prefix(bytes.count - 3))
        }
        #expect(throws: NeuralNetError.self) { try ParameterFile.decode(bytes.prefix(5)) }
    }

    @Test func wrongShape_namesTheTensor() throws {
        let (model, _) = try trainedModel()
        var file = ParameterFile(tensors: model.exportTensors(prefix: "model."))
        let index = file.tensors.firstIndex { $0.name == "model.finalNorm.gain" }!
        file.tensors[index].shape = [2, 4]
        do {
            try model.importTensors(from: file, prefix: "model.")
            Issue.record("a wrong shape was accepted")
        } catch let error as NeuralNetError {
            #expect(error == .shapeMismatch(name: "model.finalNorm.gain", expected: [8], found: [2, 4]))
            #expect(error.description.contains("model.finalNorm.gain"))
        }
        file.tensors.remove(at: index)
        #expect(throws: NeuralNetError.missingTensor("model.finalNorm.gain")) { try model.importTensors(from: file, prefix: "model.") }
    }
}
