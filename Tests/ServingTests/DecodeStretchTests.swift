import Policies
import SimCore
import Testing
import Workloads
@testable import Serving

/// Decode stretches (steps run from aggregates, see DecodeStretch) must leave every request where
/// stepping request by request leaves it, whenever anything looks.
@Suite("Decode stretches")
struct DecodeStretchTests {
    /// What can be seen of one running request.
    private struct Seen: Equatable {
        let id, computed, generated, kvBlocks, scheduled: Int
        let inFlight: Bool
        let lastToken, maxGap: SimTime
        let runFrom, runTo: UInt32
    }

    private func seen(_ c: Cluster) -> [[Seen]] {
        c.instances.map { inst in
            inst.running.map {
                Seen(id: $0.id, computed: $0.computedTokens, generated: $0.generatedTokens, kvBlocks: $0.kvBlocks,
                     scheduled: $0.scheduledTokens, inFlight: $0.inFlight, lastToken: $0.lastToken,
                     maxGap: $0.maxInterTokenGap, runFrom: $0.runFrom, runTo: $0.runTo)
            }
        }
    }

    /// Requests of varied lengths arriving in bursts on two small instances, so that stretches
    /// begin and end every way: a request finishing, one arriving, blocks running out (then
    /// preemption), and a look from outside in the middle of one.
    private func workload() -> [Request] {
        let rng = RandomStream(name: "decode-stretch-test", scenarioSeed: 7)
        var t = 0.0
        return (0..<120).map { i in
            t += i % 20 == 0 ? 1.5 : rng.exponential(mean: 0.02)
            return Request(id: i, arrival: .seconds(t), promptTokens: 20 + Int(rng.uniform() * 400),
                           outputTokens: 1 + Int(rng.uniform() * 300))
        }
    }

    /// Two small instances; `chunks`: a token budget so small that prompts run in many chunks,
    /// so that a prompt's next chunk may find its blocks taken by a stretch's step formed before it.
    private func make(coalescing: Bool, chunks: Bool = false) throws -> Cluster {
        let small = spec {
            $0.gpuBlocksOverride = chunks ? 60 : 120
            if chunks { $0.maxBatchedTokens = 40 }
        }
        let c = try cluster([small, small], ListSource(workload()), router: LeastOutstandingTokensRouter(), sample: .seconds(0.5))
        c.coalescesDecodes = coalescing
        return c
    }

    /// The requests of each instance's step in flight, in batch order.
    private func flights(_ c: Cluster) -> [[Int]] { c.instances.map { $0.oldestFlight.map(\.id) } }

