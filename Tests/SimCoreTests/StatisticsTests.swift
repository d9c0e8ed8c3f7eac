import CGSL
import Foundation
import Testing
@testable import SimCore

@Suite("Statistics")
struct StatisticsTests {
    @Test func exactPercentilesInterpolateLikeNumpy() {
        let s = SampleSummary((1...100).map(Double.init).shuffled())
        #expect(s.percentile(50) == 50.5)
        #expect(abs(s.percentile(90) - 90.1) < 1e-9)
        #expect(abs(s.percentile(99) - 99.01) < 1e-9)
        #expect(s.mean == 50.5 && s.min == 1 && s.max == 100)
        #expect(SampleSummary([]).quantile(0.5).isNaN)
    }

    /// Counted values sum exactly: a sum of doubles would lose the ones beside 2⁵³ (and depend
    /// on the order values came in).
    @Test func countedValuesMeanIsExactInAnyOrder() {
        var a = CountedValues(), b = CountedValues()
        let big = Int64(1) << 53
        // Summed as doubles, 2⁵³ + 1 rounds back to 2⁵³: a would lose its four ones, b would not.
        for v in [big, 1, 1, 1, 1] { a.add(v) }
        for v in [1, 1, 1, 1, big] { b.add(v) }
        #expect(a.mean == Double(big + 4) / 5 && b.mean == a.mean)
        #expect(a.quantiles([0, 0.5, 1]) == [1, 1, Double(big)])
        a.add(6, count: 3)
        #expect(a.total == 8 && a.mean == Double(big + 22) / 8)
    }

    /// The spread, like the mean, does not depend on the order values came in: the same values
    /// added in three orders (which place colliding values in different slots) give the same bits.
    @Test func countedValuesSpreadIsTheSameInAnyOrder() {
        let random = RandomStream(name: "counted values order", scenarioSeed: 3)
        // (Summed in slot order, as before, the descending order changed the last bit.)
        let values = (0..<50_000).map { _ in Int64(random.uniformInt(1...1_000)) * Int64(random.uniformInt(1...1_000_000)) }
        var ascending = CountedValues(), descending = CountedValues(), shuffled = CountedValues()
        for v in values.sorted() { ascending.add(v) }
        for v in values.sorted().reversed() { descending.add(v) }
        var order = Array(values.indices)
        for i in order.indices.reversed() { order.swapAt(i, random.uniformInt(0...i)) }
        for i in order { shuffled.add(values[i], count: 1) }
        let expected = SampleSummary(values.map(Double.init))
        for c in [ascending, descending, shuffled] {
            #expect(c.standardDeviation.bitPattern == ascending.standardDeviation.bitPattern)
            #expect(abs(c.standardDeviation - expected.standardDeviation) <= 1e-12 * expected.standardDeviation)
            #expect(c.summary(quantiles: [0.5, 0.99]).quantiles == [expected.quantile(0.5), expected.quantile(0.99)])
        }
    }

    /// Counted values' quantiles, from their radix sort, interpolate between the order statistics
    /// of the expanded values sorted by comparison: negatives before positives, extremes, repeats,
    /// and every rank of a small set.
    @Test func countedValuesQuantilesMatchTheExpandedValues() {
        /// Numpy's linear interpolation, as CountedValues writes it, over values sorted by comparison.
        func reference(_ values: [Double], _ q: Double) -> Double {
            let sorted = values.sorted(), h = Double(sorted.count - 1) * q, lower = Int(h.rounded(.down))
            let a = sorted[lower]
            return lower + 1 < sorted.count ? a + (h - Double(lower)) * (sorted[lower + 1] - a) : a
        }
        let random = RandomStream(name: "counted values quantiles", scenarioSeed: 4)
        var values: [Int64] = [Int64.max, Int64.min + 1, -1, 0, 1, -(1 << 40), 1 << 40]
        for _ in 0..<30_000 { values.append(Int64(random.uniformInt(-1_000_000...1_000_000)) * Int64(random.uniformInt(1...1_000))) }
        var c = CountedValues()
        for v in values { c.add(v, count: v % 3 == 0 ? 2 : 1) }
        let expanded = values.flatMap { v in Array(repeating: Double(v), count: v % 3 == 0 ? 2 : 1) }
        let qs = [0, 0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 1]
        #expect(c.quantiles(qs) == qs.map { reference(expanded, $0) })
        // Every twentieth quantile of five values: each rank is read, and its neighbour.
        var few = CountedValues()
        for v: Int64 in [7, -3, 7, 12, -40] { few.add(v) }
        let steps = (0...20).map { Double($0) / 20 }
        #expect(few.quantiles(steps) == steps.map { reference([7, -3, 7, 12, -40], $0) })
    }

