import Testing
@testable import HardwareModels

@Suite("Memory tiers")
struct MemoryTierTests {
    @Test func reservationsRespectCapacityPerUse() {
        var t = MemoryTier(name: "dram", capacity: 100)
        let first = t.reserve(60, for: .swappedKV), second = t.reserve(30, for: .stagedWeights)
        let tooMuch = t.reserve(20, for: .swappedKV)
        #expect(first && second && !tooMuch)
        #expect(t.free == 10 && t.used[.swappedKV] == 60)
        t.release(60, from: .swappedKV)
        let again = t.reserve(20, for: .swappedKV)
        #expect(again && t.totalUsed == 50)
    }
}
