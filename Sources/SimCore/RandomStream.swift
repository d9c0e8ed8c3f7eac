import CGSL
import Foundation

/// One named, independently seeded source of random numbers, drawing from GSL.
///
/// Each consumer of randomness (arrivals, prompt lengths, ...) owns its own stream,
/// so adding draws to one never shifts the numbers another sees. Not thread-safe:
/// a stream belongs to one simulation.
public final class RandomStream {
    @usableFromInline let rng: UnsafeMutablePointer<gsl_rng>
    public let name: String

    /// A stream whose seed is a stable hash of the scenario seed and the name.
    public init(name: String, scenarioSeed: UInt64) {
        GSL.disableAbortOnError
        self.name = name
        rng = gsl_rng_alloc(cgsl_rng_mt19937())
        let h = StableHash.hash(name, seed: scenarioSeed)
        // MT19937 reads only the low 32 bits of its seed; fold the high half in.
        gsl_rng_set(rng, UInt((h ^ (h >> 32)) & 0xffff_ffff))
    }

    deinit { gsl_rng_free(rng) }

    /// Uniform on [0, 1).
    @inlinable public func uniform() -> Double { gsl_rng_uniform(rng) }

    /// Uniform on the closed integer range.
    @inlinable public func uniformInt(_ range: ClosedRange<Int>) -> Int {
        let span = UInt(range.upperBound - range.lowerBound) + 1
        return range.lowerBound + Int(gsl_rng_uniform_int(rng, span))
    }

    @inlinable public func exponential(mean: Double) -> Double { gsl_ran_exponential(rng, mean) }

    @inlinable public func gamma(shape: Double, scale: Double) -> Double { gsl_ran_gamma(rng, shape, scale) }

    /// Lognormal with parameters of the underlying normal (mu, sigma).
    @inlinable public func lognormal(mu: Double, sigma: Double) -> Double { gsl_ran_lognormal(rng, mu, sigma) }

    /// Pareto with shape `a` and scale (minimum) `b`.
    @inlinable public func pareto(shape a: Double, scale b: Double) -> Double { gsl_ran_pareto(rng, a, b) }
}

/// Process-wide GSL settings.
enum GSL {
    /// GSL aborts the process on a domain error by default; a simulator must report instead.
    static let disableAbortOnError: Void = { _ = gsl_set_error_handler_off() }()
}

/// A Zipf distribution over the ranks 1...n: P(k) ∝ 1 / k^s.
///
/// GSL has no Zipf sampler, so this inverts a precomputed CDF by binary search:
/// exact, O(log n) a draw, and deterministic.
public struct ZipfDistribution: Sendable {
    public let n: Int
    public let exponent: Double
    @usableFromInline let cdf: [Double]

    public init(n: Int, exponent: Double) {
        precondition(n >= 1 && exponent >= 0)
        self.n = n
        self.exponent = exponent
        var acc = 0.0
        var cdf = [Double]()
        cdf.reserveCapacity(n)
        for k in 1...n {
            acc += 1 / pow(Double(k), exponent)
            cdf.append(acc)
        }
        self.cdf = cdf.map { $0 / acc }
    }

    /// A rank in 1...n.
    @inlinable public func sample(_ stream: RandomStream) -> Int {
        let u = stream.uniform()
        var lo = 0, hi = cdf.count - 1
        while lo < hi {
            let mid = (lo + hi) >> 1
            if cdf[mid] > u { hi = mid } else { lo = mid + 1 }
        }
        return lo + 1
    }
}
