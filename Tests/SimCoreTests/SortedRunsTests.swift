import Testing
@testable import SimCore

@Suite("Sorted runs")
struct SortedRunsTests {
    /// Samples taken in runs come out as a sort of them all orders them, bit for bit: integers and
    /// doubles (negatives, signed zeros, infinities, repeats), as many as fill no run, exactly some
    /// runs, and runs with a tail, with runs of a few samples and of more than the radix sort's
    /// hand-over size.
    @Test func runsGiveWhatSortingEverySampleGives() {
        var rng = SystemRandomNumberGenerator()
        for runLength in [3, 16, RadixSort.threshold + 5] {
            for n in [0, 1, runLength - 1, runLength, runLength + 1, 5 * runLength + 2, 8 * runLength, 13 * runLength + 7] {
                var spans = SortedRuns<Int64>(runLength: runLength), seconds = SortedRuns<Double>(runLength: runLength)
                var allSpans: [Int64] = [], allSeconds: [Double] = []
                for i in 0..<n {
                    let span: Int64 = i % 5 == 0 ? Int64.random(in: -3...3, using: &rng) : Int64.random(in: -(1 << 50)...(1 << 50), using: &rng)
                    let second: Double = switch i % 6 {
                    case 0: i % 12 == 0 ? 0.0 : -0.0
                    case 1: i % 2 == 0 ? .infinity : -.infinity
                    case 2: Double(Int.random(in: -4...4, using: &rng))
                    default: Double.random(in: -1e9...1e9, using: &rng)
                    }
                    spans.append(span)
                    seconds.append(second)
                    allSpans.append(span)
                    allSeconds.append(second)
                    // Runs of equal length merge as they form: one per bit set in the count of full runs.
                    let full = (i + 1) / runLength
                    #expect(spans.runEnds.count == full.nonzeroBitCount, "after \(i + 1) of \(n), runs of \(runLength)")
                }
                // (Compared apart from the expectation, which would print every sample on failure.)
                let spansSorted = spans.takeSorted() == allSpans.sorted()
                let secondsSorted = seconds.takeSorted().map(\.bitPattern) == allSeconds.sorted { $0.radixKey < $1.radixKey }.map(\.bitPattern)
                #expect(spansSorted && secondsSorted, "\(n) samples in runs of \(runLength)")
                #expect(spans.isEmpty && seconds.isEmpty, "nothing is kept once taken")
            }
        }
    }

    /// Merging copies out the shorter run, whichever side it is on, and merges forward or backward.
    @Test func mergesEitherWay() {
        for (left, right) in [([1, 4, 4, 9], [0, 2, 4, 10, 11, 12]), ([0, 2, 4, 10, 11, 12], [1, 4, 4, 9]), ([5], [5]), ([1, 2], [3, 4]), ([3, 4], [1, 2])] {
            var values = (left + right).map(Int64.init)
            values.withUnsafeMutableBufferPointer { SortedRuns<Int64>.merge($0, 0, left.count, left.count + right.count) }
            #expect(values == (left + right).sorted().map(Int64.init))
        }
        // Merging runs in the middle of the samples leaves those around them alone.
        var values: [Int64] = [9, 9, 3, 7, 1, 8, -1, -1]
        values.withUnsafeMutableBufferPointer { SortedRuns<Int64>.merge($0, 2, 4, 6) }
        #expect(values == [9, 9, 1, 3, 7, 8, -1, -1])
    }

    /// Samples given all at once are sorted when taken, as a radix sort of them would be.
    @Test func anArrayIsOneUnsortedTail() {
        let values = (0..<10_000).map { Int64(($0 * 7_919) % 3_001) - 1_500 }
        var runs = SortedRuns(values)
        #expect(runs.count == 10_000 && runs.runEnds.isEmpty)
        #expect(runs.takeSorted() == values.sorted())
    }
}
