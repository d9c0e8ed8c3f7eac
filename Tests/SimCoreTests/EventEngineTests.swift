import Foundation
import Testing
@testable import SimCore

@Suite("Event queue and loop")
struct EventEngineTests {
    @Test func popsInTimeOrderAndFIFOAmongEqualTimes() {
        var q = EventQueue<Int>()
        let times: [Int64] = [5, 1, 5, 3, 1, 5, 0]
        for (i, t) in times.enumerated() { q.push(i, at: SimTime(nanoseconds: t)) }
        var order: [Int] = []
        while let (_, p) = q.pop() { order.append(p) }
        #expect(order == [6, 1, 4, 3, 0, 2, 5])
    }

    @Test func matchesSortedOrderOnRandomInput() {
        let stream = RandomStream(name: "test", scenarioSeed: 7)
        var q = EventQueue<Int>()
        var expected: [(Int64, Int)] = []
        for i in 0..<5000 {
            let t = Int64(stream.uniformInt(0...200))
            q.push(i, at: SimTime(nanoseconds: t))
            expected.append((t, i))
        }
        expected.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        var got: [(Int64, Int)] = []
        while let (t, p) = q.pop() { got.append((t.nanoseconds, p)) }
        #expect(got.map(\.1) == expected.map(\.1))
    }

    /// Pushes and pops interleaved, at times that fall in the wheel's slots, beyond its 134 ms (into
    /// the heap), before the last event popped, and on one another (ties between the wheel and the
    /// heap included): every pop is the least pending (time, insertion order), the first of a list
    /// kept sorted.
    @Test func theWheelAndItsHeapKeepOneOrder() {
        let stream = RandomStream(name: "wheel-order", scenarioSeed: 5)
        var q = EventQueue<Int>()
        var pending: [(time: Int64, id: Int)] = []  // sorted; ids rise, so a new one goes after its equal times
        var nextID = 0, last: Int64 = 0, wrong = 0, popped = 0, far = 0
        func popAndCheck() {
            guard let (t, id) = q.pop() else { wrong += pending.isEmpty ? 0 : 1; return }
            if (t.nanoseconds, id) != (pending[0].time, pending[0].id) { wrong += 1 }
            pending.removeFirst()
            last = t.nanoseconds
            popped += 1
        }
        for _ in 0..<20_000 {
            for _ in 0..<stream.uniformInt(0...3) {
                let t: Int64 = switch stream.uniformInt(0...9) {
                case 0: last + Int64(stream.uniformInt(1...4)) * 100_000_000  // 0.1–0.4 s ahead
                case 1: max(0, last - Int64(stream.uniformInt(0...50_000)))
                case 2: last
                default: last + Int64(stream.uniformInt(0...40)) * 1_000_000  // a millisecond grid: ties
                }
                if t - last >= 134_217_728 { far += 1 }
                q.push(nextID, at: SimTime(nanoseconds: t))
                var low = 0, high = pending.count
                while low < high {
                    let mid = (low + high) / 2
                    if pending[mid].time <= t { low = mid + 1 } else { high = mid }
                }
                pending.insert((t, nextID), at: low)
                nextID += 1
            }
            if stream.uniformInt(0...2) > 0 { popAndCheck() }
            if q.count != pending.count { wrong += 1 }
        }
        while !pending.isEmpty { popAndCheck() }
        #expect(wrong == 0 && q.isEmpty && q.pop() == nil)
        #expect(popped == nextID && far > 1_000)
    }

