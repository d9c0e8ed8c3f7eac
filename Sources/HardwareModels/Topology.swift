/// Where a GPU sits: node and slot within it.
public struct GPUAddress: Sendable, Equatable, Hashable {
    public let node: Int
    public let slot: Int
}

/// The machines of a cluster and the links between their memory tiers, as one
/// flow network. Nodes appear as instances need GPUs; each node holds one kind
/// of accelerator.
///
/// Links a direction: every GPU has a port out and in to its peers (NVLink
/// through NVSwitch, or PCIe peer-to-peer without NVLink) and a PCIe link up
/// and down to its host; every node has a DRAM channel, NVMe read and write
/// channels, and NICs out and in. A non-blocking network core joins NICs.
public struct Topology {
    public struct Node {
        public let accelerator: Accelerator
        public let spec: NodeSpec
        public let memory: NodeMemory
        var free: [Bool]
        let peerOut: [Int], peerIn: [Int], hostUp: [Int], hostDown: [Int]
        let dram: Int, nvmeRead: Int, nvmeWrite: Int
        let nicOut: [Int], nicIn: [Int]
    }

    public private(set) var nodes: [Node] = []
    public var network = FlowNetwork()
    /// Overrides of the default node per accelerator name.
    public let nodeSpecs: [String: NodeSpec]
    /// A cap on nodes, nil for as many as instances need.
    public let maxNodes: Int?

    /// Achieved / peak bandwidth of every link (datasheet figures are peaks).
    public let linkEfficiency: Double

    public init(nodeSpecs: [String: NodeSpec] = [:], maxNodes: Int? = nil,
                linkEfficiency: Double = EfficiencyFactors().linkBandwidth) {
        self.nodeSpecs = nodeSpecs
        self.maxNodes = maxNodes
        self.linkEfficiency = linkEfficiency
    }

    /// Reserves `count` GPUs of one accelerator kind for an instance: the first
    /// node with room for all of them, else a new node; an instance larger than
    /// a node takes whole nodes. Returns nil when the node cap is reached.
    public mutating func allocate(_ count: Int, of accelerator: Accelerator) -> [GPUAddress]? {
        let perNode = spec(for: accelerator).gpus
        if count <= perNode {
            for n in nodes.indices where nodes[n].accelerator.name == accelerator.name {
                let slots = nodes[n].free.indices.filter { nodes[n].free[$0] }
                if slots.count >= count { return take(Array(slots.prefix(count)), on: n) }
            }
            guard let n = addNode(accelerator) else { return nil }
            return take(Array(0..<count), on: n)
        }
        var gpus: [GPUAddress] = []
        while gpus.count < count {
            guard let n = addNode(accelerator) else {
                for g in gpus { nodes[g.node].free[g.slot] = true }
                return nil
            }
            gpus += take(Array(0..<min(perNode, count - gpus.count)), on: n)
        }
        return gpus
    }

    /// GPUs for a pipeline of `stages` stages of `perStage` GPUs each, every stage on a different server:
    /// each takes the first server (in order) with room that holds no earlier stage, adding servers as
    /// needed. Stage-major order. So a prefill and a decode instance placed one after the other put their
    /// stage k on the same server (DistServe's low node affinity), and their KV moves over NVLink.
    public mutating func allocate(stages: Int, perStage: Int, of accelerator: Accelerator) -> [GPUAddress]? {
        guard perStage <= spec(for: accelerator).gpus else { return nil }
        var gpus: [GPUAddress] = []
        var used = Set<Int>()
        for _ in 0..<stages {
            let room = nodes.indices.first { n in
                !used.contains(n) && nodes[n].accelerator.name == accelerator.name && nodes[n].free.filter { $0 }.count >= perStage
            }
            guard let n = room ?? addNode(accelerator) else {
                release(gpus)
                return nil
            }
            used.insert(n)
            gpus += take(Array(nodes[n].free.indices.filter { nodes[n].free[$0] }.prefix(perStage)), on: n)
        }
        return gpus
    }

