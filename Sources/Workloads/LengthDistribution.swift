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
