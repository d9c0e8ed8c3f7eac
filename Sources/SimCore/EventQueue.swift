/// A min-priority queue of events ordered by (time, insertion sequence): equal times pop in
/// insertion order, which is what makes a run deterministic.
///
/// A timing wheel: the next 4,096 slots of 2¹⁵ ns (32.8 µs; 134 ms in all) from the earliest
/// event's, each a list of its events sorted by key (time in the high half of a 128-bit key,
/// sequence in the low half), with a bit per slot that holds any. An event further ahead waits
/// in a heap (`EventHeap`), and each pop takes the lesser of the wheel's first event and the
/// heap's, so the order is exact whatever the times. A serving cluster's events are mostly the
/// ends of its instances' steps, milliseconds ahead: a push is then a slot's list, and a pop the
/// next set bit, where the 4-ary heap this replaces walked all its levels at every event (a
/// tenth of a 256-instance run's instructions).
///
/// The nodes, slots and bits lie in memory the queue owns (it is not copyable), read unchecked:
/// a slot's index is masked into range, and a node's is one the queue handed out.
public struct EventQueue<Payload: BitwiseCopyable>: ~Copyable {
    @usableFromInline typealias Entry = EventHeap<Payload>.Entry

    /// One event in a slot's list (32 bytes for a cluster's events).
    @usableFromInline struct Node: BitwiseCopyable {
        @usableFromInline var key: UInt128
        @usableFromInline var payload: Payload
        /// The next node of the slot (or of the free list); -1 ends it.
        @usableFromInline var next: Int32
        @inlinable init(key: UInt128, payload: Payload, next: Int32) { (self.key, self.payload, self.next) = (key, payload, next) }
    }

    @inlinable static var slotShift: Int64 { 15 }
    @inlinable static var slotCount: Int { 4096 }

    @usableFromInline var nodes: UnsafeMutablePointer<Node>
    @usableFromInline var nodeCapacity = 64
    /// Nodes handed out so far (those below are in a list or free), and the first free one.
    @usableFromInline var nodesUsed = 0
    @usableFromInline var freeNode: Int32 = -1
    /// Each slot's first and last node (-1: none; side by side, in one cache line), and a bit per
    /// slot that has one.
    @usableFromInline struct Ends: BitwiseCopyable {
        @usableFromInline var head: Int32
        @usableFromInline var tail: Int32
        @inlinable init(head: Int32, tail: Int32) { (self.head, self.tail) = (head, tail) }
    }
    @usableFromInline var ends: UnsafeMutablePointer<Ends>
    @usableFromInline var occupied: UnsafeMutablePointer<UInt64>
    /// The absolute slot (time >> slotShift) of the wheel's first: its events lie in slots
    /// `cursor..<cursor + slotCount`, each at index slot mod slotCount.
    @usableFromInline var cursor: Int64 = 0
    @usableFromInline var inWheel = 0
    @usableFromInline var later = EventHeap<Payload>()
    @usableFromInline var nextSequence: UInt64 = 0
    /// Where the least event is (`leastPlace()`): a slot's index, or one of these.
    @inlinable static var none: Int { -2 }
    @inlinable static var inHeap: Int { -1 }

    public init() {
        nodes = .allocate(capacity: nodeCapacity)
        ends = .allocate(capacity: Self.slotCount)
        ends.initialize(repeating: Ends(head: -1, tail: -1), count: Self.slotCount)
        occupied = .allocate(capacity: Self.slotCount / 64)
        occupied.initialize(repeating: 0, count: Self.slotCount / 64)
    }

    deinit {
        nodes.deallocate()
        ends.deallocate()
        occupied.deallocate()
    }

    @inlinable public var count: Int { inWheel + later.count }
    @inlinable public var isEmpty: Bool { count == 0 }

