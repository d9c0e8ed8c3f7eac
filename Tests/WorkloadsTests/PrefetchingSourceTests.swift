import SimCore
import Testing
@testable import Workloads

/// Drawing an open-loop workload ahead on another thread changes nothing a run sees.
@Suite("Prefetching source")
struct PrefetchingSourceTests {
    private func synthetic(_ count: Int) -> SyntheticSource {
        SyntheticSource(arrivals: .poisson(rate: 5), lengths: .independent(prompt: .uniform(min: 1, max: 4000), output: .uniform(min: 1, max: 900)),
                        count: count, seed: 42)
    }

    /// Every request of the source, in order, across blocks of any size (one that divides the
    /// count, one that does not, one larger than the workload), then nil for good.
    @Test(arguments: [1, 7, 250, 10_000])
    func handsOutTheSourcesRequests(blockSize: Int) throws {
        let plain = synthetic(1_000), ahead = PrefetchingSource(synthetic(1_000), blockSize: blockSize)
        var a: [Request] = [], b: [Request] = []
        while let r = try plain.next() { a.append(r) }
        while let r = try ahead.next() { b.append(r) }
        #expect(a.count == 1_000 && a == b)
        #expect(try ahead.next() == nil && ahead.isExhausted)
    }

    /// A source that fails at its k-th request fails there through the prefetcher too, after
    /// handing out the requests before it, whichever block the failure falls in.
    @Test(arguments: [0, 5, 8, 9, 30])
    func anErrorComesAtItsRequest(failingAt k: Int) throws {
        let source = FailingSource(inner: synthetic(100), failAt: k), ahead = PrefetchingSource(source, blockSize: 8)
        var handed = 0
        #expect(throws: FailingSource.Failure.self) {
            while try ahead.next() != nil { handed += 1 }
        }
        #expect(handed == k)
        #expect(throws: FailingSource.Failure.self) { try ahead.next() }
    }

    /// A block hands its requests out in order, each moved out, and at its end lets go of those not
    /// taken: a prefix list that five requests shared is again held by nothing else once two were
    /// taken and dropped and the block ended (the list's next change copies nothing).
    @Test func aBlockLetsGoOfTheRequestsNotTaken() {
        var prefix = [PrefixSegment(id: 7, tokens: 16)]
        var block: RequestBlock? = RequestBlock(capacity: 5)
        for i in 0..<5 {
            block?.append(Request(id: i, arrival: .seconds(Double(i)), promptTokens: 16, outputTokens: 1, prefix: prefix))
        }
        #expect(block?.take().id == 0 && block?.take().id == 1)
        #expect(block?.count == 5 && block?.isTaken == false)
        block = nil
        let before = prefix.withUnsafeBufferPointer { $0.baseAddress }
        prefix[0] = PrefixSegment(id: 8, tokens: 16)
        #expect(prefix.withUnsafeBufferPointer { $0.baseAddress } == before, "a request the block held still holds the list")
    }

    /// Only open-loop sources are drawn ahead: a closed loop's next request waits for replies.
    @Test func closedLoopsAreNotOpen() {
        let closed = ClosedLoopSource(clients: 2, lengths: .independent(prompt: .fixed(10), output: .fixed(10)), count: 5, seed: 1)
        #expect(!closed.isOpenLoop && !PrioritySource(closed, highShare: 0.5, seed: 1).isOpenLoop)
        #expect(synthetic(5).isOpenLoop && PrioritySource(synthetic(5), highShare: 0.5, seed: 1).isOpenLoop)
    }
}

/// Hands out another source's requests, then throws at its k-th call.
private final class FailingSource: RequestSource {
    struct Failure: Error {}
    let inner: RequestSource
    let failAt: Int
    private var calls = 0

    init(inner: RequestSource, failAt: Int) {
        self.inner = inner
        self.failAt = failAt
    }

    func next() throws -> Request? {
        defer { calls += 1 }
        if calls == failAt { throw Failure() }
        return try inner.next()
    }
}
