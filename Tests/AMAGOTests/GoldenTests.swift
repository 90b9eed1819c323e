import AMAGO
import Autograd
import Testing
import TestSupport

/// The algorithm's pure functions against values dumped from the reference implementation.
@Suite struct GoldenTests {
    @Test func nStepReturns_matchFixture() throws {
        let f = try Fixture("nstep")
        let (b, l) = (2, 7)
        let gammas = try f.floats(["inputs", "gamma"])
        let d = try f.floats(["inputs", "d"]), q = try f.floats(["inputs", "q"]), mask = try f.floats(["inputs", "mask"])
        for (rewardsPath, casesPath) in [(["inputs", "r"], ["cases"]), (["extra_cases", "r2"], ["extra_cases", "cases"])] {
            let r = try f.floats(rewardsPath)
            let cases = try f.value(casesPath) as! [Any]
            for index in 0..<cases.count {
                let n = try f.value(casesPath + [index, "n"]) as! Int
                let expected = try f.floats(casesPath + [index, "td_target"])
                let got = nStepReturns(rewards: r, dones: d, values: q, mask: mask, gammas: gammas, batch: b, steps: l, n: n)
                #expect(isClose(got, expected, relative: 1e-5), "n = \(n), \(rewardsPath)")
            }
        }
    }

    @Test func nStepReturns_specExample() {
        let mask: [Float] = [1, 1, 1, 0]
        let expected: [Int: [Float]] = [1: [6, 12, 3], 2: [7, 3.5, 3], 3: [2.75, 3.5, 3]]
        for (n, values) in expected {
            let y = nStepReturns(rewards: [1, 2, 3, 4], dones: [0, 0, 1, 0], values: [10, 20, 30, 40], mask: mask,
                                 gammas: [0.5], batch: 1, steps: 4, n: n)
            #expect(Array(y.prefix(3)) == values, "n = \(n)")
        }
    }

    @Test func symlogAndSymexp_matchFixture() throws {
        let f = try Fixture("symlog")
        let x = try f.floats(["x"]), y = try f.floats(["y"])
        #expect(isClose(x.map(Tensor.symlog), try f.floats(["symlog_x"])))
        #expect(isClose(x.map(Tensor.symlog).map(Tensor.symexp), try f.floats(["symexp_symlog_x"]), relative: 2e-6))
        #expect(isClose(y.map(Tensor.symexp), try f.floats(["symexp_y"]), relative: 2e-6))
        let tensor = try Tensor(shape: [x.count], data: x)
        #expect(tensor.symlog().data == x.map(Tensor.symlog))
    }

    @Test func filters_matchFixture() throws {
        let f = try Fixture("filters")
        let adv = try f.floats(["adv"])
        let cases: [(String, AdvantageFilter, Int)] = [
            ("binary_filter_float", .binary(), adv.count),
            ("exp_filter_default", .exponential(), adv.count),
            ("exp_filter_beta3", .exponential(beta: 3), 29),
            ("exp_filter_clipped", .exponential(beta: 0.5, clipAdvantageLow: -4, clipAdvantageHigh: 3, clipWeightLow: 0.05, clipWeightHigh: 2.5), adv.count),
            ("leaky_relu_filter", .leakyReLU(), adv.count),
            ("leaky_relu_filter_no_binary", .leakyReLU(addBinary: false), adv.count),
        ]
        for (key, filter, n) in cases {
            #expect(isClose(adv.prefix(n).map(filter.weight), try f.floats([key]), relative: 2e-6), "\(key)")
        }
        // Spec §9 item 27.
        #expect(AdvantageFilter.binary().weight(0) == 0 && AdvantageFilter.binary().weight(0.1) == 1)
        #expect(Swift.abs(AdvantageFilter.leakyReLU().weight(1) - 1.50525) < 1e-5)
        #expect(Swift.abs(AdvantageFilter.leakyReLU().weight(0) - 0.01) < 1e-6)
    }

    @Test(arguments: ["default", "custom"])
    func twoHot_matchesFixture(setting: String) throws {
        let f = try Fixture("twohot")
        let p: [Any] = ["settings", setting]
        let hyper = try f.value(p + ["hyperparameters"]) as! [String: Any]
        let bins = try ValueBins(count: hyper["output_bins"] as! Int, minReturn: Float(hyper["min_return"] as! Double),
                                 maxReturn: Float(hyper["max_return"] as! Double), usesSymlog: hyper["use_symlog"] as! Bool)
        #expect(bins.values == (try f.floats(p + ["bin_vals"])), "bin values bit-exact")
        let labels = bins.twoHotLabels(try f.floats(p + ["twohot_targets"]))
        #expect(isClose(labels, try f.floats(p + ["twohot_labels"]), relative: 1e-5, absolute: 1e-6))
        let gaussian = bins.gaussianLabels(try f.floats(p + ["hlgauss_targets"]), sigma: 0.75)
        #expect(isClose(gaussian, try f.floats(p + ["hlgauss_labels"]), relative: 1e-4, absolute: 1e-6))
        let logits = try f.array(p + ["bin_dist_logits"])
        let decoded = try bins.decode(logits: try Tensor(shape: logits.shape, data: logits.data))
        #expect(isClose(decoded.data, try f.floats(p + ["bin_dist_to_raw_vals"]), relative: 1e-4, absolute: 1e-5))
        // Labels → probabilities → value recovers the target (the reference's round trip).
        let roundTrip = try bins.decode(logits: try Tensor(shape: [5, bins.values.count], data: Array(labels.prefix(5 * bins.values.count))).log())
        #expect(isClose(roundTrip.data, try f.floats(p + ["twohot_roundtrip_vals"]), relative: 1e-4, absolute: 1e-5))
        let initValue = Float(try f.value(p + ["init_value"]) as! Double)
        let biasRow = try f.floats(p + ["init_value_bias_row"])
        #expect(isClose(bins.initialBias(for: initValue), Array(biasRow.prefix(bins.values.count)), relative: 1e-5))
    }