    /// The radix sort by key keeps items of equal keys in their order (it sorts counted values'
    /// slots, and any caller may rely on it).
    @Test func radixSortByKeyIsStable() {
        var rng = SystemRandomNumberGenerator()
        var items = (0..<20_000).map { i in (key: UInt64.random(in: 0...300, using: &rng) << 40, order: i) }
        let expected = items.enumerated().sorted { ($0.element.key, $0.offset) < ($1.element.key, $1.offset) }.map(\.element.order)
        var spare = items
        items.withUnsafeMutableBufferPointer { all in
            spare.withUnsafeMutableBufferPointer { RadixSort.sort(all, spare: $0) { $0.key } }
        }
        #expect(items.map(\.order) == expected)
    }

    /// The radix sort orders as `<` does: negatives, zeros, infinities, subnormals and repeats,
    /// above and below the size where it hands over to a comparison sort.
    @Test func radixSortMatchesTheComparisonSort() {
        var rng = SystemRandomNumberGenerator()
        for n in [0, 5, RadixSort.threshold - 1, RadixSort.threshold, 50_000] {
            var values = (0..<n).map { i -> Double in
                switch i % 7 {
                case 0: return Double(Int.random(in: -5...5, using: &rng))
                case 1: return .infinity * (i % 2 == 0 ? 1 : -1)
                case 2: return Double.leastNonzeroMagnitude * Double(i % 3)
                default: return Double.random(in: -1e12...1e12, using: &rng)
                }
            }
            let expected = values.sorted()
            RadixSort.sort(&values)
            #expect(values == expected)
        }
        // Keys that differ in their lowest byte only: one pass, which leaves them in the spare array.
        var oneByte = (0..<10_000).map { Double(bitPattern: 0x4000_0000_0000_0000 | UInt64(($0 * 37) % 200)) }
        let oneByteSorted = oneByte.sorted()
        RadixSort.sort(&oneByte)
        #expect(oneByte == oneByteSorted)
        var latencies = (0..<10_000).map { Double($0 % 97) * 0.013 }
        let expected = latencies.sorted()
        RadixSort.sort(&latencies)
        #expect(latencies.elementsEqual(expected) { $0.bitPattern == $1.bitPattern })
    }

    /// Integers sort as `<` sorts them: negatives, zero, the extremes and repeats, small values
    /// (whose upper bytes every value shares) and large ones, above and below the hand-over size.
    @Test func radixSortOfIntegersMatchesTheComparisonSort() {
        var rng = SystemRandomNumberGenerator()
        for n in [0, 5, RadixSort.threshold - 1, RadixSort.threshold, 50_000] {
            var values = (0..<n).map { i -> Int64 in
                switch i % 6 {
                case 0: return Int64.random(in: -5...5, using: &rng)
                case 1: return i % 2 == 0 ? .max : .min
                case 2: return Int64.random(in: 0...(1 << 40), using: &rng)
                default: return Int64.random(in: .min ... .max, using: &rng)
                }
            }
            let expected = values.sorted()
            RadixSort.sort(&values)
            #expect(values == expected)
        }
        var spans = (0..<10_000).map { Int64(($0 * 7_919) % 3_000) * 1_000_003 }
        let expected = spans.sorted()
        RadixSort.sort(&spans)
        #expect(spans == expected)
    }

    /// The summary sorts ten million latencies where they lie rather than a copy of them.
    @Test func summarizingInPlaceGivesWhatACopyGives() {
        var rng = SystemRandomNumberGenerator()
        var samples = (0..<20_000).map { _ in Double.random(in: 0...30, using: &rng) }
        let fromCopy = SampleSummary(samples)
        let inPlace = SampleSummary(sorting: &samples)
        #expect(inPlace == fromCopy)
        #expect(samples == samples.sorted(), "the caller's samples are the ones sorted")
    }

    /// Quantiles interpolate as GSL's `gsl_stats_quantile_from_sorted_data` does, to the bit:
    /// random sets of every size up to a few dozen, at the ends, the quartiles and random points.
    @Test func quantilesRepeatGSLsArithmetic() {
        var rng = SystemRandomNumberGenerator()
        for n in 1...40 {
            let values = (0..<n).map { _ in Double.random(in: -1e3...1e6, using: &rng) }.sorted()
            let s = SampleSummary(sorted: values)
            for q in [0, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1] + (0..<20).map({ _ in Double.random(in: 0...1, using: &rng) }) {
                let gsl = values.withUnsafeBufferPointer { gsl_stats_quantile_from_sorted_data($0.baseAddress, 1, n, q) }
                #expect(s.quantile(q).bitPattern == gsl.bitPattern, "q \(q) of \(n)")
            }
        }
    }

