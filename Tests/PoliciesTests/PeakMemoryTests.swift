import SimCore
import Testing
@testable import Policies

@Suite("Past-Future peak memory")
struct PeakMemoryTests {
    /// Step the batch forward one token at a time and record the largest total.
    private func bruteForce(_ occupancy: [Int], _ remaining: [Int]) -> Int {
        var held = occupancy, left = remaining, peak = 0
        while true {
            let alive = left.indices.filter { left[$0] > 0 }
            guard !alive.isEmpty else { return peak }
            for i in alive { held[i] += 1; left[i] -= 1 }
            peak = max(peak, alive.reduce(0) { $0 + held[$1] })
            // A request that produced its last token frees its memory.
            for i in alive where left[i] == 0 { held[i] = 0 }
        }
    }

    @Test func matchesAStepByStepReplayOnRandomBatches() {
        let s = RandomStream(name: "peak", scenarioSeed: 4)
        for _ in 0..<500 {
            let n = s.uniformInt(1...8)
            let occupancy = (0..<n).map { _ in s.uniformInt(1...50) }
            let remaining = (0..<n).map { _ in s.uniformInt(1...40) }
            #expect(PeakMemory.predict(occupancy: occupancy, remaining: remaining) == bruteForce(occupancy, remaining),
                    "\(occupancy) \(remaining)")
        }
    }

    @Test func aWorkedExample() {
        // Remaining 10, 4, 1: before the 1-token request ends all three hold +1
        // (20+30+40+3 = 93); before the 4-token one, two hold +4 (20+30+8 = 58);
        // before the 10-token one, it alone holds +10 (30).
        #expect(PeakMemory.predict(occupancy: [30, 20, 40], remaining: [4, 10, 1]) == 93)
        #expect(PeakMemory.predict(occupancy: [], remaining: []) == 0)
    }
}
