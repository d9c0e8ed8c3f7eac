import Foundation
import Testing
@testable import SimCore

@Suite("Random streams")
struct RandomStreamTests {
    @Test func stableHashDoesNotDependOnTheProcess() {
        // FNV-1a of "" is the offset basis; these pin the definition so that a
        // switch to a per-process hash (Swift's Hasher) fails here.
        #expect(StableHash.hash("arrivals", seed: 1) == StableHash.hash("arrivals", seed: 1))
        #expect(StableHash.hash("arrivals", seed: 1) != StableHash.hash("arrivals", seed: 2))
        #expect(StableHash.hash("arrivals", seed: 1) != StableHash.hash("arrival", seed: 1))
        #expect(StableHash.mix(0) == 0xe220_a839_7b1d_cdaf)
    }

    @Test func sameNameAndSeedGiveTheSameSequence() {
        let a = RandomStream(name: "x", scenarioSeed: 3), b = RandomStream(name: "x", scenarioSeed: 3)
        let c = RandomStream(name: "y", scenarioSeed: 3)
        let sa = (0..<100).map { _ in a.uniform() }, sb = (0..<100).map { _ in b.uniform() }
        let sc = (0..<100).map { _ in c.uniform() }
        #expect(sa == sb)
        #expect(sa != sc)
    }

    private func moments(_ xs: [Double]) -> (mean: Double, cv: Double) {
        let m = xs.reduce(0, +) / Double(xs.count)
        let v = xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1)
        return (m, v.squareRoot() / m)
    }

    @Test func distributionsMatchTheirMoments() {
        let s = RandomStream(name: "moments", scenarioSeed: 11)
        let n = 200_000
        let exp = moments((0..<n).map { _ in s.exponential(mean: 2) })
        #expect(abs(exp.mean - 2) < 0.03 && abs(exp.cv - 1) < 0.02)
        let gamma = moments((0..<n).map { _ in s.gamma(shape: 0.25, scale: 4) })  // mean 1, cv 2
        #expect(abs(gamma.mean - 1) < 0.03 && abs(gamma.cv - 2) < 0.06)
        let ln = moments((0..<n).map { _ in s.lognormal(mu: 0, sigma: 0.5) })
        #expect(abs(ln.mean - Foundation.exp(0.125)) < 0.01)
        let pareto = moments((0..<n).map { _ in s.pareto(shape: 3, scale: 2) })  // mean a·b/(a−1) = 3
        #expect(abs(pareto.mean - 3) < 0.05)
    }

    @Test func zipfFrequenciesFollowThePowerLaw() {
        let z = ZipfDistribution(n: 10, exponent: 1.2)
        let s = RandomStream(name: "zipf", scenarioSeed: 5)
        var counts = [Int](repeating: 0, count: 11)
        for _ in 0..<200_000 { counts[z.sample(s)] += 1 }
        let ratio = Double(counts[1]) / Double(counts[2])
        #expect(abs(ratio - pow(2, 1.2)) < 0.06)
        #expect(counts[0] == 0 && counts[10] > 0)
    }
}
