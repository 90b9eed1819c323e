import Autograd
import Foundation

/// Named float tensors in one file, in the safetensors layout (readable by other tools):
/// an 8-byte little-endian header length, a JSON header mapping each name to its `dtype`,
/// `shape` and `data_offsets` (plus a `__metadata__` map of strings), then the raw
/// little-endian data.
public struct ParameterFile {
    /// Tensors in file order.
    public var tensors: [(name: String, shape: [Int], data: [Float])]
    /// Free-form string metadata.
    public var metadata: [String: String]

    /// A file holding `tensors` and `metadata`.
    public init(tensors: [(name: String, shape: [Int], data: [Float])] = [], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor stored under `name`.
    public func tensor(named name: String) -> (shape: [Int], data: [Float])? {
        tensors.first { $0.name == name }.map { ($0.shape, $0.data) }
    }

    /// The file's bytes.
    public func encoded() throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for t in tensors {
            header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.data.count]]
            offset += 4 * t.data.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces so the data section starts 8-byte aligned.
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var out = Data()
        out.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for t in tensors {
            t.data.withUnsafeBufferPointer { buffer in
                for value in buffer { withUnsafeBytes(of: value.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
            }
        }
        return out
    }

    /// Writes the file atomically.
    public func write(to url: URL) throws {
        try encoded().write(to: url, options: .atomic)
    }

    /// Reads a file written by `write(to:)` or any safetensors writer with F32 tensors.
    public static func read(from url: URL) throws -> ParameterFile {
        try decode(Data(contentsOf: url))
    }

    /// The `__metadata__` map of a file, reading only its header (not the tensor data).
    public static func readMetadata(from url: URL) throws -> [String: String] {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let prefix = try handle.read(upToCount: 8) ?? Data()
        guard prefix.count == 8 else { throw NeuralNetError.malformedFile("shorter than the 8-byte header length") }
        let headerLength = prefix.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= 100_000_000 else { throw NeuralNetError.malformedFile("header length \(headerLength) is implausible") }
        let headerData = try handle.read(upToCount: Int(headerLength)) ?? Data()
        guard headerData.count == Int(headerLength),
              let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw NeuralNetError.malformedFile("the header is not a JSON object")
        }
        return header["__metadata__"] as? [String: String] ?? [:]
    }

    /// Parses safetensors bytes.
    public static func decode(_ bytes: Data) throws -> ParameterFile {
        guard bytes.count >= 8 else { throw NeuralNetError.malformedFile("shorter than the 8-byte header length") }
        let headerLength = bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw NeuralNetError.malformedFile("header length \(headerLength) exceeds the file's \(bytes.count) bytes")
        }
        let start = bytes.startIndex + 8
        let headerData = bytes[start..<(start + Int(headerLength))]
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw NeuralNetError.malformedFile("the header is not a JSON object")
        }
        let dataStart = start + Int(headerLength)
        let available = bytes.endIndex - dataStart
        var file = ParameterFile(metadata: header["__metadata__"] as? [String: String] ?? [:])
        var entries: [(name: String, shape: [Int], begin: Int, end: Int)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw NeuralNetError.malformedFile("entry '\(name)' lacks dtype, shape or data_offsets")
            }
            guard dtype == "F32" else { throw NeuralNetError.unsupportedType(name: name, dtype: dtype) }
            guard offsets[0] >= 0, offsets[1] - offsets[0] == 4 * shape.product, shape.allSatisfy({ $0 >= 0 }) else {
                throw NeuralNetError.malformedFile("entry '\(name)': offsets \(offsets) do not fit shape \(shape)")
            }
            guard offsets[1] <= available else {
                throw NeuralNetError.truncatedTensor(name: name, needed: offsets[1], available: available)
            }
            entries.append((name, shape, offsets[0], offsets[1]))
        }
        for e in entries.sorted(by: { $0.begin < $1.begin }) {
            let count = (e.end - e.begin) / 4
            var values = [Float](repeating: 0, count: count)
            bytes[(dataStart + e.begin)..<(dataStart + e.end)].withUnsafeBytes { raw in
                for i in 0..<count {
                    values[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
            }
            file.tensors.append((e.name, e.shape, values))
        }
        return file
    }
}

extension Module {
    /// Parameters and buffers under their dotted names, prefixed.
    public func exportTensors(prefix: String = "") -> [(name: String, shape: [Int], data: [Float])] {
        namedTensors().map { (prefix + $0.name, $0.tensor.shape, $0.tensor.data) }
    }

    /// Overwrites every parameter and buffer from `file`; all are checked before any is changed.
    public func importTensors(from file: ParameterFile, prefix: String = "") throws {
        let targets = namedTensors()
        var values: [[Float]] = []
        for (name, tensor) in targets {
            guard let stored = file.tensor(named: prefix + name) else { throw NeuralNetError.missingTensor(prefix + name) }
            guard stored.shape == tensor.shape else {
                throw NeuralNetError.shapeMismatch(name: prefix + name, expected: tensor.shape, found: stored.shape)
            }
            values.append(stored.data)
        }
        for ((_, tensor), data) in zip(targets, values) { try tensor.assign(data) }
    }
}

extension AdamW {
    /// Moment estimates as named tensors and the step count as metadata.
    public func exportState(prefix: String = "optimizer.") -> (tensors: [(name: String, shape: [Int], data: [Float])], metadata: [String: String]) {
        var tensors: [(String, [Int], [Float])] = []
        for (k, (name, p)) in parameters.enumerated() {
            tensors.append(("\(prefix)m.\(name)", p.shape, firstMoments[k]))
            tensors.append(("\(prefix)v.\(name)", p.shape, secondMoments[k]))
        }
        return (tensors, ["\(prefix)step": String(stepCount)])
    }

    /// Restores moments and step count written by `exportState`.
    public func importState(from file: ParameterFile, prefix: String = "optimizer.") throws {
        guard let step = file.metadata["\(prefix)step"].flatMap(Int.init) else {
            throw NeuralNetError.missingTensor("\(prefix)step (metadata)")
        }
        var m: [[Float]] = [], v: [[Float]] = []
        for (name, p) in parameters {
            for (kind, list) in [("m", 0), ("v", 1)] {
                let key = "\(prefix)\(kind).\(name)"
                guard let stored = file.tensor(named: key) else { throw NeuralNetError.missingTensor(key) }
                guard stored.shape == p.shape else { throw NeuralNetError.shapeMismatch(name: key, expected: p.shape, found: stored.shape) }
                if list == 0 { m.append(stored.data) } else { v.append(stored.data) }
            }
        }
        firstMoments = m
        secondMoments = v
        stepCount = step
    }
}

/// Saves a model's parameters and buffers and, optionally, its optimizer's state in one file.
public func saveTrainingState(model: Module, optimizer: AdamW?, metadata: [String: String] = [:], to url: URL) throws {
    var file = ParameterFile(tensors: model.exportTensors(prefix: "model."), metadata: metadata)
    if let optimizer {
        let state = optimizer.exportState()
        file.tensors += state.tensors
        file.metadata.merge(state.metadata) { $1 }
    }
    try file.write(to: url)
}

/// Restores what `saveTrainingState` wrote; returns the file's metadata.
@discardableResult
public func loadTrainingState(model: Module, optimizer: AdamW?, from url: URL) throws -> [String: String] {
    let file = try ParameterFile.read(from: url)
    try model.importTensors(from: file, prefix: "model.")
    try optimizer?.importState(from: file)
    return file.metadata
}