    /// Handlers that schedule none, one or several events (the first takes the handled event's
    /// slot), some at the same time, run them in (time, scheduling order), as a sorted list of
    /// pending events does; the pending count leaves the event being handled out.
    @Test func handlersThatScheduleKeepTheOrder() {
        let stream = RandomStream(name: "loop-order", scenarioSeed: 11)
        let loop = EventLoop<Int>()
        var pending: [(time: Int64, seq: Int, id: Int)] = []
        var seq = 0, nextID = 0
        func schedule(at t: Int64) {
            loop.schedule(nextID, at: SimTime(nanoseconds: t))
            pending.append((t, seq, nextID))
            seq += 1
            nextID += 1
        }
        for _ in 0..<50 { schedule(at: Int64(stream.uniformInt(0...100))) }
        var handled: [Int] = [], expected: [Int] = [], counts = true
        _ = loop.run(StopConditions(maxEvents: 20_000)) { id in
            handled.append(id)
            let first = pending.indices.min { (pending[$0].time, pending[$0].seq) < (pending[$1].time, pending[$1].seq) }!
            expected.append(pending.remove(at: first).id)
            counts = counts && loop.pendingEvents == pending.count
            let now = loop.now.nanoseconds
            for _ in 0..<[0, 1, 1, 2][stream.uniformInt(0...3)] where nextID < 8_000 {
                schedule(at: now + Int64(stream.uniformInt(0...40)))
            }
        }
        #expect(handled == expected && counts)
        #expect(handled.count > 5_000 && loop.pendingEvents == 0)
    }

    @Test func stopsAtHorizonBudgetRequestAndDrain() {
        func loop() -> EventLoop<Int> {
            let l = EventLoop<Int>()
            for i in 0..<10 { l.schedule(i, at: .seconds(Double(i))) }
            return l
        }
        var seen: [Int] = []
        let l1 = loop()
        #expect(l1.run(StopConditions(horizon: .seconds(4.5))) { seen.append($0) } == .horizon)
        #expect(seen == [0, 1, 2, 3, 4])
        #expect(l1.now == .seconds(4.5))
        let l2 = loop()
        #expect(l2.run(StopConditions(maxEvents: 3)) { _ in } == .eventBudget)
        #expect(l2.eventsProcessed == 3)
        let l3 = loop()
        #expect(l3.run { if $0 == 6 { l3.requestStop() } } == .completed)
        #expect(l3.now == .seconds(6))
        let l4 = loop()
        #expect(l4.run { _ in } == .drained)
        #expect(l4.eventsProcessed == 10)
    }

    @Test func handlersCanScheduleFollowUps() {
        let l = EventLoop<Int>()
        l.schedule(0, at: .zero)
        var count = 0
        _ = l.run { n in
            count += 1
            if n < 99 { l.schedule(n + 1, after: .seconds(0.001)) }
        }
        #expect(count == 100)
        #expect(l.now == SimTime(nanoseconds: 99_000_000))
    }

    @Test func simTimeRoundsSaturatesAndNeverGoesNegative() {
        #expect(SimTime.seconds(0.1).nanoseconds == 100_000_000)
        #expect(SimTime.seconds(-1) == .zero && SimTime.seconds(.nan) == .zero)
        #expect(SimTime.seconds(1e300) == .max && SimTime.max + .seconds(1) == .max)
    }

    /// Seconds round to the nearest nanosecond, halves away from zero, exactly as `rounded()` does:
    /// at halves, just either side of them, near the powers of two where a double's spacing
    /// changes, and at random spans from a nanosecond to a year.
    @Test func simTimeRoundsAsTheLibraryDoes() {
        func expected(_ s: Double) -> Int64 { Int64((s * 1e9).rounded()) }
        var spans: [Double] = [0.5e-9, 1.5e-9, 2.5e-9, 0.49999999999999994e-9, 1e-18, 9.1e9]
        for k in 0...62 {
            let ns = Double(sign: .plus, exponent: k, significand: 1)
            for x in [ns, ns + 0.5, ns - 0.5, ns.nextUp, ns.nextDown, (ns + 0.5).nextUp, (ns + 0.5).nextDown] where x > 0 && x < 9.1e18 {
                spans.append(x / 1e9)
            }
        }
        let rng = RandomStream(name: "sim-time-rounding", scenarioSeed: 3)
        for _ in 0..<100_000 { spans.append(pow(10, -9 + 16.5 * rng.uniform())) }
        let wrong = spans.filter { SimTime.seconds($0).nanoseconds != expected($0) }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
        #expect(spans.count > 100_300)
    }
}