    @inlinable public mutating func push(_ payload: Payload, at time: SimTime) {
        precondition(time.nanoseconds >= 0, "events cannot be scheduled before time zero")
        let key = UInt128(UInt64(time.nanoseconds)) << 64 | UInt128(nextSequence)
        nextSequence &+= 1
        let ahead = (time.nanoseconds >> Self.slotShift) &- cursor
        guard ahead >= 0, ahead < Self.slotCount else {
            later.push(Entry(key: key, payload: payload))
            return
        }
        let slot = Int(truncatingIfNeeded: (time.nanoseconds >> Self.slotShift)) & (Self.slotCount &- 1)
        let node = takeNode()
        // Into the slot's list, sorted by key. An event later than every one there (nearly always:
        // the slot is empty, or steps that end together were pushed in order) goes last at once.
        var next: Int32 = -1
        let head = ends[slot].head, tail = ends[slot].tail
        if head < 0 {
            ends[slot] = Ends(head: node, tail: node)
            occupied[slot >> 6] |= 1 << UInt64(slot & 63)
        } else if nodes[Int(tail)].key < key {
            nodes[Int(tail)].next = node
            ends[slot].tail = node
        } else if key < nodes[Int(head)].key {
            (ends[slot].head, next) = (node, head)
        } else {
            var previous = head
            next = nodes[Int(previous)].next
            while nodes[Int(next)].key < key {  // (ends before the tail, which is later)
                previous = next
                next = nodes[Int(next)].next
            }
            nodes[Int(previous)].next = node
        }
        nodes[Int(node)] = Node(key: key, payload: payload, next: next)
        inWheel &+= 1
    }

    /// A node to fill: a freed one, or the next never used.
    @inlinable @inline(__always) mutating func takeNode() -> Int32 {
        if freeNode >= 0 {
            let node = freeNode
            freeNode = nodes[Int(node)].next
            return node
        }
        if nodesUsed == nodeCapacity { growNodes() }
        nodesUsed &+= 1
        return Int32(nodesUsed &- 1)
    }

    /// Twice the nodes, the used ones moved over (at most 2³¹ events pend).
    @usableFromInline mutating func growNodes() {
        precondition(nodeCapacity < Int(Int32.max) / 2, "too many pending events")
        let grown = UnsafeMutablePointer<Node>.allocate(capacity: 2 * nodeCapacity)
        grown.initialize(from: nodes, count: nodesUsed)
        nodes.deallocate()
        nodes = grown
        nodeCapacity *= 2
    }

    /// The earliest event, removed; nil when there is none. (The event loop goes through
    /// `leastPlace()`, to check the event's time before it removes it.)
    @inlinable public mutating func pop() -> (time: SimTime, payload: Payload)? {
        let place = leastPlace()
        return place == Self.none ? nil : remove(at: place)
    }

    /// Where the least event is (`none` when there is none): the wheel's first set bit from the
    /// cursor's slot on, or the heap's root (`inHeap`) if that is less.
    @inlinable @inline(__always) func leastPlace() -> Int {
        var found = Self.none
        if inWheel > 0 {
            let mask = Self.slotCount &- 1, start = Int(truncatingIfNeeded: cursor) & mask
            var word = start >> 6
            var bits = occupied[word] & (~0 << UInt64(start & 63))
            // Round the wheel once (the start's word twice, for the slots before the start in it).
            while bits == 0 {
                word = (word &+ 1) & (Self.slotCount / 64 &- 1)
                bits = occupied[word]
            }
            found = word << 6 | bits.trailingZeroBitCount
        }
        if let heapKey = later.minKey, found == Self.none || heapKey < nodes[Int(ends[found].head)].key {
            found = Self.inHeap
        }
        return found
    }

    /// The time of the event at `place` (not `none`).
    @inlinable @inline(__always) func time(at place: Int) -> SimTime {
        let key = place == Self.inHeap ? later.minKey! : nodes[Int(ends[place].head)].key
        return SimTime(nanoseconds: Int64(truncatingIfNeeded: key >> 64))
    }

    /// Removes and returns the event at `place` (not `none`).
    @inlinable @inline(__always) mutating func remove(at place: Int) -> (time: SimTime, payload: Payload) {
        let key: UInt128, payload: Payload
        switch place {
        case Self.inHeap:
            let entry = later.popMin()
            (key, payload) = (entry.key, entry.payload)
        case let slot:
            let node = ends[slot].head
            (key, payload) = (nodes[Int(node)].key, nodes[Int(node)].payload)
            let next = nodes[Int(node)].next
            ends[slot].head = next
            if next < 0 { occupied[slot >> 6] &= ~(1 << UInt64(slot & 63)) }
            nodes[Int(node)].next = freeNode
            freeNode = node
            inWheel &-= 1
        }
        // Every event left is at least this one: the wheel may start at its slot.
        let time = Int64(truncatingIfNeeded: key >> 64)
        cursor = max(cursor, time >> Self.slotShift)
        return (SimTime(nanoseconds: time), payload)
    }
}
