import DequeModule
import HardwareModels
import SimCore

/// How an instance moves to another data- and expert-parallel layout: ElasticMoE, and the
/// baselines its paper compares with, in the same engine.
public enum ScalingMethod: String, Sendable, CaseIterable {
    /// ElasticMoE: the new layout is prepared while the old one serves, on the same GPUs plus the
    /// new ones (weights to new GPUs peer to peer, only experts that change owner moved, the rest
    /// reused in place), warms up, then takes over every request with its KV where it is.
    case elastic
    /// Stop the instance, then start the new layout cold on its GPUs plus the new ones: no
    /// instance serves until it is warm, and the requests it held recompute.
    case coldRestart = "cold_restart"
    /// Start the new layout cold on as many other GPUs; once it is warm, new requests go to it and
    /// the old instance finishes those it holds, then goes.
    case extravagant
    /// The same, on the instance's own GPUs plus the new ones: both copies must fit, so the
    /// scenario cuts the KV cache (gpu_memory_utilization) beforehand.
    case concurrent
    /// A whole new replica of the same layout beside the instance.
    case horizontal
}

/// ElasticMoE's components, each of which can be switched off (the paper's ablation).
public struct ElasticOptions: Sendable, Equatable {
    /// A standby engine process for the target layout is ready (else a cold start: the engine's `initialization`).
    public var preInitialized = true
    /// New GPUs get weights and experts from peers' HBM over the fastest link (else from the server's NVMe, or its
    /// DRAM when the rescale's weights come from there).
    public var peerToPeer = true
    /// Weights and KV on GPUs that stay are reused in place (else the instance restarts, as a cold restart).
    public var zeroCopy = true
    /// Tensors sit in shareable pages that are remapped rather than copied; without it every GPU
    /// that stays copies the experts it keeps into new buffers, holding both until switch-over.
    public var ipcAllocator = true

    public init() {}
}

/// One rescale as it happened.
public struct ScalingRecord: Sendable, Equatable {
    public let method: ScalingMethod
    /// The instance rescaled, and the one that replaced it (or was added beside it).
    public let instance: Int
    public internal(set) var successor: Int?
    public let from: ParallelLayout
    public let to: ParallelLayout
    public let start: SimTime
    /// When the new layout's warm-up began, when it took requests, and when the old instance was gone.
    public internal(set) var warmupStart: SimTime?
    public internal(set) var ready: SimTime?
    public internal(set) var end: SimTime?
    /// Time during which neither the old nor the new layout served (a cold restart's whole boot).
    public internal(set) var downtime: SimTime = .zero
    /// Bytes copied GPU to GPU, and loaded from storage, for the rescale.
    public internal(set) var peerBytes = 0.0
    public internal(set) var storageBytes = 0.0
    public internal(set) var expertsMoved = 0
    /// The most HBM in use at once over every GPU of the old and new layouts while it ran, and on any one of them.
    public internal(set) var peakHBMBytes = 0.0
    public internal(set) var peakDeviceHBMBytes = 0.0
    /// Why it failed (nil: it completed or is under way).
    public internal(set) var failure: String?
}

public enum RescaleError: Error, CustomStringConvertible, Equatable {
    case notServing(Int)
    case unsupported(String)
    case noFreeGPUs(needed: Int)
    case doesNotFit(String)

    public var description: String {
        switch self {
        case .notServing(let i): "instance \(i) is not serving (starting, draining, removed or already rescaling)"
        case .unsupported(let why): why
        case .noFreeGPUs(let n): "no node has the \(n) more GPUs the new layout needs"
        case .doesNotFit(let why): why
        }
    }
}

/// A rescale under way.
struct Rescale {
    enum Stage { case preparing, warming, switching, launched }
    let record: Int
    let old: Int
    let spec: InstanceSpec
    let method: ScalingMethod
    let options: ElasticOptions
    /// The new layout's GPUs, in its order; `added` are those the old instance did not have.
    let gpus: [GPUAddress]
    let added: [GPUAddress]
    let weightsFrom: Cluster.WeightSource
    var stage = Stage.preparing
    /// Phases of the preparation still running (transfers, a cold start, buffer copies).
    var phasesLeft = 0
    /// HBM held for the new layout before it exists (weights and experts arriving; double buffers).
    var staged: [(gpu: GPUAddress, bytes: Double)] = []
    /// KV blocks of the old instance given up to hold what arrives on GPUs that stay, when their HBM is full.
    var carvedBlocks = 0
    /// When the old instance stopped serving (cold restart).
    var stopped: SimTime?
}

