import CGSL
import Foundation

/// The expected largest of `n` independent standard normal draws, by Blom's approximation
/// Φ⁻¹((n − 0.375)/(n + 0.25)) (within 0.07 of the exact value for n ≥ 2; 0 for n = 1).
public func expectedMaxOfNormals(_ n: Int) -> Double {
    guard n > 1 else { return 0 }
    return gsl_cdf_ugaussian_Pinv((Double(n) - 0.375) / (Double(n) + 0.25))
}

/// Exact order statistics over every sample (no sketching).
public struct SampleSummary: Sendable, Equatable {
    public let count: Int
    public let mean: Double
    public let min: Double
    public let max: Double
    /// The population standard deviation (numpy's std).
    public let standardDeviation: Double
    /// The samples, ascending: in seconds, or as spans of simulated time in nanoseconds, read as
    /// their seconds (a span's seconds never decrease as it grows, so they are in order too).
    private let sorted: Sorted
    private enum Sorted: Sendable, Equatable {
        case seconds([Double])
        case nanoseconds([Int64])

        var count: Int {
            switch self {
            case .seconds(let s): s.count
            case .nanoseconds(let s): s.count
            }
        }

        /// The i-th smallest sample, in seconds.
        @inline(__always) subscript(i: Int) -> Double {
            switch self {
            case .seconds(let s): s[i]
            case .nanoseconds(let s): SimTime(nanoseconds: s[i]).seconds
            }
        }
    }

    public init<S: Sequence>(_ samples: S) where S.Element == Double {
        var s = Array(samples)
        self.init(sorting: &s)
    }

    /// Sorts `samples` in place and keeps them, making no copy.
    public init(sorting samples: inout [Double]) {
        RadixSort.sort(&samples)
        self.init(sorted: samples)
    }

    /// Keeps `s`, which is sorted already (checked in debug builds).
    public init(sorted s: [Double]) {
        assert(zip(s, s.dropFirst()).allSatisfy { !($1 < $0) }, "samples not sorted")
        self.init(.seconds(s))
    }

    /// Keeps `spans` (nanoseconds), sorted already (checked in debug builds): the statistics are
    /// those of their seconds, to the bit, without an array of them (ten million are 80 MB).
    public init(sortedNanoseconds spans: [Int64]) {
        assert(zip(spans, spans.dropFirst()).allSatisfy { $0 <= $1 }, "samples not sorted")
        self.init(.nanoseconds(spans))
    }

    private init(_ sorted: Sorted) {
        let n = sorted.count
        self.sorted = sorted
        count = n
        guard n > 0 else {
            (mean, standardDeviation, min, max) = (.nan, .nan, .nan, .nan)
            return
        }
        (mean, standardDeviation) = switch sorted {
        case .seconds(let s): s.withUnsafeBufferPointer { b in Self.moments(n) { b[$0] } }
        case .nanoseconds(let s): s.withUnsafeBufferPointer { b in Self.moments(n) { SimTime(nanoseconds: b[$0]).seconds } }
        }
        min = sorted[0]
        max = sorted[n - 1]
    }

    /// The mean and population standard deviation of `value(0..<n)`, summed in that order (as a
    /// fold over the sorted samples sums them).
    @inline(__always) private static func moments(_ n: Int, _ value: (Int) -> Double) -> (mean: Double, std: Double) {
        var sum = 0.0
        for i in 0..<n { sum += value(i) }
        let m = sum / Double(n)
        var squares = 0.0
        for i in 0..<n { squares += (value(i) - m) * (value(i) - m) }
        return (m, (squares / Double(n)).squareRoot())
    }

    /// The q-quantile (0 ≤ q ≤ 1) with linear interpolation between order statistics, as numpy's
    /// default and GSL's `gsl_stats_quantile_from_sorted_data` (whose arithmetic this repeats, step
    /// for step: a test holds them equal to the bit).
    public func quantile(_ q: Double) -> Double {
        precondition((0...1).contains(q))
        guard count > 0 else { return .nan }
        let index = q * Double(count - 1)
        let lower = Int(index)
        let delta = index - Double(lower)
        guard lower < count - 1 else { return sorted[lower] }
        return (1 - delta) * sorted[lower] + delta * sorted[lower + 1]
    }