    /// Spans in nanoseconds summarize as their seconds do, to the bit, without the array of seconds:
    /// mean, deviation, extremes and quantiles, with repeats, zeros and spans of hours.
    @Test func nanosecondsSummarizeAsTheirSeconds() {
        var rng = SystemRandomNumberGenerator()
        for n in [1, 2, 3, 100, 5_000] {
            let spans = (0..<n).map { i -> Int64 in
                i % 4 == 0 ? Int64(i % 3) : Int64.random(in: 0...(4 * 3_600 * 1_000_000_000), using: &rng)
            }.sorted()
            let fromSpans = SampleSummary(sortedNanoseconds: spans)
            let fromSeconds = SampleSummary(sorted: spans.map { SimTime(nanoseconds: $0).seconds })
            #expect(fromSpans.count == fromSeconds.count)
            for (a, b) in [(fromSpans.mean, fromSeconds.mean), (fromSpans.standardDeviation, fromSeconds.standardDeviation),
                           (fromSpans.min, fromSeconds.min), (fromSpans.max, fromSeconds.max)] {
                #expect(a.bitPattern == b.bitPattern)
            }
            for q in [0, 0.001, 0.5, 0.9, 0.99, 0.999, 1] + (0..<10).map({ _ in Double.random(in: 0...1, using: &rng) }) {
                #expect(fromSpans.quantile(q).bitPattern == fromSeconds.quantile(q).bitPattern)
            }
        }
        let none = SampleSummary(sortedNanoseconds: [])
        #expect(none.count == 0 && none.mean.isNaN && none.quantile(0.5).isNaN)
    }

    @Test func timeWeightedMeanWeighsByDuration() {
        var m = TimeWeightedMean()
        m.set(10, at: .zero)
        m.set(0, at: .seconds(1))
        // 10 for 1 s, then 0 for 3 s.
        #expect(abs(m.mean(until: .seconds(4)) - 2.5) < 1e-12)
    }

    @Test func logHistogramQuantilesStayWithinTheirErrorBound() {
        var h = LogHistogram(relativeError: 0.01)
        let s = RandomStream(name: "hist", scenarioSeed: 1)
        var xs: [Double] = []
        for _ in 0..<50_000 {
            let x = s.lognormal(mu: -3, sigma: 1)
            xs.append(x)
            h.add(x)
        }
        let exact = SampleSummary(xs)
        for q in [0.5, 0.9, 0.99] {
            // The histogram reports an order statistic within 1%; the exact
            // quantile interpolates between neighbours, which adds a hair.
            #expect(abs(h.quantile(q) / exact.quantile(q) - 1) < 0.012)
        }
        #expect(h.total == 50_000)
    }
}

@Suite("Least squares")
struct LeastSquaresTests {
    @Test func recoversKnownCoefficientsFromNoisyData() throws {
        let s = RandomStream(name: "fit", scenarioSeed: 3)
        var rows: [[Double]] = [], y: [Double] = []
        for _ in 0..<2000 {
            let a = s.uniform() * 10, b = s.uniform() * 5
            rows.append([1, a, b])
            y.append(2.5 + 0.75 * a - 1.25 * b + (s.uniform() - 0.5) * 0.01)
        }
        let fit = try LeastSquares.fit(rows: rows, y: y)
        #expect(abs(fit.coefficients[0] - 2.5) < 1e-3)
        #expect(abs(fit.coefficients[1] - 0.75) < 1e-3)
        #expect(abs(fit.coefficients[2] + 1.25) < 1e-3)
    }

    @Test func refusesUnderdeterminedOrRaggedInput() {
        #expect(throws: LeastSquares.FitError.self) { try LeastSquares.fit(rows: [[1, 2]], y: [1]) }
        #expect(throws: LeastSquares.FitError.self) { try LeastSquares.fit(rows: [[1, 2], [1]], y: [1, 2]) }
        #expect(throws: LeastSquares.FitError.self) { try LeastSquares.fit(rows: [], y: []) }
    }

    @Test func errorSummaryIsMedianAndP90OfAbsoluteRelativeError() {
        let e = ErrorSummary(predicted: [1.1, 0.9, 1.0, 2.0], measured: [1, 1, 1, 1])
        #expect(abs(e.medianAPE - 0.1) < 1e-12 && e.count == 4)
    }
}