extension Cluster {
    /// Moves instance `index` to `layout` (same TP, other DP and EP) by `method`, while the
    /// cluster runs; every phase takes the time its bytes, links and the engine's figures give.
    /// Returns the index of its record in `scalingRecords`; an attempt that cannot be made is
    /// recorded with its reason, then thrown.
    @discardableResult
    public func rescale(_ index: Int, to layout: ParallelLayout, method: ScalingMethod, options: ElasticOptions = .init(),
                        weightsFrom: WeightSource = .nvme) throws -> Int {
        let old = instances[index]
        let spec = method == .horizontal ? old.spec : successor(of: old.spec, layout: layout)
        scalingRecords.append(ScalingRecord(method: method, instance: index, from: old.spec.layout, to: spec.layout, start: loop.now))
        let record = scalingRecords.count - 1
        func refuse(_ e: RescaleError) -> RescaleError {
            scalingRecords[record].failure = e.description
            return e
        }
        guard old.state == .active, rescaleOf[index] == nil else { throw refuse(.notServing(index)) }
        guard old.role == .colocated, old.spec.layout.pp == 1, layout.pp == 1 else {
            throw refuse(.unsupported("rescaling takes a colocated instance without pipeline parallelism"))
        }
        guard layout.tp == old.spec.layout.tp || method == .horizontal else {
            throw refuse(.unsupported("rescaling keeps TP (\(old.spec.layout.tp)); it changes DP and EP"))
        }
        let id = nextRescaleID
        nextRescaleID += 1

        if method == .horizontal {
            let inst: Instance
            do { inst = try launchInstance(spec, weightsFrom: weightsFrom) } catch {
                scalingRecords[record].failure = "\(error)"
                throw error
            }
            scalingRecords[record].successor = inst.index
            scalingRecords[record].storageBytes = inst.weightBytesPerGPU * Double(inst.gpus.count)
            rescales[id] = Rescale(record: record, old: index, spec: spec, method: method, options: options,
                                   gpus: inst.gpus, added: inst.gpus, weightsFrom: weightsFrom, stage: .launched)
            successorOf[inst.index] = id
            notePeak(id)
            return record
        }

        // The new layout's GPUs: a fresh set (extravagant), or the old ones plus more, or fewer.
        let need = method == .extravagant ? layout.gpus : max(0, layout.gpus - old.gpus.count)
        var added: [GPUAddress] = []
        if need > 0 {
            guard let more = topology.allocate(need, of: old.spec.accelerator) else { throw refuse(.noFreeGPUs(needed: need)) }
            added = more
        }
        let gpus = method == .extravagant ? added : Array((old.gpus + added).prefix(layout.gpus))
        rescales[id] = Rescale(record: record, old: index, spec: spec, method: method, options: options,
                               gpus: gpus, added: added, weightsFrom: weightsFrom)
        rescaleOf[index] = id
        do {
            switch method {
            case .elastic where options.zeroCopy: try prepareInPlace(id)
            case .elastic, .coldRestart: stopForRestart(id)
            case .extravagant, .concurrent: try launchSuccessor(id, preInitialized: false)
            case .horizontal: break
            }
        } catch {
            fail(id, error)
            throw error
        }
        return record
    }

    /// The spec of `spec` at `layout`: the per-rank caps kept (the instance's scale with DP), the
    /// experts rebalanced from where they are, moving as few as possible.
    func successor(of spec: InstanceSpec, layout: ParallelLayout) -> InstanceSpec {
        var s = spec
        let dp = spec.layout.dp
        s.layout = layout
        s.limits.maxSequences = spec.limits.maxSequences / dp * layout.dp
        s.limits.maxBatchedTokens = spec.limits.maxBatchedTokens / dp * layout.dp
        if spec.model.experts > 1 {
            let placement = spec.expertPlacement ?? .balanced(experts: spec.model.experts, groups: spec.layout.ep)
            s.expertPlacement = placement.rebalanced(to: layout.ep).placement
        }
        return s
    }

    // MARK: ElasticMoE

