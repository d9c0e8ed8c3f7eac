import DequeModule
import SimCore
import Workloads

/// Automatic prefix caching as vLLM does it: every full prompt block is named by a hash of all
/// the tokens up to its end, so a new request reuses each leading block another request
/// computed. A block stays cached after its requests end, and is evicted least recently
/// used only when the pool needs room.
///
/// The cache names blocks; the instance's pool still counts them. A cached block in use by
/// any request is one used block however many share it; a cached block no request uses
/// is "evictable": still counted as used by the pool, but available to any allocation.
struct PrefixCache {
    /// Cached blocks no request uses. First: every step reads it (the instance's available
    /// blocks), and the instance keeps the cache last among what a step reads.
    private(set) var evictable = 0
    /// Requests using each cached block (0: evictable), and when it became evictable.
    private var entries: [UInt64: (users: Int, stamp: UInt64)] = [:]
    /// Blocks in the order they became evictable; stale positions are skipped.
    private var lru = Deque<(hash: UInt64, stamp: UInt64)>()
    private var clock: UInt64 = 0
    /// Cached blocks that at least one request uses.
    private(set) var inUse = 0
    /// Prompt tokens found in the cache, and prompt tokens of the requests that looked.
    private(set) var hitTokens = 0
    private(set) var lookedUpTokens = 0

    /// The hashes of a prompt's full blocks: each covers every segment up to the block's end.
    static func blockHashes(_ prefix: [PrefixSegment], promptTokens: Int, blockTokens: Int) -> [UInt64] {
        guard !prefix.isEmpty else { return [] }
        var hashes: [UInt64] = []
        var h: UInt64 = 0x5eed
        var segment = 0, offset = 0   // position inside the segment list
        for _ in 0..<(promptTokens / blockTokens) {
            var need = blockTokens
            while need > 0, segment < prefix.count {
                let take = min(need, prefix[segment].tokens - offset)
                h = StableHash.mix(h ^ prefix[segment].id &+ UInt64(offset + take))
                need -= take
                offset += take
                if offset == prefix[segment].tokens { segment += 1; offset = 0 }
            }
            guard need == 0 else { break }   // the segments describe fewer tokens than the prompt
            hashes.append(h)
        }
        return hashes
    }

    /// Leading blocks of `hashes` that are cached, at most `limit`; each becomes used by one more request.
    mutating func acquireLeading(_ hashes: [UInt64], limit: Int, blockTokens: Int, promptTokens: Int) -> Int {
        lookedUpTokens += promptTokens
        var n = 0
        while n < min(limit, hashes.count), let e = entries[hashes[n]] {
            if e.users == 0 { evictable -= 1; inUse += 1 }
            entries[hashes[n]] = (e.users + 1, e.stamp)
            n += 1
        }
        hitTokens += n * blockTokens
        return n
    }

    /// Undoes an acquisition that could not be completed (the rest did not fit).
    mutating func unacquire(_ hashes: ArraySlice<UInt64>, blockTokens: Int, promptTokens: Int) {
        lookedUpTokens -= promptTokens
        hitTokens -= hashes.count * blockTokens
        release(hashes)
    }

    /// Names a block a request has just computed; false when another copy is already cached.
    mutating func register(_ hash: UInt64) -> Bool {
        guard entries[hash] == nil else { return false }
        entries[hash] = (1, 0)
        inUse += 1
        return true
    }

    /// The requests holding these blocks let go of them; unused ones become evictable.
    mutating func release(_ hashes: ArraySlice<UInt64>) {
        for h in hashes {
            guard let e = entries[h] else { preconditionFailure("releasing a block the cache does not hold") }
            if e.users == 1 {
                clock += 1
                entries[h] = (0, clock)
                lru.append((h, clock))
                evictable += 1
                inUse -= 1
            } else {
                entries[h] = (e.users - 1, e.stamp)
            }
        }
    }

    /// Forgets the `n` least recently used evictable blocks (the pool reuses them).
    mutating func evict(_ n: Int) {
        var left = n
        while left > 0, let oldest = lru.popFirst() {
            guard let e = entries[oldest.hash], e.users == 0, e.stamp == oldest.stamp else { continue }
            entries[oldest.hash] = nil
            evictable -= 1
            left -= 1
        }
        precondition(left == 0, "evicting more blocks than are evictable")
    }
}
