/// Values in memory their owner holds outright (freed with it), for the structures the simulation
/// touches several times per step or arrival (a ranking's tree, the marks of changed instances, a
/// decode stretch's members and block steps): arrays checked their buffer's uniqueness at each
/// store. Indices are checked. The values start on a cache line, so that a value of a line's size
/// (a replica's run of sampled steps) fills one.
struct OwnedValues<Value: BitwiseCopyable>: ~Copyable {
    private var values = OwnedValues.allocate(capacity: 0)
    private var capacity = 0
    private(set) var count = 0

    init() {}
    deinit { values.deallocate() }

    private static func allocate(capacity: Int) -> UnsafeMutablePointer<Value> {
        UnsafeMutableRawPointer.allocate(byteCount: max(capacity, 1) * MemoryLayout<Value>.stride,
                                         alignment: max(64, MemoryLayout<Value>.alignment))
            .bindMemory(to: Value.self, capacity: max(capacity, 1))
    }

    /// Keeps the first `n` values; growing, the new ones are `value` (the room at least doubles).
    mutating func resize(to n: Int, filling value: Value) {
        if n > capacity {
            let size = max(n, 2 * capacity)
            let grown = Self.allocate(capacity: size)
            grown.initialize(from: values, count: count)
            values.deallocate()
            (values, capacity) = (grown, size)
        }
        if n > count { (values + count).initialize(repeating: value, count: n - count) }
        count = n
    }

    /// Keeps the first `n` values (`n` at most `count`).
    @inline(__always) mutating func truncate(to n: Int) {
        precondition(n >= 0 && n <= count)
        count = n
    }

    /// Takes out the `i`th value, moving those after it down one.
    @inline(__always) mutating func remove(at i: Int) -> Value {
        precondition(i >= 0 && i < count, "index \(i) out of range")
        let value = values[i]
        (values + i).update(from: values + i + 1, count: count - i - 1)
        count -= 1
        return value
    }

    /// Adds `value` after the last.
    @inline(__always) mutating func append(_ value: Value) {
        guard count < capacity else { return resize(to: count + 1, filling: value) }
        (values + count).initialize(to: value)
        count += 1
    }

    @inline(__always) subscript(i: Int) -> Value {
        get {
            precondition(i >= 0 && i < count, "index \(i) out of range")
            return values[i]
        }
        nonmutating set {
            precondition(i >= 0 && i < count, "index \(i) out of range")
            values[i] = newValue
        }
    }

    /// The values, valid until the next resize, for loops whose indices are in range by construction:
    /// the buffer checks them in debug builds only.
    var buffer: UnsafeMutableBufferPointer<Value> { UnsafeMutableBufferPointer(start: values, count: count) }

    /// The first `n` values, valid until the next resize.
    func prefix(_ n: Int) -> UnsafeBufferPointer<Value> {
        precondition(n >= 0 && n <= count)
        return UnsafeBufferPointer(start: values, count: n)
    }
}