    /// Stages the new layout beside the serving one: HBM for what will arrive, the transfers
    /// (attention weights to new GPUs, experts that change owner), a cold start unless a standby
    /// is ready, and without the IPC allocator the copies of retained experts.
    private func prepareInPlace(_ id: Int) throws {
        var r = rescales[id]!
        let old = instances[r.old]
        let model = r.spec.model, from = old.spec.layout, to = r.spec.layout
        let nonExpertPerGPU = (model.parameters - model.routedExpertParameters) / Double(to.tp) * model.bytesPerParameter
        let expertBytes = model.expertBytesPerLayer * Double(model.moeLayers)
        var incoming = Array(repeating: 0.0, count: r.gpus.count)
        var flows: [(bytes: Double, path: [Int])] = []
        var record = scalingRecords[r.record]
        // Attention, dense and shared weights: each new GPU from the old GPU of the same TP rank.
        func storage(_ g: GPUAddress) -> [Int] { r.weightsFrom == .hostMemory ? topology.pathFromHost(to: g) : topology.pathFromNVMe(to: g) }
        for k in min(old.gpus.count, r.gpus.count)..<r.gpus.count {
            incoming[k] += nonExpertPerGPU
            flows.append((nonExpertPerGPU, r.options.peerToPeer ? topology.path(from: old.gpus[k % to.tp], to: r.gpus[k])
                                                                : storage(r.gpus[k])))
        }
        // Experts that change group, each GPU of the new group taking its 1/expertTP share from a GPU of the old one.
        if model.experts > 1 {
            let placement = old.spec.expertPlacement ?? .balanced(experts: model.experts, groups: from.ep)
            let moves = placement.rebalanced(to: to.ep).moves
            record.expertsMoved = moves.count
            var pairs: [Int: Double] = [:]
            for m in moves {
                for i in 0..<to.expertTP {
                    let dst = m.to * to.expertTP + i, src = m.from * from.expertTP + i % from.expertTP
                    pairs[src * r.gpus.count + dst, default: 0] += expertBytes / Double(to.expertTP)
                }
            }
            for key in pairs.keys.sorted() {
                let (src, dst) = (key / r.gpus.count, key % r.gpus.count)
                incoming[dst] += pairs[key]!
                flows.append((pairs[key]!, r.options.peerToPeer ? topology.path(from: old.gpus[src], to: r.gpus[dst])
                                                                : storage(r.gpus[dst])))
            }
        }
        let moved = flows.reduce(0) { $0 + $1.bytes }
        if r.options.peerToPeer { record.peerBytes = moved } else { record.storageBytes = moved }
        // Without the IPC allocator, GPUs that stay copy the experts they keep into fresh buffers.
        var copySeconds = 0.0
        if !r.options.ipcAllocator {
            let kept = expertBytes * Double(model.experts) / Double(to.gpusPerStage)
            for k in 0..<min(old.gpus.count, r.gpus.count) { incoming[k] += kept }
            copySeconds = 2 * kept / old.spec.accelerator.memoryBandwidth
        }
        // GPUs that stay and lack free HBM (their KV pool fills it) take what arrives out of the old
        // instance's free KV blocks, which it gives up until switch-over (scaling down, or double buffers).
        let stays = min(old.gpus.count, r.gpus.count)
        if (0..<stays).contains(where: { incoming[$0] > topology.nodes[r.gpus[$0].node].memory.hbm[r.gpus[$0].slot].free }) {
            let blocks = ((0..<stays).map { incoming[$0] }.max()! / old.blockBytesPerGPU).rounded(.up)
            let need = blocks < Double(old.gpuBlocks.capacity) ? Int(blocks) : old.gpuBlocks.capacity + 1
            guard old.canReserve(blocks: need) else {
                throw RescaleError.doesNotFit(String(format: "the GPUs that stay need %.2f GiB for what arrives and the old layout "
                                                     + "has not %d KV blocks free to give up", incoming.max()! / 1_073_741_824, need))
            }
            old.reserve(blocks: need)
            r.carvedBlocks = need
            for k in 0..<stays { incoming[k] = 0 }
        }
        for (k, bytes) in incoming.enumerated() where bytes > 0 {
            let g = r.gpus[k]
            guard topology.nodes[g.node].memory.reserveHBM(slot: g.slot, bytes, for: .stagedWeights) else {
                scalingRecords[r.record] = record
                rescales[id] = r
                throw RescaleError.doesNotFit(String(format: "GPU %d of the new layout has no room for %.2f GiB of incoming weights",
                                                     k, bytes / 1_073_741_824))
            }
            r.staged.append((g, bytes))
        }
        scalingRecords[r.record] = record
        if !flows.isEmpty {
            r.phasesLeft += 1
            startGroup(.rescale(id), flows: flows)
        }
        if !r.options.preInitialized, r.spec.engine.initialization > 0 {
            r.phasesLeft += 1
            loop.schedule(.rescalePhase(rescale: id), after: .seconds(r.spec.engine.initialization))
        }
        if copySeconds > 0 {
            r.phasesLeft += 1
            loop.schedule(.rescalePhase(rescale: id), after: .seconds(copySeconds))
        }
        rescales[id] = r
        notePeak(id)
        if r.phasesLeft == 0 { startWarmup(id) }
    }

