import SimCore

/// How far apart generated requests arrive.
public enum ArrivalProcess: Sendable, Equatable {
    /// Exponential gaps with the given mean rate (requests/s).
    case poisson(rate: Double)
    /// Gamma gaps with the given mean rate and coefficient of variation; cv > 1
    /// is burstier than Poisson, cv = 1 is Poisson, cv < 1 is more regular.
    case gamma(rate: Double, cv: Double)

    /// The same process at another mean rate.
    public func at(rate: Double) -> ArrivalProcess {
        switch self {
        case .poisson: .poisson(rate: rate)
        case .gamma(_, let cv): .gamma(rate: rate, cv: cv)
        }
    }

    /// The next inter-arrival gap, in seconds.
    public func nextGap(_ stream: RandomStream) -> Double {
        switch self {
        case .poisson(let rate):
            return stream.exponential(mean: 1 / rate)
        case .gamma(let rate, let cv):
            // Mean k·θ = 1/rate and CV = 1/√k give k = 1/cv², θ = cv²/rate.
            let shape = 1 / (cv * cv)
            return stream.gamma(shape: shape, scale: 1 / (rate * shape))
        }
    }
}

/// One stage of a load ramp: `rate` requests/s for `duration` seconds (inference-perf's and
/// `vllm bench serve`'s stages).
public struct LoadStage: Sendable, Equatable {
    public let rate: Double
    public let duration: Double

    public init(rate: Double, duration: Double) {
        self.rate = rate
        self.duration = duration
    }
}
