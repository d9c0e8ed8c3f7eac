/// Events ordered by a packed 128-bit key (time in the high half, insertion sequence in the low
/// half), in a 4-ary heap: one integer compare per step instead of a two-field compare, which
/// measured 1.6–2.5× faster than swift-collections' Heap below 1M pending events
/// (shared/notes/swift-stack.md §3). The event queue keeps here the events too far ahead for its
/// wheel (see EventQueue).
///
/// The entries lie in memory the heap owns (it is not copyable), moved as plain bytes: an array
/// checked its buffer's uniqueness, through a runtime call, at every push and every removal.
/// Slots are read unchecked: every index below is a heap node's, below `count` by construction.
@usableFromInline struct EventHeap<Payload: BitwiseCopyable>: ~Copyable {
    @usableFromInline struct Entry: BitwiseCopyable {
        @usableFromInline var key: UInt128
        @usableFromInline var payload: Payload
        @inlinable init(key: UInt128, payload: Payload) { self.key = key; self.payload = payload }
    }

    @usableFromInline var entries: UnsafeMutablePointer<Entry>
    @usableFromInline var capacity = 16
    @usableFromInline private(set) var count = 0

    @usableFromInline init() { entries = .allocate(capacity: capacity) }
    @inlinable deinit { entries.deallocate() }  // (the entries are plain bytes: nothing to deinitialize)

    /// The least key, if any.
    @inlinable var minKey: UInt128? { count > 0 ? entries.pointee.key : nil }

    /// Adds `entry`. (Index arithmetic wraps rather than checks overflow: indices stay below the
    /// count.)
    @usableFromInline mutating func push(_ entry: Entry) {
        if count == capacity { grow() }
        count &+= 1
        place(entry, upFrom: count &- 1)
    }

    /// Puts `entry` at `hole` or, past each parent later than it, where that parent was.
    private func place(_ entry: Entry, upFrom hole: Int) {
        var i = hole
        while i > 0 {
            let parent = (i &- 1) >> 2
            if entries[parent].key <= entry.key { break }
            entries[i] = entries[parent]
            i = parent
        }
        entries[i] = entry
    }

    /// Removes and returns the entry with the least key (the heap must not be empty): the last
    /// entry fills the root's slot, whose hole goes down along the least children to the bottom,
    /// and the entry up from there.
    @usableFromInline mutating func popMin() -> Entry {
        let top = entries.pointee
        count &-= 1
        guard count > 0 else { return top }
        let entry = entries[count], b = entries, n = count
        var i = 0
        while true {
            let first = 4 &* i &+ 1
            if first >= n { break }
            var best = first
            for c in (first &+ 1)..<min(first &+ 4, n) where b[c].key < b[best].key { best = c }
            b[i] = b[best]
            i = best
        }
        place(entry, upFrom: i)
        return top
    }

    /// Twice the room, the entries moved over.
    private mutating func grow() {
        let grown = UnsafeMutablePointer<Entry>.allocate(capacity: 2 * capacity)
        grown.initialize(from: entries, count: count)
        entries.deallocate()
        entries = grown
        capacity *= 2
    }
}