    /// What of an instance's traffic on `gpus` leaves its servers (nil when they all sit on one):
    /// the share of a stage's GPUs each reaches inside its server, the pipeline boundaries whose
    /// stages sit on different servers, and a GPU's share of its server's NICs.
    public func scaleOut(of gpus: [GPUAddress], layout: ParallelLayout) -> CostModel.ScaleOut? {
        guard let first = gpus.first, gpus.contains(where: { $0.node != first.node }) else { return nil }
        let perStage = layout.gpusPerStage
        var local = 0.0
        for (i, g) in gpus.enumerated() {
            let stage = gpus[(i / perStage * perStage)..<(i / perStage * perStage + perStage)]
            local += perStage > 1 ? Double(stage.filter { $0.node == g.node }.count - 1) / Double(perStage - 1) : 1
        }
        let crossing = (0..<max(0, layout.pp - 1)).filter { gpus[$0 * perStage].node != gpus[($0 + 1) * perStage].node }.count
        let spec = nodes[first.node].spec
        return CostModel.ScaleOut(localShare: local / Double(gpus.count), crossingBoundaries: crossing,
                                  bandwidth: spec.nicBandwidth * Double(spec.nics) / Double(spec.gpus) * linkEfficiency,
                                  latency: spec.networkLatency)
    }

    /// GPUs of a node that no instance holds.
    public func freeGPUs(on node: Int) -> Int { nodes[node].free.filter { $0 }.count }

    /// Returns GPUs to the pool (an instance was removed).
    public mutating func release(_ gpus: [GPUAddress]) {
        for g in gpus { nodes[g.node].free[g.slot] = true }
    }

    private mutating func take(_ slots: [Int], on n: Int) -> [GPUAddress] {
        for s in slots { nodes[n].free[s] = false }
        return slots.map { GPUAddress(node: n, slot: $0) }
    }

    public func spec(for accelerator: Accelerator) -> NodeSpec {
        nodeSpecs[accelerator.name] ?? .defaults(for: accelerator)
    }

    private mutating func addNode(_ a: Accelerator) -> Int? {
        if let maxNodes, nodes.count >= maxNodes { return nil }
        let s = spec(for: a)
        let n = nodes.count
        func link(_ name: String, _ bandwidth: Double, _ latency: Double) -> Int {
            network.addLink(Link(name: "node\(n).\(name)", bandwidth: bandwidth * linkEfficiency, latency: latency))
        }
        // Without NVLink, peer traffic crosses PCIe: the peer port is the PCIe link.
        let peer = a.intraNodeLinkBandwidth
        nodes.append(Node(
            accelerator: a, spec: s, memory: NodeMemory(node: n, spec: s, accelerator: a),
            free: Array(repeating: true, count: s.gpus),
            peerOut: (0..<s.gpus).map { link("gpu\($0).peer_out", peer, s.peerLatency) },
            peerIn: (0..<s.gpus).map { link("gpu\($0).peer_in", peer, 0) },
            hostUp: (0..<s.gpus).map { link("gpu\($0).pcie_up", a.hostLinkBandwidth, s.hostLatency) },
            hostDown: (0..<s.gpus).map { link("gpu\($0).pcie_down", a.hostLinkBandwidth, s.hostLatency) },
            dram: link("dram", s.hostMemoryBandwidth, 0),
            nvmeRead: link("nvme_read", s.nvmeReadBandwidth, s.hostLatency),
            nvmeWrite: link("nvme_write", s.nvmeWriteBandwidth, s.hostLatency),
            nicOut: (0..<s.nics).map { link("nic\($0).out", s.nicBandwidth, s.networkLatency) },
            nicIn: (0..<s.nics).map { link("nic\($0).in", s.nicBandwidth, 0) }))
        return n
    }

    // MARK: Paths

    /// GPU to GPU: through the peer ports inside a node, else through each
    /// GPU's NIC (GPUDirect RDMA; GPU i uses NIC i mod NICs).
    public func path(from a: GPUAddress, to b: GPUAddress) -> [Int] {
        let na = nodes[a.node], nb = nodes[b.node]
        if a.node == b.node { return [na.peerOut[a.slot], nb.peerIn[b.slot]] }
        return [na.nicOut[a.slot % na.nicOut.count], nb.nicIn[b.slot % nb.nicIn.count]]
    }

    public func pathToHost(from g: GPUAddress) -> [Int] { [nodes[g.node].hostUp[g.slot], nodes[g.node].dram] }
    public func pathFromHost(to g: GPUAddress) -> [Int] { [nodes[g.node].dram, nodes[g.node].hostDown[g.slot]] }
    /// NVMe to GPU through a host bounce buffer (weights loading, KV reload).
    public func pathFromNVMe(to g: GPUAddress) -> [Int] {
        [nodes[g.node].nvmeRead, nodes[g.node].dram, nodes[g.node].hostDown[g.slot]]
    }
    public func pathToNVMe(from g: GPUAddress) -> [Int] {
        [nodes[g.node].hostUp[g.slot], nodes[g.node].dram, nodes[g.node].nvmeWrite]
    }
}