    @Test func twoHot_specValues() throws {
        let bins = try ValueBins()
        let labels = bins.twoHotLabels([0, 1, 10, -3, 1e6])
        func at(_ n: Int, _ i: Int) -> Float { labels[n * 128 + i] }
        #expect(at(0, 63) == 0.5 && at(0, 64) == 0.5)
        #expect(Swift.abs(at(1, 67) - 0.67692) < 1e-4 && Swift.abs(at(1, 68) - 0.32308) < 1e-4)
        #expect(Swift.abs(at(2, 76) - 0.27432) < 1e-4 && Swift.abs(at(3, 56) - 0.85384) < 1e-4)
        #expect(at(4, 127) == 1)
    }

    @Test func gammas_matchFixtures() throws {
        let twohot = try Fixture("twohot")
        let gammas = Gammas.list()
        #expect(gammas == (try twohot.floats(["gammas_for_feature"])))
        #expect(isClose(Gammas.feature(gammas), try twohot.floats(["gamma_feature_per_gamma"])))
        let multigamma = try Fixture("multigamma")
        #expect(gammas == (try multigamma.floats(["cases", "discrete_default_gamma0.999", "gammas"])))
        #expect(Gammas.list(multigamma: false) == (try multigamma.floats(["cases", "discrete_gamma0.999_use_multigamma_false", "gammas"])))
        #expect(Gammas.list(gamma: 0.95) == (try multigamma.floats(["cases", "discrete_gamma0.95", "gammas"])))
    }

    @Test(arguments: ["beta_5e-4", "beta_0.1"])
    func popArt_matchesFixture(name: String) throws {
        let f = try Fixture("popart")
        let c: [Any] = ["cases", name]
        let beta = Float(try f.value(c + ["beta"]) as! Double)
        let popart = PopArt(gammas: 3, beta: beta)
        #expect(isClose(popart.sigma, try f.floats(c + ["initial_state", "sigma"])))
        for u in 0..<5 {
            let values = try f.floats(c + ["updates", u, "val"])  // (3, 4, 1, 3, 1) → 12 rows × 3 gammas
            let mask = try f.floats(c + ["updates", u, "mask"])   // identical across gammas
            let rowMask = stride(from: 0, to: mask.count, by: 3).map { mask[$0] }
            popart.update(values: values, mask: rowMask)
            let after: [Any] = c + ["updates", u, "after"]
            #expect(isClose(popart.mean, try f.floats(after + ["mu"]), relative: 1e-5), "update \(u) mu")
            #expect(isClose(popart.secondMoment, try f.floats(after + ["nu"]), relative: 1e-5), "update \(u) nu")
            #expect(isClose(popart.sigma, try f.floats(after + ["sigma"]), relative: 1e-5), "update \(u) sigma")
            #expect(isClose(popart.scale, try f.floats(after + ["w"]), relative: 1e-5), "update \(u) w")
            #expect(isClose(popart.shift, try f.floats(after + ["b"]), relative: 1e-5, absolute: 1e-5), "update \(u) b")
        }
        let x = try f.array(c + ["x"])
        let tensor = try Tensor(shape: [8, 3], data: x.data)
        #expect(isClose(try popart.normalized(tensor).data, try f.floats(c + ["forward_normalized"]), relative: 1e-5, absolute: 1e-5))
        #expect(isClose(try popart.denormalized(tensor).data, try f.floats(c + ["forward_denormalized"]), relative: 1e-5, absolute: 1e-4))
        #expect(isClose(try popart.normalizeValues(tensor).data, try f.floats(c + ["normalize_values"]), relative: 1e-5, absolute: 1e-5))
    }

    @Test func popArt_updatePreservesDenormalizedOutputs() throws {
        let popart = PopArt(gammas: 2)
        #expect(popart.sigma == [10, 10])
        let x = randomTensor([5, 2], seed: 1, low: -3, high: 3)
        let before = try popart.denormalized(x).data
        popart.update(values: [5, 50, -3, 20, 8, 9], mask: [1, 1, 0])
        #expect(isClose(try popart.denormalized(x).data, before, relative: 1e-5, absolute: 1e-4))
        let disabled = PopArt(gammas: 2, enabled: false)
        #expect(try disabled.denormalized(x).data == x.data && (try disabled.normalizeValues(x).data) == x.data)
    }

    @Test func ensembleReduction_redqExpectations() {
        let rng = RandomGenerator(seed: 1)
        let rows = 40_000
        let values = (0..<4).flatMap { c in [Float](repeating: Float(c + 1), count: rows) }
        let minimum = reduceEnsemble(values, critics: 4, subset: 2, useMinimum: true, using: rng)
        let mean = reduceEnsemble(values, critics: 4, subset: 2, useMinimum: false, using: rng)
        #expect(Swift.abs(minimum.reduce(0, +) / Float(rows) - 1.875) < 0.02)
        #expect(Swift.abs(mean.reduce(0, +) / Float(rows) - 2.5) < 0.02)
    }
}
