/// Samples kept as they come, in runs sorted as each fills, so that sorting them all at the end is
/// a merge of a few runs instead of a sort of every sample.
///
/// A run's summary sorted ten million latencies four times over once the simulation had ended:
/// about 0.6 s each, on two cores, for ten passes over the samples (counting, five radix passes,
/// copying back, converting, the mean and the deviation), each bound by memory. A tally fed on a
/// thread of its own (RecordStream) sorts each run of `runLength` samples as it fills, in the
/// core's cache, and merges runs of equal length as a binary counter adds (a sample takes part in
/// about log₂(n / runLength) merges, all while the simulation goes on); what is left at the end
/// is one run per set bit of n / runLength, and a short unsorted tail.
///
/// Runs are ordered by `radixKey`, the order RadixSort gives: the sorted samples are the same,
/// bit for bit, as a radix sort of them all (equal keys are equal values).
public struct SortedRuns<Value: RadixSortable>: Sendable {
    /// Samples per run sorted when it fills.
    public let runLength: Int
    @usableFromInline var values: [Value]
    /// Where each sorted run ends (the first starts at 0); the samples after the last end are
    /// not sorted yet.
    @usableFromInline var runEnds: [Int] = []

    /// - Parameter runLength: 128 Ki by default: as many eight-byte values and their spare fit in a
    ///   core's 2 MiB second-level cache (`lscpu` on this machine).
    @inlinable public init(runLength: Int = 1 << 17) {
        precondition(runLength > 0)
        self.runLength = runLength
        values = []
    }

    /// `values` as one unsorted tail (sorted when taken).
    @inlinable public init(_ values: [Value]) {
        self.init()
        self.values = values
    }

    @inlinable public var count: Int { values.count }
    @inlinable public var isEmpty: Bool { values.isEmpty }

    @inlinable var sortedCount: Int { runEnds.last ?? 0 }

    @inlinable public mutating func append(_ value: Value) {
        values.append(value)
        if values.count - sortedCount == runLength {
            sortTail()
            // Runs as long as the one before are merged into it: lengths stay distinct powers of two.
            while runEnds.count >= 2, length(ofRun: runEnds.count - 1) >= length(ofRun: runEnds.count - 2) { mergeLastTwo() }
        }
    }

    /// Every sample, ascending by key; none is kept.
    @inlinable public mutating func takeSorted() -> [Value] {
        sortTail()
        while runEnds.count >= 2 { mergeLastTwo() }
        runEnds = []
        defer { values = [] }
        return values
    }

    @inlinable func length(ofRun k: Int) -> Int { runEnds[k] - (k > 0 ? runEnds[k - 1] : 0) }

    /// Sorts the samples after the last run into a run of their own.
    @inlinable mutating func sortTail() {
        let start = sortedCount, n = values.count - start
        guard n > 0 else { return }
        values.withUnsafeMutableBufferPointer { all in
            var tail = UnsafeMutableBufferPointer(rebasing: all[start...])
            if n < RadixSort.threshold {
                tail.sort { $0.radixKey < $1.radixKey }
            } else {
                let spare = UnsafeMutableBufferPointer<Value>.allocate(capacity: n)
                defer { spare.deallocate() }
                RadixSort.sort(tail, spare: spare) { $0.radixKey }
            }
        }
        runEnds.append(values.count)
    }

    /// Merges the last run into the one before.
    @inlinable mutating func mergeLastTwo() {
        let end = runEnds.removeLast(), middle = sortedCount, start = runEnds.count >= 2 ? runEnds[runEnds.count - 2] : 0
        values.withUnsafeMutableBufferPointer { Self.merge($0, start, middle, end) }
        runEnds[runEnds.count - 1] = end
    }

    /// Merges the sorted ranges `start..<middle` and `middle..<end` of `v` in place, copying the
    /// shorter one out.
    @inlinable static func merge(_ v: UnsafeMutableBufferPointer<Value>, _ start: Int, _ middle: Int, _ end: Int) {
        if middle - start <= end - middle {
            // Forward from the left run's copy: the writes stay behind the right run's reads.
            let left = UnsafeMutableBufferPointer<Value>.allocate(capacity: middle - start)
            defer { left.deallocate() }
            left.baseAddress!.initialize(from: v.baseAddress! + start, count: middle - start)
            var i = 0, j = middle, k = start
            while i < left.count, j < end {
                if v[j].radixKey < left[i].radixKey {
                    v[k] = v[j]
                    j += 1
                } else {
                    v[k] = left[i]
                    i += 1
                }
                k += 1
            }
            while i < left.count {
                v[k] = left[i]
                i += 1
                k += 1
            }
        } else {
            // Backward from the right run's copy: the writes stay ahead of the left run's reads.
            let right = UnsafeMutableBufferPointer<Value>.allocate(capacity: end - middle)
            defer { right.deallocate() }
            right.baseAddress!.initialize(from: v.baseAddress! + middle, count: end - middle)
            var i = middle - 1, j = right.count - 1, k = end - 1
            while j >= 0, i >= start {
                if right[j].radixKey < v[i].radixKey {
                    v[k] = v[i]
                    i -= 1
                } else {
                    v[k] = right[j]
                    j -= 1
                }
                k -= 1
            }
            while j >= 0 {
                v[k] = right[j]
                j -= 1
                k -= 1
            }
        }
    }
}
