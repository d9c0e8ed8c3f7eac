import SimCore

/// The cost model against whole measured serving runs: Splitwise's
/// perf_model.csv (DGX-A100/H100, Llama-2-70B at TP 2/4/8; prompt time of a
/// batch and time per generated token), which also fits the fixed per-step cost.
public enum EndToEndCheck {
    /// Per GPU: the fitted step overhead and the held-out error of each phase.
    public struct Result: Sendable, Equatable, Codable {
        public let accelerator: String
        public let stepOverhead: Double
        public let fittedRuns: Int
        public let promptHeldOutError: ErrorSummary
        public let tokenHeldOutError: ErrorSummary
    }

    struct Run {
        let accelerator: Accelerator
        let model: ModelArchitecture
        let tp: Int
        let prompt: Int
        let batch: Int
        let tokens: Int
        let promptSeconds: Double
        let tokenSeconds: Double
        let heldOut: Bool
    }

    static let models = ["llama2-70b": "Llama-2-70B"]
    static let hardware = ["a100-80gb": "A100-80GB", "h100-80gb": "H100-SXM-80GB"]

    static func runs(path: String) throws -> [Run] {
        let table = try ProfileTable(path: path, required: ["model", "hardware", "prompt_size", "batch_size", "token_size",
                                                             "prompt_time", "token_time", "tensor_parallel"])
        var runs: [Run] = []
        for row in table.rows.indices {
            guard let m = models[String(table.text(row, "model"))].flatMap(ModelCatalog.named),
                  let a = hardware[String(table.text(row, "hardware"))].flatMap(AcceleratorCatalog.named)
            else { continue }
            let key = KernelProfiles.stableName(path) + "|\(table.lines[row])"
            runs.append(Run(accelerator: a, model: m, tp: Int(try table.number(row, "tensor_parallel")),
                            prompt: Int(try table.number(row, "prompt_size")), batch: Int(try table.number(row, "batch_size")),
                            tokens: Int(try table.number(row, "token_size")),
                            promptSeconds: try table.number(row, "prompt_time") * 1e-3,
                            tokenSeconds: try table.number(row, "token_time") * 1e-3,
                            heldOut: KernelProfiles.isHeldOut(key)))
        }
        return runs
    }

    /// Model time of a run's prompt phase and of one of its decode steps (at
    /// the mean context over the generation), without the step overhead.
    static func predict(_ r: Run, profile: DeviceProfile?) -> (prompt: Double, token: Double) {
        let timings: CostModel.TimingSource = profile.map { .profile($0) } ?? .roofline
        let cost = CostModel(model: r.model, accelerator: r.accelerator, layout: ParallelLayout(tp: r.tp),
                             engine: EngineCatalog.kernelsOnly, timings: timings)
        var prefill = BatchShape(), decode = BatchShape()
        for _ in 0..<r.batch {
            prefill.addPrefill(tokens: r.prompt, cached: 0, samples: true)
            decode.addDecode(context: r.prompt + r.tokens / 2)
        }
        return (cost.iterationTime(prefill), cost.iterationTime(decode))
    }

    /// Fits one step overhead per GPU on four runs in five — the constant c
    /// minimising Σ((model + c − measured)/measured)² over both phases — and
    /// reports the error on the fifth.
    public static func evaluate(path: String, profiles: [DeviceProfile]) throws -> [Result] {
        let all = try runs(path: path)
        var results: [Result] = []
        for name in Set(all.map(\.accelerator.name)).sorted() {
            let runs = all.filter { $0.accelerator.name == name }
            let profile = profiles.first { $0.accelerator == name }
            let predicted = runs.map { predict($0, profile: profile) }
            var num = 0.0, den = 0.0
            for (r, p) in zip(runs, predicted) where !r.heldOut {
                for (model, measured) in [(p.prompt, r.promptSeconds), (p.token, r.tokenSeconds)] {
                    num += (measured - model) / (measured * measured)
                    den += 1 / (measured * measured)
                }
            }
            let overhead = max(0, num / den)
            let held = zip(runs, predicted).filter { $0.0.heldOut }
            results.append(Result(
                accelerator: name, stepOverhead: overhead, fittedRuns: runs.count - held.count,
                promptHeldOutError: ErrorSummary(predicted: held.map { $0.1.prompt + overhead }, measured: held.map(\.0.promptSeconds)),
                tokenHeldOutError: ErrorSummary(predicted: held.map { $0.1.token + overhead }, measured: held.map(\.0.tokenSeconds))))
        }
        return results
    }
}
