/// Errors of layers and parameter files.
public enum NeuralNetError: Error, CustomStringConvertible, Equatable {
    /// The file is not a readable safetensors file.
    case malformedFile(String)
    /// The tensor's bytes run past the end of the file.
    case truncatedTensor(name: String, needed: Int, available: Int)
    /// A tensor is stored with a different shape than the model has.
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    /// The model or optimizer has a tensor the file lacks.
    case missingTensor(String)
    /// A tensor is stored with an element type other than F32.
    case unsupportedType(name: String, dtype: String)

    public var description: String {
        switch self {
        case .malformedFile(let why): return "not a valid parameter file: \(why)"
        case let .truncatedTensor(name, needed, available):
            return "tensor '\(name)' is truncated: its data ends at byte \(needed) of the data section, which holds \(available)"
        case let .shapeMismatch(name, expected, found):
            return "tensor '\(name)' has shape \(found) in the file, the model expects \(expected)"
        case .missingTensor(let name): return "tensor '\(name)' is missing from the file"
        case let .unsupportedType(name, dtype): return "tensor '\(name)' has type \(dtype); only F32 is supported"
        }
    }
}