    /// The p-th percentile (0 ≤ p ≤ 100).
    public func percentile(_ p: Double) -> Double { quantile(p / 100) }
}

/// The time-weighted mean of a piecewise-constant signal (a queue length, blocks in use).
public struct TimeWeightedMean: Sendable {
    private var area = 0.0
    private var lastTime: SimTime
    private var value: Double
    private let start: SimTime

    public init(start: SimTime = .zero, initialValue: Double = 0) {
        self.start = start
        lastTime = start
        value = initialValue
    }

    /// The signal takes `newValue` from time `t` on.
    public mutating func set(_ newValue: Double, at t: SimTime) {
        precondition(t >= lastTime, "time-weighted samples must arrive in time order")
        area += value * (t - lastTime).seconds
        lastTime = t
        value = newValue
    }

    /// The mean over [start, t].
    public func mean(until t: SimTime) -> Double {
        let span = (t - start).seconds
        guard span > 0 else { return value }
        return (area + value * (t - lastTime).seconds) / span
    }
}

/// A histogram with logarithmic buckets for positive values, for quantities with
/// too many samples to keep (every inter-token gap of a million requests).
///
/// Bucket i holds values in [base·γ^i, base·γ^(i+1)); a quantile is reported at
/// the bucket's geometric middle, so its relative error is at most `relativeError`.
public struct LogHistogram: Sendable {
    public let relativeError: Double
    private let logGamma: Double
    private let base: Double
    private var counts: [Int] = []
    private var zeroCount = 0
    public private(set) var total = 0
    public private(set) var sum = 0.0
    // Consecutive equal values are common (every decode of one iteration sees
    // the same gap), so the last bucket is remembered to skip the logarithm.
    private var lastValue = Double.nan
    private var lastIndex = 0

    /// - Parameter relativeError: the bound on a reported quantile's relative error.
    /// - Parameter smallest: values below this are counted in the lowest bucket.
    public init(relativeError: Double = 0.01, smallest: Double = 1e-9) {
        self.relativeError = relativeError
        let gamma = (1 + relativeError) / (1 - relativeError)
        logGamma = log(gamma)
        base = smallest
    }

    public mutating func add(_ value: Double, count: Int = 1) {
        guard count > 0 else { return }
        total += count
        sum += value * Double(count)
        guard value > 0 else { zeroCount += count; return }
        if value == lastValue { counts[lastIndex] += count; return }
        let i = value <= base ? 0 : Int(log(value / base) / logGamma)
        lastValue = value
        lastIndex = i
        if i >= counts.count { counts.append(contentsOf: repeatElement(0, count: i - counts.count + 1)) }
        counts[i] += count
    }

    public var mean: Double { total == 0 ? .nan : sum / Double(total) }

    public func quantile(_ q: Double) -> Double {
        guard total > 0 else { return .nan }
        let rank = Swift.max(1, Int((q * Double(total)).rounded(.up)))
        var seen = zeroCount
        if seen >= rank { return 0 }
        for (i, c) in counts.enumerated() where c > 0 {
            seen += c
            if seen >= rank { return base * exp(logGamma * (Double(i) + 0.5)) }
        }
        return base * exp(logGamma * Double(counts.count))
    }
}

/// Absolute percentage errors of predictions against measurements, summarised
/// the way calibration reports them.
public struct ErrorSummary: Sendable, Equatable, Codable {
    public let count: Int
    /// Median and 90th percentile of |predicted / measured − 1|.
    public let medianAPE: Double
    public let p90APE: Double

    public init(predicted: [Double], measured: [Double]) {
        precondition(predicted.count == measured.count)
        let ape = SampleSummary(zip(predicted, measured).map { abs($0 / $1 - 1) })
        count = ape.count
        medianAPE = ape.quantile(0.5)
        p90APE = ape.quantile(0.9)
    }
}
