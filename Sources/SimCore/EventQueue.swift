/// A min-priority queue of events ordered by (time, insertion sequence).
///
/// A 4-ary heap over one packed 128-bit key (time in the high half, sequence in
/// the low half): one integer compare per step instead of a two-field compare,
/// which measured 1.6–2.5× faster than swift-collections' Heap below 1M pending
/// events (shared/notes/swift-stack.md §3). Equal times pop in insertion order,
/// which is what makes a run deterministic.
///
/// The entries lie in memory the queue owns (it is not copyable), moved as plain bytes (payloads
/// are plain values: an event names what happened, by case and index): an array checked its
/// buffer's uniqueness, through a runtime call, at every push and every removal.
public struct EventQueue<Payload: BitwiseCopyable>: ~Copyable {
    @usableFromInline struct Entry: BitwiseCopyable {
        @usableFromInline var key: UInt128
        @usableFromInline var payload: Payload
        @inlinable init(key: UInt128, payload: Payload) { self.key = key; self.payload = payload }
    }

    /// Slots `0..<stored` hold the heap's entries (the root's is a hole while `rootTaken`); the
    /// rest of `capacity` is room. Slots are read unchecked: every index below is a heap node's,
    /// below `stored` by construction.
    @usableFromInline var entries: UnsafeMutablePointer<Entry>
    @usableFromInline var capacity: Int
    @usableFromInline var stored = 0
    @usableFromInline var nextSequence: UInt64 = 0
    /// Whether the root's event was taken (`takeFirst`) and its slot awaits the next push, which
    /// then sinks from the root: most events schedule one more, and filling the hole with it
    /// costs one pass down the heap where removing the root and adding the event cost two.
    @usableFromInline var rootTaken = false

    public init() {
        capacity = 64
        entries = .allocate(capacity: capacity)
    }

    deinit { entries.deallocate() }  // (the entries are plain bytes: nothing to deinitialize)

    @inlinable public var count: Int { stored - (rootTaken ? 1 : 0) }
    @inlinable public var isEmpty: Bool { count == 0 }

    /// The time of the earliest event, if any.
    @inlinable public var nextTime: SimTime? {
        precondition(!rootTaken, "settle the queue before reading it")
        return stored > 0 ? SimTime(nanoseconds: Int64(truncatingIfNeeded: entries.pointee.key >> 64)) : nil
    }

    @inlinable public mutating func push(_ payload: Payload, at time: SimTime) {
        precondition(time.nanoseconds >= 0, "events cannot be scheduled before time zero")
        let key = UInt128(UInt64(time.nanoseconds)) << 64 | UInt128(nextSequence)
        nextSequence &+= 1
        let entry = Entry(key: key, payload: payload)
        if rootTaken {
            rootTaken = false
            sink(entry)
            return
        }
        if stored == capacity { grow() }
        // The new slot is a hole that moves up past every later parent.
        // (Index arithmetic wraps rather than checks overflow: indices stay below the count.)
        var i = stored
        stored &+= 1
        while i > 0 {
            let parent = (i &- 1) >> 2
            if entries[parent].key <= key { break }
            entries[i] = entries[parent]
            i = parent
        }
        entries[i] = entry
    }

    /// Twice the room, the entries moved over.
    @usableFromInline mutating func grow() {
        let grown = UnsafeMutablePointer<Entry>.allocate(capacity: 2 * capacity)
        grown.initialize(from: entries, count: stored)
        entries.deallocate()
        entries = grown
        capacity *= 2
    }

    /// The earliest event, left in place until the next push takes its slot or `settle()` fills
    /// it; nil when there is none.
    @inlinable public mutating func takeFirst() -> (time: SimTime, payload: Payload)? {
        settle()
        guard stored > 0 else { return nil }
        rootTaken = true
        let top = entries.pointee
        return (SimTime(nanoseconds: Int64(truncatingIfNeeded: top.key >> 64)), top.payload)
    }

    /// Fills the slot of the event taken last, if no push has taken it.
    @inlinable @inline(__always) public mutating func settle() {
        if rootTaken { fillRoot() }
    }

    /// The last entry fills the root's slot (the rare path of `settle`, kept out of the event loop).
    @usableFromInline @inline(never) mutating func fillRoot() {
        rootTaken = false
        stored &-= 1
        if stored > 0 { sink(entries[stored]) }
    }

    /// Puts `entry` in the root's slot (a hole) and moves it down to its place: the hole goes down
    /// along the least children to the bottom, then `entry` up from there. A new event is mostly
    /// later than nearly all pending ones (a step ends one step on), so it belongs near the bottom:
    /// each level compares the children alone, not them and the entry.
    /// (Index arithmetic wraps rather than checks overflow: a child's index is below the count.)
    @inlinable @inline(__always) mutating func sink(_ entry: Entry) {
        let b = entries, n = stored
        var i = 0
        while true {
            let first = 4 &* i &+ 1
            if first >= n { break }
            var best = first
            if first &+ 3 < n {
                // Four children: the least found by selection, not branches (which the keys'
                // order makes unpredictable).
                let pair = b[first &+ 1].key < b[first].key ? first &+ 1 : first
                let other = b[first &+ 3].key < b[first &+ 2].key ? first &+ 3 : first &+ 2
                best = b[other].key < b[pair].key ? other : pair
            } else {
                for c in (first &+ 1)..<n where b[c].key < b[best].key { best = c }
            }
            b[i] = b[best]
            i = best
        }
        while i > 0 {
            let parent = (i &- 1) >> 2
            if b[parent].key <= entry.key { break }
            b[i] = b[parent]
            i = parent
        }
        b[i] = entry
    }

    @inlinable public mutating func pop() -> (time: SimTime, payload: Payload)? {
        let top = takeFirst()
        settle()
        return top
    }
}
