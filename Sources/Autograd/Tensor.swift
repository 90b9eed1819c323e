import Foundation

/// A dense, row-major `Float32` tensor that records the operations applied to it so that
/// gradients can flow back to it (reverse-mode automatic differentiation).
///
/// Every tensor owns a contiguous buffer. Operations allocate their result; views do not
/// exist, which keeps every kernel a plain loop over contiguous memory.
public final class Tensor: @unchecked Sendable {
    /// The extent of each axis, outermost first.
    public let shape: [Int]
    /// The elements in row-major order; `data.count == shape.product`.
    public internal(set) var data: [Float]
    /// The accumulated gradient of the last `backward()` with respect to this tensor.
    public internal(set) var grad: [Float]?
    /// Whether gradients are tracked for this tensor.
    public internal(set) var requiresGrad: Bool
    /// Tensors this one was computed from (empty for leaves).
    var parents: [Tensor] = []
    /// Accumulates this tensor's gradient into its parents' gradients.
    var backwardFunction: ((Tensor) -> Void)?

    /// Makes a tensor from row-major `data`.
    public init(shape: [Int], data: [Float], requiresGrad: Bool = false) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw AutogradError.invalidArgument(op: "Tensor", message: "negative extent in shape \(shape)")
        }
        guard shape.product == data.count else {
            throw AutogradError.invalidArgument(
                op: "Tensor", message: "shape \(shape) holds \(shape.product) elements, got \(data.count)")
        }
        _ = Allocator.configured
        self.shape = shape
        self.data = data
        self.requiresGrad = requiresGrad
    }

    /// Internal initialiser for results whose size is known to match.
    init(unchecked shape: [Int], data: [Float]) {
        _ = Allocator.configured
        self.shape = shape
        self.data = data
        self.requiresGrad = false
    }

    /// A rank-0 tensor holding `value`.
    public convenience init(_ value: Float) {
        self.init(unchecked: [], data: [value])
    }

    /// A tensor filled with `value`.
    public static func full(_ shape: [Int], value: Float) -> Tensor {
        Tensor(unchecked: shape, data: [Float](repeating: value, count: shape.product))
    }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int]) -> Tensor { full(shape, value: 0) }

    /// A tensor of ones.
    public static func ones(_ shape: [Int]) -> Tensor { full(shape, value: 1) }

    /// Number of elements.
    public var count: Int { data.count }

    /// Number of axes.
    public var rank: Int { shape.count }

    /// The single element of a one-element tensor.
    public var item: Float {
        precondition(data.count == 1, "item needs a one-element tensor, shape is \(shape)")
        return data[0]
    }

    /// Marks this leaf as a parameter whose gradient is wanted (or not).
    @discardableResult
    public func requiringGrad(_ flag: Bool = true) -> Tensor {
        requiresGrad = flag
        return self
    }

    /// A leaf copy that shares no history with this tensor.
    public func detached() -> Tensor { Tensor(unchecked: shape, data: data) }

    /// Overwrites the elements in place (the shape is kept); used by optimisers and loaders.
    public func assign(_ values: [Float]) throws {
        guard values.count == data.count else {
            throw AutogradError.shapeMismatch(op: "assign", lhs: shape, rhs: [values.count])
        }
        data = values
    }

    /// Mutates the elements in place through a buffer pointer (no gradient is recorded).
    public func withMutableData<R>(_ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try data.withUnsafeMutableBufferPointer { try body(&$0) }
    }

    /// Sets the gradient (used by optimisers, clipping and tests).
    public func setGrad(_ values: [Float]?) { grad = values }

    /// Clears the accumulated gradient.
    public func zeroGrad() { grad = nil }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = data.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(\(shape), [\(head)\(data.count > 8 ? ", …" : "")])"
    }
}

/// A buffer of `count` floats whose contents are undefined: for results that a kernel
/// overwrites completely (saves zeroing memory that is written straight after).
func uninitializedFloats(_ count: Int) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
}

extension Array where Element == Int {
    /// The product of the extents (1 for an empty shape).
    public var product: Int { reduce(1, *) }
}
