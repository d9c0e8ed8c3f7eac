import DequeModule

/// Prefix-cache blocks kept in host DRAM (vLLM's native CPU offloading, LMCache's local CPU
/// backend): every prompt block named in the GPU cache is also stored here, and a prompt whose
/// leading blocks the GPU cache lacks loads them from here over PCIe instead of recomputing them.
/// Least recently used blocks make room when it is full.
struct OffloadedPrefixes {
    let capacity: Int
    /// When each stored block was last stored or found.
    private var stamps: [UInt64: UInt64] = [:]
    /// Blocks in the order they were last touched; stale positions are skipped.
    private var lru = Deque<(hash: UInt64, stamp: UInt64)>()
    private var clock: UInt64 = 0
    /// Prompt tokens loaded from here instead of recomputed, and blocks stored.
    private(set) var hitTokens = 0
    private(set) var storedBlocks = 0

    init(capacity: Int) { self.capacity = capacity }

    var count: Int { stamps.count }

    /// Stores a block; false when it is already here (nothing to copy).
    mutating func store(_ hash: UInt64) -> Bool {
        guard capacity > 0 else { return false }
        let fresh = stamps[hash] == nil
        if fresh {
            while stamps.count >= capacity, let oldest = lru.popFirst() {
                if stamps[oldest.hash] == oldest.stamp { stamps[oldest.hash] = nil }
            }
            storedBlocks += 1
        }
        touch(hash)
        return fresh
    }

    /// How many of `hashes[from..<limit]` are stored, leading: the blocks a prompt can load.
    mutating func leading(_ hashes: [UInt64], from: Int, limit: Int) -> Int {
        var n = from
        while n < min(limit, hashes.count), stamps[hashes[n]] != nil {
            touch(hashes[n])
            n += 1
        }
        return n - from
    }

    mutating func loaded(blocks: Int, blockTokens: Int) { hitTokens += blocks * blockTokens }

    private mutating func touch(_ hash: UInt64) {
        clock += 1
        stamps[hash] = clock
        lru.append((hash, clock))
        // Drop stale positions once they outnumber the live ones, so the queue stays bounded.
        if lru.count > 2 * max(stamps.count, 64) { lru = Deque(lru.filter { stamps[$0.hash] == $0.stamp }) }
    }
}