    /// A transfer or timed phase ended: the next stage once none is left.
    func rescalePhaseEnded(_ id: Int) {
        guard var r = rescales[id] else { return }
        switch r.stage {
        case .preparing:
            r.phasesLeft -= 1
            rescales[id] = r
            if r.phasesLeft == 0 { startWarmup(id) }
        case .warming:
            r.stage = .switching
            rescales[id] = r
            if !instances[r.old].busy { switchOver(id) }
        case .switching, .launched:
            break
        }
    }

    /// The new layout warms up on its GPUs, the old ones among them: the old instance takes no
    /// new requests from now on (ElasticMoE's dip), and finishes steps for those it holds.
    private func startWarmup(_ id: Int) {
        rescales[id]!.stage = .warming
        let r = rescales[id]!
        let old = instances[r.old]
        old.state = .handingOver
        held.append(contentsOf: old.takeUnstarted())
        scalingRecords[r.record].warmupStart = loop.now
        loop.schedule(.rescalePhase(rescale: id), after: .seconds(r.spec.engine.warmup))
    }

    /// Whether an instance being handed over must not start another step (its successor waits).
    func holdsSteps(_ inst: Instance) -> Bool {
        guard inst.state == .handingOver, let id = rescaleOf[inst.index], let r = rescales[id] else { return false }
        return r.stage == .switching
    }

    /// Called when a step ends on an instance being handed over.
    func handOverIfDue(_ inst: Instance) {
        guard let id = rescaleOf[inst.index], let r = rescales[id], r.stage == .switching, !inst.busy else { return }
        if r.method == .elastic && r.options.zeroCopy { switchOver(id) } else { stopOld(id) }
    }

    /// The old instance's engine goes; the new one, warm on the same GPUs plus the new ones, takes
    /// every request with the KV it holds, and the held arrivals.
    private func switchOver(_ id: Int) {
        guard let r = rescales.removeValue(forKey: id) else { return }
        let old = instances[r.old]
        old.unreserve(blocks: r.carvedBlocks)
        let handed = old.handOver()
        remove(old, keeping: r.gpus)
        rescaleOf[r.old] = nil
        for s in r.staged { topology.nodes[s.gpu.node].memory.releaseHBM(slot: s.gpu.slot, s.bytes, from: .stagedWeights) }
        let inst: Instance
        do {
            inst = try addInstance(r.spec, ready: true, on: r.gpus)
        } catch {
            // The GPUs it held are free again: its requests go back to the router.
            topology.release(r.gpus)
            scalingRecords[r.record].failure = "\(error)"
            for (q, _) in handed { q.instance = -1; held.append(q) }
            placeHeld()
            return
        }
        inst.lifecycle.requested = scalingRecords[r.record].start
        inst.lifecycle.weightsLoaded = scalingRecords[r.record].warmupStart
        for (q, blocks) in handed { inst.adopt(q, blocks: blocks) }
        var record = scalingRecords[r.record]
        record.successor = inst.index
        record.ready = loop.now
        record.end = loop.now
        scalingRecords[r.record] = record
        notePeak(r.record, over: old.gpus + r.added)
        placeHeld()
        startIterationIfIdle(inst)
    }

    // MARK: Baselines

    /// A cold restart: the instance stops at the end of its step (its requests will recompute), and the new layout boots.
    private func stopForRestart(_ id: Int) {
        let r = rescales[id]!
        let old = instances[r.old]
        rescales[id]!.stage = .switching
        old.state = .handingOver
        held.append(contentsOf: old.takeUnstarted())
        if !old.busy { stopOld(id) }
    }

    private func stopOld(_ id: Int) {
        guard let r = rescales[id], r.stopped == nil else { return }
        let old = instances[r.old]
        notePeak(id)
        let handed = old.handOver()
        remove(old, keeping: r.gpus)
        rescaleOf[r.old] = nil
        // They recompute on the new layout, ahead of those that arrived since.
        for (q, _) in handed.reversed() {
            q.computedTokens = 0
            q.instance = -1
            held.prepend(q)
        }
        rescales[id]!.stopped = loop.now
        do {
            try launchSuccessor(id, preInitialized: r.method == .elastic && r.options.preInitialized)
        } catch {
            fail(id, error)
            placeHeld()
        }
    }

