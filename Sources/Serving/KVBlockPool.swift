/// Block accounting for one memory tier (GPU HBM, host DRAM) of one instance.
///
/// Paged attention makes any free block usable by any request, so the pool
/// tracks counts, not addresses. Over- and under-flow are programming errors
/// and are caught here, where they would happen.
public struct KVBlockPool: Sendable, Equatable {
    public let capacity: Int
    public private(set) var used = 0

    public init(capacity: Int) {
        precondition(capacity >= 0)
        self.capacity = capacity
    }

    public var free: Int { capacity - used }

    public func canAllocate(_ n: Int) -> Bool { n <= free }

    public mutating func allocate(_ n: Int) {
        precondition(n >= 0 && n <= free, "KV pool overflow: \(n) blocks asked, \(free) free")
        used += n
    }

    public mutating func release(_ n: Int) {
        precondition(n >= 0 && n <= used, "KV pool underflow: \(n) blocks released, \(used) in use")
        used -= n
    }
}
