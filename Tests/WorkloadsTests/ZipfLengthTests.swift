import SimCore
import Testing
@testable import Workloads

@Suite("Zipf lengths")
struct ZipfLengthTests {
    /// A Zipf law on 1...6144 with mean 256: 100,000 draws average within 3% of 256, the shortest length is
    /// the most common, and draws stay in range; an impossible mean is refused.
    @Test func drawsFollowThePowerLawWithTheAskedMean() throws {
        let z = try #require(LengthDistribution.zipf(mean: 256, max: 6144))
        let stream = RandomStream(name: "zipf-test", scenarioSeed: 1)
        let draws = (0..<100_000).map { _ in z.sample(stream) }
        let mean = Double(draws.reduce(0, +)) / Double(draws.count)
        #expect(abs(mean - 256) < 0.03 * 256 && draws.allSatisfy { (1...6144).contains($0) })
        let ones = draws.filter { $0 == 1 }.count, twos = draws.filter { $0 == 2 }.count
        #expect(ones > twos && twos > draws.filter { $0 == 100 }.count)
        #expect(LengthDistribution.zipf(mean: 4000, max: 6144) == nil && LengthDistribution.zipf(mean: 0.5, max: 10) == nil)
    }
}
