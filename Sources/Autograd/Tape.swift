/// Reverse-mode differentiation over the graph of recorded operations.
extension Tensor {
    /// Records `self` as the result of an operation on `inputs`.
    ///
    /// When recording is on and any input requires a gradient, `backward` is kept; it reads
    /// the result's gradient and adds into the inputs' gradients (see `gradBuffer`).
    @discardableResult
    func record(_ inputs: [Tensor], _ backward: @escaping (Tensor) -> Void) -> Tensor {
        guard GradMode.isEnabled, inputs.contains(where: { $0.requiresGrad }) else { return self }
        requiresGrad = true
        parents = inputs
        backwardFunction = backward
        return self
    }

    /// The gradient buffer, allocated as zeros on first use; kernels add into it in place.
    func withGradBuffer<R>(_ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        if grad == nil { grad = [Float](repeating: 0, count: data.count) }
        return grad!.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }

    /// The gradient buffer for a kernel that can either write or add its contribution: when
    /// there is no gradient yet the buffer is left uninitialised and `fresh` is true, and the
    /// kernel must then write every element (saving the zero fill and a read of it).
    func withGradBuffer<R>(overwriting body: (_ buffer: UnsafeMutablePointer<Float>, _ fresh: Bool) -> R) -> R {
        let fresh = grad == nil
        if fresh { grad = uninitializedFloats(data.count) }
        return grad!.withUnsafeMutableBufferPointer { body($0.baseAddress!, fresh) }
    }

    /// Adds `values` into the gradient.
    func accumulateGrad(_ values: [Float]) {
        guard requiresGrad else { return }
        if grad == nil { grad = values; return }
        grad!.withUnsafeMutableBufferPointer { g in
            values.withUnsafeBufferPointer { v in
                Parallel.forEachRange(v.count) { r in for i in r { g[i] += v[i] } }
            }
        }
    }

    /// Back-propagates from this tensor: every tensor it depends on that requires a gradient
    /// receives `∂(Σ seed·self)/∂tensor` added to its `grad`.
    ///
    /// The graph is walked in an iterative topological order (deep graphs cannot overflow the
    /// stack). Gradients of leaves accumulate across calls; intermediate results drop their
    /// gradients and history afterwards unless `retainGraph` is set.
    /// - Parameter seed: the gradient of the final quantity with respect to `self`; defaults to
    ///   ones (so a scalar loss gets `dLoss/dLoss = 1`).
    public func backward(seed: [Float]? = nil, retainGraph: Bool = false) throws {
        guard requiresGrad else {
            throw AutogradError.noGradient("backward: the tensor does not depend on anything that requires a gradient")
        }
        if let seed, seed.count != count {
            throw AutogradError.shapeMismatch(op: "backward seed", lhs: shape, rhs: [seed.count])
        }
        let order = topologicalOrder()
        accumulateGrad(seed ?? [Float](repeating: 1, count: count))
        for node in order.reversed() {
            guard let backward = node.backwardFunction else { continue }
            if node.grad != nil { backward(node) }
            if !retainGraph {
                node.backwardFunction = nil
                node.parents = []
                node.grad = nil
            }
        }
    }

    /// Nodes reachable from `self` through recorded history, each after all of its inputs.
    func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>([ObjectIdentifier(self)])
        var stack: [(node: Tensor, next: Int)] = [(self, 0)]
        while let (node, next) = stack.popLast() {
            if next < node.parents.count {
                stack.append((node, next + 1))
                let parent = node.parents[next]
                if parent.requiresGrad, visited.insert(ObjectIdentifier(parent)).inserted {
                    stack.append((parent, 0))
                }
            } else {
                order.append(node)
            }
        }
        return order
    }
}
