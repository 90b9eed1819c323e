import Autograd

/// A component with parameters and sub-modules, found by reflection over stored properties so
/// that every layer gets stable, dotted names (`layers.0.attention.qkv.weight`) for free.
///
/// Stored `Tensor`s that require gradients are parameters; those that do not are buffers
/// (state saved with the parameters but not trained, such as σ-reparam's singular vectors).
open class Module {
    /// Training mode: dropout is active and running statistics update.
    public private(set) var isTraining = true
    /// The tensors and sub-modules found by reflection, on first use. A module's structure is
    /// fixed once it is built (its parts are `let`s), and reflection is far too slow to repeat
    /// on every mode switch or target update.
    private var cachedTensors: [(name: String, tensor: Tensor)]?
    private var cachedChildren: [Module]?

    /// A module in training mode.
    public init() {}

    /// Sets training (true) or evaluation (false) mode on this module and all sub-modules;
    /// training mode also discards what `freezeForInference()` precomputed.
    public func train(_ training: Bool = true) {
        visit { module in
            module.isTraining = training
            if training { module.discardInferenceCache() }
        }
    }

    /// Evaluation mode with the work that depends only on parameters done once, for a model
    /// that only runs inference from now on (e.g. σ-reparam's rescaled weights). Its parameters
    /// must not change afterwards; `train(true)` undoes it.
    public func freezeForInference() throws {
        train(false)
        var failure: Error?
        visit { module in
            if failure == nil { do { try module.buildInferenceCache() } catch { failure = error } }
        }
        if let failure { throw failure }
    }

    /// Precomputes parameter-only work for `freezeForInference()`; nothing by default.
    open func buildInferenceCache() throws {}

    /// Drops what `buildInferenceCache()` made; nothing by default.
    open func discardInferenceCache() {}

    /// Trainable tensors with their dotted names, in declaration order.
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        namedTensors().filter { $0.tensor.requiresGrad }
    }

    /// Parameters followed by buffers: everything a checkpoint must hold.
    public func namedTensors() -> [(name: String, tensor: Tensor)] {
        if let cachedTensors { return cachedTensors }
        var found: [(String, Tensor)] = []
        collect(prefix: "", into: &found)
        cachedTensors = found
        return found
    }

    /// The trainable tensors.
    public var parameters: [Tensor] { namedParameters().map(\.tensor) }

    /// Clears every parameter's gradient.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    private func visit(_ body: (Module) -> Void) {
        body(self)
        if cachedChildren == nil { cachedChildren = children().map(\.1) }
        for child in cachedChildren! { child.visit(body) }
    }

    private func collect(prefix: String, into found: inout [(String, Tensor)]) {
        for (label, value) in storedProperties() {
            Module.collect(value, name: prefix + label, into: &found)
        }
    }

    private static func collect(_ value: Any, name: String, into found: inout [(String, Tensor)]) {
        switch value {
        case let tensor as Tensor:
            found.append((name, tensor))
        case let module as Module:
            module.collect(prefix: name + ".", into: &found)
        case let list as [Module]:
            for (i, m) in list.enumerated() { m.collect(prefix: "\(name).\(i).", into: &found) }
        default:
            let mirror = Mirror(reflecting: value)
            if mirror.displayStyle == .optional, let wrapped = mirror.children.first?.value {
                collect(wrapped, name: name, into: &found)
            }
        }
    }

    private func children() -> [(String, Module)] {
        storedProperties().flatMap { label, value -> [(String, Module)] in
            switch value {
            case let m as Module: return [(label, m)]
            case let list as [Module]: return list.enumerated().map { ("\(label).\($0.offset)", $0.element) }
            default:
                let mirror = Mirror(reflecting: value)
                if mirror.displayStyle == .optional, let m = mirror.children.first?.value as? Module { return [(label, m)] }
                return []
            }
        }
    }

    /// Stored properties of this object's class and its superclasses below `Module`.
    private func storedProperties() -> [(String, Any)] {
        var chain: [Mirror] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        while let m = mirror, m.subjectType != Module.self {
            chain.append(m)
            mirror = m.superclassMirror
        }
        return chain.reversed().flatMap { m in
            m.children.compactMap { child in child.label.map { ($0.hasPrefix("_") ? String($0.dropFirst()) : $0, child.value) } }
        }
    }
}

/// The activation functions the agent's networks use.
public enum Activation: String, Codable, Sendable, CaseIterable {
    case leakyReLU = "leaky_relu", relu, gelu, tanh

    /// Applies the activation element-wise.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .leakyReLU: return x.leakyReLU()
        case .relu: return x.relu()
        case .gelu: return x.gelu()
        case .tanh: return x.tanh()
        }
    }
}
