/// The requests of one micro-batch, held without reference counting.
///
/// Every request of a batch is also in its instance's `running` list for as long as the batch
/// exists (a request in flight is never preempted, aborted, migrated or handed over), and that
/// list keeps it alive. (An instance also lists the requests it admitted while forming a batch
/// this way, until the batch goes in flight.) Holding the batch's references unmanaged, and
/// lending them to the hot loops (`forEach`, `filter`) without a strong copy, saves a retain and
/// a release per request per step: at cluster scale they were a fifth of the run.
public struct Batch: RandomAccessCollection {
    private var entries: [Unmanaged<ServingRequest>] = []

    init() {}
    /// The requests of `list`, in order (which keeps them alive).
    init(_ list: ArraySlice<ServingRequest>) {
        entries = list.withUnsafeBufferPointer { $0.withMemoryRebound(to: Unmanaged<ServingRequest>.self, Array.init) }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { entries.count }
    public subscript(i: Int) -> ServingRequest { entries[i].takeUnretainedValue() }

    /// Calls `body` with each request in order, lent rather than retained.
    @inline(__always) func forEach(_ body: (ServingRequest) throws -> Void) rethrows {
        for e in entries { try e._withUnsafeGuaranteedRef(body) }
    }

    /// The requests that satisfy `predicate`, in order (only these are retained).
    @inline(__always) func filter(_ predicate: (ServingRequest) throws -> Bool) rethrows -> [ServingRequest] {
        var out: [ServingRequest] = []
        for e in entries where try e._withUnsafeGuaranteedRef(predicate) { out.append(e.takeUnretainedValue()) }
        return out
    }

    mutating func append(_ r: ServingRequest) { entries.append(Unmanaged.passUnretained(r)) }
    mutating func append(contentsOf rs: UnsafeBufferPointer<Unmanaged<ServingRequest>>) { entries.append(contentsOf: rs) }
    mutating func append(contentsOf other: Batch) { entries.append(contentsOf: other.entries) }
    /// Puts `other`'s requests first.
    mutating func prepend(_ other: Batch) { entries.insert(contentsOf: other.entries, at: 0) }
    mutating func remove(at i: Int) { entries.remove(at: i) }
    /// Empties the batch, keeping its storage for the next one. (Most batches emptied each step are
    /// empty already, and emptying an array costs a generic call even then.)
    mutating func removeAll() { if !entries.isEmpty { entries.removeAll(keepingCapacity: true) } }
}