    /// Boots the new layout on its GPUs (loading every weight from storage), as a launched instance.
    private func launchSuccessor(_ id: Int, preInitialized: Bool) throws {
        let r = rescales[id]!
        let source: WeightSource = r.weightsFrom == .hostMemory ? .hostMemory : .nvme
        let inst = try launchInstance(r.spec, weightsFrom: source, on: r.gpus, preInitialized: preInitialized)
        rescales[id]!.stage = .launched
        successorOf[inst.index] = id
        if r.stopped == nil, inst.gpus.contains(where: { instances[r.old].gpus.contains($0) }) {
            gpuSharers[inst.index] = r.old
            gpuSharers[r.old] = inst.index
        }
        scalingRecords[r.record].successor = inst.index
        scalingRecords[r.record].storageBytes = inst.weightBytesPerGPU * Double(inst.gpus.count)
        notePeak(id)
    }

    /// A launched successor is warm: a restart is over; otherwise new requests go to it and the
    /// old instance finishes those it holds, then goes.
    func instanceWarmed(_ index: Int) {
        guard let id = successorOf.removeValue(forKey: index), let r = rescales[id] else { return }
        var record = scalingRecords[r.record]
        record.ready = loop.now
        record.warmupStart = instances[index].lifecycle.weightsLoaded
        if let stopped = r.stopped {
            record.downtime = loop.now - stopped
            record.end = stopped
            rescales[id] = nil
        } else if r.method == .horizontal {
            record.end = loop.now
            rescales[id] = nil
        } else {
            let old = instances[r.old]
            old.state = .draining
            old.lifecycle.drainStarted = loop.now
            held.append(contentsOf: old.takeUnstarted())
            scalingRecords[r.record] = record
            retireIfDrained(old)
            return
        }
        scalingRecords[r.record] = record
    }

    /// A drained instance that was being replaced is gone.
    func rescaleRetired(_ inst: Instance) {
        guard let id = rescaleOf.removeValue(forKey: inst.index), let r = rescales.removeValue(forKey: id) else { return }
        scalingRecords[r.record].end = loop.now
        if let other = gpuSharers.removeValue(forKey: inst.index) { gpuSharers[other] = nil }
    }

    // MARK: Bookkeeping

    /// The GPUs of `inst` that the successor of its rescale runs on.
    func successorGPUs(of inst: Instance) -> [GPUAddress] {
        guard let id = rescaleOf[inst.index], let r = rescales[id] else { return [] }
        return r.gpus
    }

    /// Takes an instance out of service at once, its memory freed and the GPUs not in `keeping` returned.
    private func remove(_ inst: Instance, keeping: [GPUAddress]) {
        inst.state = .removed
        inst.lifecycle.removed = loop.now
        inst.releaseMemory()
        topology.release(inst.gpus.filter { !keeping.contains($0) })
        notify(.instanceRemoved(inst.index))
    }

    private func fail(_ id: Int, _ error: Error) {
        guard let r = rescales.removeValue(forKey: id) else { return }
        scalingRecords[r.record].failure = "\(error)"
        for s in r.staged { topology.nodes[s.gpu.node].memory.releaseHBM(slot: s.gpu.slot, s.bytes, from: .stagedWeights) }
        if rescaleOf[r.old] == id {
            rescaleOf[r.old] = nil
            let old = instances[r.old]
            old.unreserve(blocks: r.carvedBlocks)
            if old.state != .removed {
                topology.release(r.added)
                old.state = .active
            }
        }
    }

    /// Records the HBM in use now over the old and new layouts' GPUs, if it is the most so far.
    private func notePeak(_ id: Int) {
        guard let r = rescales[id] else { return }
        notePeak(r.record, over: instances[r.old].gpus + r.added)
    }

    private func notePeak(_ record: Int, over gpus: [GPUAddress]) {
        scalingRecords[record].peakHBMBytes = max(scalingRecords[record].peakHBMBytes, hbmInUse(gpus))
        let most = gpus.map { topology.nodes[$0.node].memory.hbm[$0.slot].totalUsed }.max() ?? 0
        scalingRecords[record].peakDeviceHBMBytes = max(scalingRecords[record].peakDeviceHBMBytes, most)
    }

    func hbmInUse(_ gpus: [GPUAddress]) -> Double {
        var seen: [GPUAddress] = []
        var total = 0.0
        for g in gpus where !seen.contains(g) {
            seen.append(g)
            total += topology.nodes[g.node].memory.hbm[g.slot].totalUsed
        }
        return total
    }
}
