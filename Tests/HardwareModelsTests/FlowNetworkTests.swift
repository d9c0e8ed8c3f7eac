import Testing
@testable import HardwareModels

@Suite("Max-min fair flows")
struct FlowNetworkTests {
    private func network(_ bandwidths: Double...) -> FlowNetwork {
        var n = FlowNetwork()
        for (i, b) in bandwidths.enumerated() { n.addLink(Link(name: "l\(i)", bandwidth: b, latency: 0)) }
        return n
    }

    @Test func oneFlowGetsTheWholeLink() {
        var n = network(100)
        let f = n.start(bytes: 1000, path: [0])
        #expect(n.rate(of: f) == 100)
        #expect(n.nextDelivery?.time == 10)
    }

    @Test func twoFlowsOnOneLinkGetHalfEach() {
        var n = network(100)
        let a = n.start(bytes: 1000, path: [0]), b = n.start(bytes: 500, path: [0])
        #expect(n.rate(of: a) == 50 && n.rate(of: b) == 50)
        // b finishes at 10 s; a has 500 bytes left and then runs alone at 100.
        let first = n.nextDelivery!
        #expect(first.id == b && first.time == 10)
        n.advance(to: 10)
        n.remove(b)
        #expect(n.rate(of: a) == 100 && n.remainingBytes(of: a) == 500)
        #expect(n.nextDelivery?.time == 15)
    }

    @Test func aFlowLimitedElsewhereLeavesTheRestToOthers() {
        // Link 0 is fast and shared; link 1 is slow and only flow a crosses it.
        var n = network(100, 10)
        let a = n.start(bytes: 100, path: [0, 1]), b = n.start(bytes: 100, path: [0])
        #expect(n.rate(of: a) == 10)
        #expect(n.rate(of: b) == 90)
    }

    @Test func maxMinFairnessOnAChain() {
        // The classic example: flows 0→1→2 (long) and 0→1, 1→2 (short), links of capacity 1.
        var n = network(1, 1)
        let long = n.start(bytes: 1, path: [0, 1]), s1 = n.start(bytes: 1, path: [0]), s2 = n.start(bytes: 1, path: [1])
        #expect(n.rate(of: long) == 0.5 && n.rate(of: s1) == 0.5 && n.rate(of: s2) == 0.5)
        var m = network(1, 2)
        let l2 = m.start(bytes: 1, path: [0, 1]), a = m.start(bytes: 1, path: [0]), b = m.start(bytes: 1, path: [1])
        #expect(m.rate(of: l2) == 0.5 && m.rate(of: a) == 0.5 && m.rate(of: b) == 1.5)
    }

    @Test func latencyIsTheSumOverThePath() {
        var n = FlowNetwork()
        n.addLink(Link(name: "a", bandwidth: 1, latency: 2e-6))
        n.addLink(Link(name: "b", bandwidth: 1, latency: 3e-6))
        #expect(abs(n.latency(of: [0, 1]) - 5e-6) < 1e-15)
    }
}
