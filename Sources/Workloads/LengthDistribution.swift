import Foundation
import SimCore

/// A distribution of token counts (prompt or output lengths). Draws are at least 1.
public enum LengthDistribution: Sendable, Equatable {
    case fixed(Int)
    /// Uniform on the closed range.
    case uniform(min: Int, max: Int)
    /// Lognormal with the given mean and log-space standard deviation `sigma`,
    /// clamped to [min, max].
    case lognormal(mean: Double, sigma: Double, min: Int, max: Int)
    /// Draws uniformly from observed values (for example a trace's column).
    case empirical([Int])
    /// Zipf (power law) on 1...n, P(k) ∝ k^−s, as the cumulative shares of 1...n (see `zipf(mean:max:)`).
    case zipf(cumulative: [Double])

    /// The Zipf law on 1...max whose mean is `mean` (Llumnix's generated lengths: a power law over a
    /// range, with a chosen mean): its exponent found by bisection, the mean falling as it grows.
    /// nil when no exponent in [0, 20] gives that mean (it must lie between 1 and (max + 1) / 2).
    public static func zipf(mean: Double, max: Int) -> LengthDistribution? {
        guard max >= 1, mean >= 1, mean <= Double(max + 1) / 2 else { return nil }
        func shares(_ s: Double) -> [Double] { (1...max).map { pow(Double($0), -s) } }
        func meanOf(_ s: Double) -> Double {
            let w = shares(s)
            return zip(1...max, w).reduce(0) { $0 + Double($1.0) * $1.1 } / w.reduce(0, +)
        }
        var lo = 0.0, hi = 20.0
        guard meanOf(hi) <= mean else { return nil }
        for _ in 0..<60 {
            let mid = (lo + hi) / 2
            if meanOf(mid) > mean { lo = mid } else { hi = mid }
        }
        let w = shares((lo + hi) / 2), total = w.reduce(0, +)
        var running = 0.0
        return .zipf(cumulative: w.map { running += $0 / total; return running })
    }

    public func sample(_ stream: RandomStream) -> Int {
        switch self {
        case .fixed(let n):
            return n
        case .uniform(let lo, let hi):
            return stream.uniformInt(lo...hi)
        case .lognormal(let mean, let sigma, let lo, let hi):
            // E[X] = exp(mu + sigma²/2), so mu = ln(mean) − sigma²/2.
            let x = stream.lognormal(mu: log(mean) - sigma * sigma / 2, sigma: sigma)
            // Clamp before converting: a wide sigma can draw values beyond Int.
            return Int(Swift.min(Double(hi), Swift.max(Double(lo), x.rounded())))
        case .empirical(let values):
            return values[stream.uniformInt(0...(values.count - 1))]
        case .zipf(let cumulative):
            // The first k whose cumulative share reaches the draw.
            let u = stream.uniform()
            var lo = 0, hi = cumulative.count - 1
            while lo < hi {
                let mid = (lo + hi) / 2
                if cumulative[mid] < u { lo = mid + 1 } else { hi = mid }
            }
            return lo + 1
        }
    }
}

/// Prompt and output lengths drawn together.
public enum LengthModel: Sendable, Equatable {
    /// Independent prompt and output distributions.
    case independent(prompt: LengthDistribution, output: LengthDistribution)
    /// Pairs observed together in a trace, drawn uniformly, which keeps the
    /// correlation between prompt and output lengths.
    case empiricalPairs(prompts: [Int], outputs: [Int])

    /// Prompt and output lengths from one trace's rows.
    public static func empirical(from rows: [TraceRow]) -> LengthModel {
        .empiricalPairs(prompts: rows.map(\.promptTokens), outputs: rows.map(\.outputTokens))
    }

    public func sample(prompt: RandomStream, output: RandomStream) -> (prompt: Int, output: Int) {
        switch self {
        case let .independent(p, o):
            return (p.sample(prompt), o.sample(output))
        case let .empiricalPairs(prompts, outputs):
            let i = prompt.uniformInt(0...(prompts.count - 1))
            return (prompts[i], outputs[i])
        }
    }
}
