import Testing
@testable import HardwareModels

private func unwrap<T>(_ v: T?) throws -> T { try #require(v) }

@Suite("Topology")
struct TopologyTests {
    let h100 = AcceleratorCatalog.named("H100-SXM-80GB")!
    let a10 = AcceleratorCatalog.named("A10")!

    @Test func instancesPackIntoNodesWithoutStraddling() throws {
        var t = Topology()
        let a = try unwrap(t.allocate(4, of: h100)), b = try unwrap(t.allocate(4, of: h100))
        let c = try unwrap(t.allocate(2, of: h100))
        #expect(Set(a.map(\.node)) == [0] && Set(b.map(\.node)) == [0])
        #expect(Set(c.map(\.node)) == [1])
        // A 16-GPU instance takes two whole new nodes.
        let d = try unwrap(t.allocate(16, of: h100))
        #expect(Set(d.map(\.node)) == [2, 3])
        // Another accelerator kind gets its own nodes.
        #expect(t.allocate(1, of: a10)?.first?.node == 4)
        t.release(a)
        #expect(t.allocate(4, of: h100)?.first == GPUAddress(node: 0, slot: 0))
    }

    @Test func aNodeCapIsRespected() {
        var t = Topology(maxNodes: 1)
        #expect(t.allocate(8, of: h100) != nil)
        #expect(t.allocate(1, of: h100) == nil)
    }

    @Test func pathsCrossTheRightLinks() throws {
        var t = Topology(linkEfficiency: 1)
        let g = try unwrap(t.allocate(8, of: h100)), h = try unwrap(t.allocate(8, of: h100))
        let inNode = t.path(from: g[0], to: g[1]), across = t.path(from: g[0], to: h[0])
        #expect(inNode.map { t.network.links[$0].bandwidth } == [450e9, 450e9])
        #expect(across.map { t.network.links[$0].bandwidth } == [50e9, 50e9])
        #expect(t.network.latency(of: across) > t.network.latency(of: inNode))
        // Two GPUs swapping to host share the node's DRAM channel.
        let p0 = t.pathToHost(from: g[0]), p1 = t.pathToHost(from: g[1])
        #expect(p0.last == p1.last && p0.first != p1.first)
        #expect(t.pathFromNVMe(to: g[0]).count == 3)
    }

    @Test func pcieGPUsTalkOverPCIe() throws {
        var t = Topology(linkEfficiency: 1)
        let g = try unwrap(t.allocate(2, of: a10))
        #expect(t.path(from: g[0], to: g[1]).map { t.network.links[$0].bandwidth } == [32e9, 32e9])
    }
}