    /// Read every 13 events (reading `running` ends a stretch: at a prime interval the reads fall at
    /// every point of one, in flight or between steps), the requests are the same as without
    /// stretches, and so are the steps in flight, before and after the read; so are the run's
    /// records, gaps and samples.
    @Test(arguments: [false, true])
    func requestsReadMidStretchAreUpToDate(chunks: Bool) throws {
        let plain = try make(coalescing: false, chunks: chunks), coalesced = try make(coalescing: true, chunks: chunks)
        var looks = 0
        while true {
            let a = try plain.run(StopConditions(maxEvents: plain.loop.eventsProcessed + 13))
            let b = try coalesced.run(StopConditions(maxEvents: coalesced.loop.eventsProcessed + 13))
            #expect(a == b)
            #expect(flights(plain) == flights(coalesced), "after \(plain.loop.eventsProcessed) events")
            let differing = zip(seen(plain).joined(), seen(coalesced).joined()).first { $0 != $1 }
            #expect(differing == nil && seen(plain).map(\.count) == seen(coalesced).map(\.count),
                    "after \(plain.loop.eventsProcessed) events: \(String(describing: differing))")
            #expect(plain.instances.map(\.gpuBlocks.used) == coalesced.instances.map(\.gpuBlocks.used))
            #expect(plain.instances.map(\.outstandingTokens) == coalesced.instances.map(\.outstandingTokens))
            #expect(flights(plain) == flights(coalesced), "after \(plain.loop.eventsProcessed) events")
            looks += 1
            if a == .completed { break }
        }
        #expect(looks > 50)
        #expect(plain.metrics.records == coalesced.metrics.records && plain.metrics.records.count == 120)
        #expect(plain.metrics.samples == coalesced.metrics.samples)
        let gaps = plain.metrics.finishedInterTokenGaps(), coalescedGaps = coalesced.metrics.finishedInterTokenGaps()
        #expect(gaps.summary(quantiles: [0.5, 0.99]) == coalescedGaps.summary(quantiles: [0.5, 0.99]))
        #expect(plain.violations.isEmpty && coalesced.violations.isEmpty)
        #expect(plain.totalPreemptions > 0, "the blocks never ran out")
        #expect(plain.instances.allSatisfy { $0.coalescedIterations == 0 })
        #expect(coalesced.instances.allSatisfy { $0.coalescedIterations > 20 })
    }

    /// Left alone, a run coalesces many of its steps and ends the same as one that does not.
    @Test func unobservedRunsEndTheSame() throws {
        let plain = try make(coalescing: false), coalesced = try make(coalescing: true)
        #expect(try plain.run() == .completed && coalesced.run() == .completed)
        #expect(plain.metrics.records == coalesced.metrics.records)
        #expect(plain.metrics.samples == coalesced.metrics.samples)
        #expect(plain.loop.eventsProcessed == coalesced.loop.eventsProcessed)
        let steps = coalesced.instances.reduce(0) { $0 + $1.iterations }
        let stretched = coalesced.instances.reduce(0) { $0 + $1.coalescedIterations }
        let alone = coalesced.instances.reduce(0) { $0 + $1.fullyCoalescedIterations }
        #expect(stretched * 10 > steps, "\(stretched) of \(steps) steps coalesced")
        #expect(alone > 0 && alone < stretched, "\(alone) of \(stretched) coalesced steps ran a stretch alone")
        #expect(plain.instances.allSatisfy { $0.fullyCoalescedIterations == 0 })
        #expect(coalesced.violations.isEmpty)
    }

    /// A request that finished is let go in the event of the step it finished in, while it is in the
    /// cache, not at its instance's next step: after every event no instance still lists one, with
    /// stretches or without.
    @Test(arguments: [false, true])
    func finishedRequestsAreLetGoInTheirStepsEvent(coalescing: Bool) throws {
        let c = try make(coalescing: coalescing)
        var events = 0
        while try c.run(StopConditions(maxEvents: c.loop.eventsProcessed + 1)) != .completed {
            events += 1
            #expect(c.instances.allSatisfy { $0.finished.isEmpty }, "after \(c.loop.eventsProcessed) events")
        }
        #expect(c.metrics.records.count == 120 && events > 240)
    }

    /// A member keeps its two step numbers in 32 bits (see StretchMember): they come back as given,
    /// and a request whose last step would lie past 2³¹ − 1 is refused (it runs outside the stretch).
    @Test func membersKeepTheirStepsIn32Bits() {
        let last = Int(Int32.max)
        let member = StretchMember(finishesAt: last, joinedAt: last - 5)
        #expect(member?.finishesAt == last)
        #expect(member?.joinedAt == last - 5)
        #expect(StretchMember(finishesAt: last + 1, joinedAt: 0) == nil)
        #expect(StretchMember(finishesAt: last, joinedAt: last + 1) == nil)
    }

    /// The stretch's finishing steps (StepHeap) come out least first, repeats included, under a
    /// seeded mix of insertions and removals, as a sorted list of the same steps does.
    @Test func finishingStepsComeOutLeastFirst() {
        var heap = StepHeap(), kept: [Int] = []
        let random = RandomStream(name: "step-heap", scenarioSeed: 7)
        for round in 0..<2_000 {
            if kept.isEmpty || random.uniform() < 0.55 {
                let step = random.uniformInt(0...300) + round / 10
                heap.insert(step)
                kept.append(step)
                kept.sort()
            } else {
                #expect(heap.min == kept.first)
                heap.removeMin()
                kept.removeFirst()
            }
            #expect(heap.min == kept.first)
        }
        heap.removeAll()
        #expect(heap.isEmpty && heap.min == nil)
    }
}
