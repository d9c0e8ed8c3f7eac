import DequeModule
import HardwareModels
import SimCore
import Workloads

/// The events that drive a cluster.
public enum ClusterEvent: Sendable, BitwiseCopyable {
    /// The next request from the workload arrives.
    case arrival
    /// An instance's forward pass (its oldest micro-batch in flight) ends.
    case iterationDone(instance: Int)
    /// A pipeline-parallel instance's first stage is free for the next micro-batch.
    case firstStageFree(instance: Int)
    /// The flow network's next flow delivers its data (stale when `version`
    /// is not the network's current one: rates changed since).
    case flowDelivery(version: Int)
    /// A group of flows has fully arrived (data plus path latency).
    case transferDone(group: Int)
    /// Time to record every instance's state.
    case sample
    /// A request's client gives up on it (`clientTimeout` after it was sent).
    case clientTimeout(request: Int)
    /// The cluster controller's periodic call.
    case controlTick
    /// A started instance has warmed up and takes requests.
    case instanceWarm(instance: Int)
    /// A launched instance's engine process has started; its weights load next.
    case instanceInitialized(instance: Int)
    /// A timed phase of a rescale ended (see Cluster+Rescale.swift).
    case rescalePhase(rescale: Int)
}

/// Makes a fresh batch scheduler for each instance.
public typealias SchedulerFactory = (_ spec: InstanceSpec, _ instance: Int) -> any BatchScheduler

/// A serving cluster: instances, a router, a workload, and the event loop that
/// runs them. The cluster is mechanism: it moves requests between queues and
/// instances and keeps time; routers and schedulers make the decisions.
public final class Cluster {
    public let loop = EventLoop<ClusterEvent>()
    public private(set) var instances: [Instance] = []
    /// `instances`, unretained, for the event handlers to lend (`lending(_:_:)`); both only grow.
    private var lent = OwnedValues<Unmanaged<Instance>>()
    /// The least-loaded accepting instance, kept up to date for routers.
    public let loads = LoadIndex()
    public var router: any Router
    /// Cluster-wide decisions on their own clock (nil: none).
    public var controller: (any ClusterController)? { didSet { hasController = controller != nil } }
    /// Whether there is a controller, read on every arrival and end: comparing the optional
    /// existential itself with nil copied and destroyed it each time.
    private var hasController = false
    private var controlling = false
    private var pendingControlEvents: [ControlEvent] = []
    public let metrics = MetricsRecorder()
    public let sampleInterval: SimTime?

    private let source: RequestSource
    private let makeScheduler: SchedulerFactory
    private var nextRequest: Request?
    private var sourceExhausted = false
    public private(set) var arrived = 0
    /// Requests whose output was cut short by `max_model_len` (they finish, with fewer tokens).
    public private(set) var lengthCapped = 0
    /// How long a client waits for its request to finish before it gives up (nil: forever).
    public var clientTimeout: SimTime?
    /// Requests whose client may still give up, by id (looked up, never iterated).
    private var awaitingClients: [Int: ServingRequest] = [:]
    public private(set) var ended = 0
    public var totalPreemptions: Int { instances.reduce(0) { $0 + $1.preemptionCount } }
    private var started = false
    /// Whether a sampling or controller tick is scheduled (they alone do not keep a stalled run going).
    private var samplePending = false, tickPending = false
    /// Requests set to move when the iteration they are in ends: while none is, an ending
    /// iteration need not look at each of its requests for one.
    private var departuresDue = 0
    private var deferredError: Error?
    public internal(set) var migrations = 0

    /// The machines, links and flows under the instances.
    public internal(set) var topology: Topology
    private var flowVersion = 0

    /// Flows that together move one thing, and what their arrival means.
    struct TransferGroup {
        enum Purpose {
            /// A request's KV cache moving to another instance.
            case migration(request: ServingRequest, from: Int, to: Int, blocks: Int)
            /// Swap traffic an iteration waits for before it computes.
            case swapBeforeIteration(instance: Int, step: StageTimes)
            /// Copies nothing waits for (prefix blocks stored to host DRAM), sharing the links.
            case background
            /// One stage of a live migration (see Cluster+LiveMigration.swift).
            case liveStage(migration: Int, last: Bool)
            /// A started instance's weights, loaded onto its GPUs.
            case weightsLoad(instance: Int)
            /// Weights and experts moving for a rescale.
            case rescale(Int)
        }
        let purpose: Purpose
        var flowsLeft: Int
        var latency: Double = 0
    }
    private var groups: [Int: TransferGroup] = [:]
    /// Requests that arrived while no instance took them but one is starting or being rescaled, in
    /// arrival order: they go to the router once one is ready.
    var held = Deque<ServingRequest>()
    /// Rescales under way, by id (looked up, never iterated for decisions), and every rescale's record.
    var rescales: [Int: Rescale] = [:]
    var nextRescaleID = 0
    /// The rescale each instance being replaced is in, and the rescale each launched successor belongs to.
    var rescaleOf: [Int: Int] = [:]
    var successorOf: [Int: Int] = [:]
    public internal(set) var scalingRecords: [ScalingRecord] = []
    /// Every forward pass, when asked for (nil: not recorded).
    public var iterationLog: IterationLog? {
        didSet { for inst in instances { inst.keepsLastStep = iterationLog != nil } }
    }
    /// Instances that compute on some of the same GPUs, each to the other (a concurrent rescale's two engines).
    var gpuSharers: [Int: Int] = [:]
    /// Where each launched instance's weights come from, until they load.
    private var weightSources: [Int: WeightSource] = [:]
    /// Live migrations under way, by id (looked up, never iterated for decisions), and every migration's record.
    var live: [Int: LiveMigration] = [:]
    var nextLiveID = 0
    public internal(set) var migrationRecords: [MigrationRecord] = []
    /// Llumnix's limits: at most this many stages, and a last stage once the blocks added since the
    /// previous one are at most this many.
    public var liveMigrationLimits = (maxStages: 3, lastStageMaxBlocks: 16)
    private var flowGroup: [FlowNetwork.FlowID: Int] = [:]
    private var nextGroupID = 0

    /// Whether instances run the steps in which nothing can change their batch from aggregates,
    /// bringing the requests up to date only when the steps end or something reads them (see
    /// DecodeStretch). Every output is the same either way; off, every step updates each request.
    public var coalescesDecodes = true {
        didSet { for inst in instances { inst.catchUp(); inst.coalescesDecodes = coalescesDecodes } }
    }

    /// Invariant violations found while `checkInvariants` is on.
    public private(set) var violations: [String] = []
    public var checkInvariants = false

    public init(instances specs: [InstanceSpec], router: any Router, source: RequestSource,
                sampleInterval: SimTime?, topology: Topology = Topology(),
                makeScheduler: @escaping SchedulerFactory) throws {
        self.router = router
        self.topology = topology
        self.source = source
        self.sampleInterval = sampleInterval
        self.makeScheduler = makeScheduler
        for spec in specs { _ = try addInstance(spec) }
    }

    // MARK: Running

    /// Runs until every request has ended or a stop condition holds.
    public func run(_ stop: StopConditions = .init(), progress: ((Cluster) -> Void)? = nil) throws -> StopReason {
        if !started {
            started = true
            try pullNextArrival()
            if let sampleInterval { loop.schedule(.sample, at: .zero + sampleInterval); samplePending = true }
            if let period = controller?.period { loop.schedule(.controlTick, at: .zero + period); tickPending = true }
        }
        var failure: Error?
        var sinceProgress = 0
        let reason = loop.run(stop) { event in
            do { try handle(event) } catch {
                failure = error
                loop.requestStop()
            }
            if let progress {
                sinceProgress += 1
                if sinceProgress >= 200_000 { sinceProgress = 0; progress(self) }
            }
        }
        if let failure { throw failure }
        let now = loop.now
        for inst in instances { inst.kvUsage.set(Double(inst.blocksInUse), at: now) }
        return reason
    }

    /// Whether every request the workload produced has ended.
    public var allRequestsEnded: Bool { sourceExhausted && nextRequest == nil && ended == arrived }

    /// Calls `body` with instance `i` lent rather than retained (a retain and release per step,
    /// of the instance or of `instances`' storage): `instances` keeps every instance for the
    /// cluster's life.
    @inline(__always) private func lending<R>(_ i: Int, _ body: (Instance) -> R) -> R {
        lent[i]._withUnsafeGuaranteedRef(body)
    }

    private func handle(_ event: ClusterEvent) throws {
        switch event {
        case .arrival:
            arrive()
            try pullNextArrival()
        case .iterationDone(let i):
            let colocated = lending(i) { inst in
                finishIteration(on: inst)
                return inst.role == .colocated
            }
            // New hand-offs appear on prefill instances; room for them on decode ones.
            if !colocated { retryHandoffs() }
        case .firstStageFree(let i):
            lending(i) { startIterationIfIdle($0) }
        case .flowDelivery(let version):
            if version == flowVersion { deliverFlows() }
        case .transferDone(let group):
            completeGroup(group)
        case .sample:
            recordSamples()
            samplePending = false
            // Periodic events alone cannot make progress: a stalled cluster ends (drained) instead of sampling forever.
            if !allRequestsEnded, let sampleInterval, loop.pendingEvents > (tickPending ? 1 : 0) {
                loop.schedule(.sample, at: nextSampleTime(sampleInterval))
                samplePending = true
            }
        case .clientTimeout(let id):
            if let r = awaitingClients[id] { abandon(r) }
        case .instanceWarm(let i):
            guard instances[i].state == .starting else { break }
            instances[i].state = .active
            instances[i].lifecycle.ready = loop.now
            notify(.instanceReady(i))
            instanceWarmed(i)
            placeHeld()
        case .instanceInitialized(let i):
            instances[i].lifecycle.initialized = loop.now
            loadWeights(instances[i])
        case .rescalePhase(let id):
            rescalePhaseEnded(id)
        case .controlTick:
            tickPending = false
            control { $0.tick(ControlPlane(cluster: self)) }
            if !allRequestsEnded, let period = controller?.period, loop.pendingEvents > (samplePending ? 1 : 0) {
                loop.schedule(.controlTick, at: loop.now + period)
                tickPending = true
            }
        }
        if let e = deferredError { deferredError = nil; throw e }
        if allRequestsEnded { loop.requestStop() }
    }

    private func pullNextArrival() throws {
        guard !sourceExhausted, nextRequest == nil else { return }
        if let r = try source.next() {
            guard r.arrival < .max else { throw ArrivalBeyondClock(request: r.id) }
            nextRequest = r
            loop.schedule(.arrival, at: max(r.arrival, loop.now))
        } else if source.isExhausted {
            sourceExhausted = true
        }
        // Otherwise the source waits for requests to end (closed loop).
    }

    private func arrive() {
        guard let spec = nextRequest else { return }
        nextRequest = nil
        arrived += 1
        let r = ServingRequest(spec, instance: -1)
        if let clientTimeout {
            awaitingClients[r.id] = r
            loop.schedule(.clientTimeout(request: r.id), at: loop.now + clientTimeout)
        }
        place(r)
    }

    /// Routes a new request; while no instance takes requests but one is on its way (starting, or
    /// the instance being rescaled), it is held until one is ready.
    private func place(_ request: ServingRequest) {
        // The target is lent throughout: a retain and release per read of `instances` added up to
        // a dozen atomic operations per request.
        guard let target = router.route(request, among: instances, loads: loads), lending(target, { $0.acceptsNewRequests }) else {
            if !rescales.isEmpty || instances.contains(where: { $0.state == .starting && $0.role != .decode }) {
                held.append(request)
            } else {
                end(request, reason: .noInstance)
            }
            return
        }
        let limit = lending(target) { $0.limits.maxModelLen }
        guard request.promptTokens <= limit else {
            request.instance = target
            end(request, reason: .exceedsContext)
            return
        }
        // vLLM stops a request whose context reaches max_model_len (finish reason "length"),
        // after at least the token its prefill samples.
        let cap = max(1, limit - request.promptTokens)
        guard request.outputTokens <= cap else {
            lengthCapped += 1
            let capped = ServingRequest(Request(id: request.id, arrival: request.arrival, promptTokens: request.promptTokens,
                                                outputTokens: cap, prefix: request.prefix, highPriority: request.highPriority),
                                        instance: -1)
            if clientTimeout != nil { awaitingClients[capped.id] = capped }
            return enqueue(capped, on: target)
        }
        enqueue(request, on: target)
    }

    /// Queues `request` at instance `target`, routed there. (A parameter, so that the instance's call
    /// borrows it: a variable holding it was retained around the call.)
    private func enqueue(_ request: ServingRequest, on target: Int) {
        lending(target) { inst in
            inst.enqueue(request)
            notify(.arrival(request: request.id, instance: target))
            startIterationIfIdle(inst)
        }
    }

    /// Routes the held requests, in order, now that an instance may take them.
    func placeHeld() {
        let waiting = held
        held.removeAll()
        for r in waiting { place(r) }
    }

    /// Starts the instance's next batch if it can take one (no batch in flight; with pipeline
    /// parallelism, fewer than `pp` and the first stage free).
    func startIterationIfIdle(_ inst: Instance) {
        if inst.state == .handingOver, holdsSteps(inst) {
            handOverIfDue(inst)
            return
        }
        guard inst.state != .removed, inst.canStartBatch(at: loop.now) else { return }
        let formed = inst.formBatch(now: loop.now)
        if !inst.dropped.isEmpty {
            for (r, reason) in inst.dropped { end(r, reason: reason) }
            inst.dropped.removeAll()
        }
        inst.kvUsage.set(Double(inst.blocksInUse), at: loop.now)
        guard let step = formed else {
            retireIfDrained(inst)
            return
        }
        // Swaps are copied before the forward pass that needs the memory: each
        // GPU moves its shard of every swapped block.
        if inst.copiesBlocks {
            let traffic = inst.swapTraffic
            var flows: [(bytes: Double, path: [Int])] = []
            for g in inst.gpus {
                for (blocks, path) in [(traffic.toHost, topology.pathToHost(from: g)),
                                       (traffic.fromHost, topology.pathFromHost(to: g)),
                                       (traffic.toNVMe, topology.pathToNVMe(from: g)),
                                       (traffic.fromNVMe, topology.pathFromNVMe(to: g))] where blocks > 0 {
                    flows.append((Double(blocks) * inst.blockBytesPerGPU, path))
                }
            }
            inst.pipeline.hold()
            startGroup(.swapBeforeIteration(instance: inst.index, step: step), flows: flows)
        } else {
            enterPipeline(inst, step)
        }
    }

    @inline(__always)
    private func enterPipeline(_ inst: Instance, _ planned: StageTimes) {
        var step = planned
        // Two engines on the same GPUs (a concurrent rescale) time-share them: a step that starts while
        // the other computes takes twice as long.
        if !gpuSharers.isEmpty, let other = gpuSharers[inst.index], instances[other].busy {
            step = StageTimes(first: step.first + step.first, rest: step.rest + step.rest)
        }
        let (done, firstStageFree) = inst.pipeline.run(from: loop.now, step)
        if let log = iterationLog {
            let stages = Int64(inst.stages - 1)
            log.record(inst, start: loop.now, duration: (step.first + SimTime(nanoseconds: step.rest.nanoseconds * stages)).seconds)
        }
        loop.schedule(.iterationDone(instance: inst.index), at: done)
        if inst.stages > 1 { loop.schedule(.firstStageFree(instance: inst.index), at: firstStageFree) }
    }

    /// What waits for an iteration's end besides its tokens (on most steps, nothing).
    private struct AwaitingEnd {
        /// Requests set to move to another instance.
        var leaving: [ServingRequest] = []
        /// Live migrations whose last stage pauses one of the iteration's requests.
        var pausing: [Int] = []
        /// Requests whose client gave up during the iteration: they are aborted now that it is over.
        var abandoned: [ServingRequest] = []
    }

    /// What waits for the end of `inst`'s oldest iteration, nil when nothing can.
    @inline(__always)
    private func awaitingEnd(of inst: Instance) -> AwaitingEnd? {
        guard departuresDue > 0 || !live.isEmpty || clientTimeout != nil else { return nil }
        let flight = inst.oldestFlight
        var awaiting = AwaitingEnd()
        if departuresDue > 0 { awaiting.leaving = flight.filter { $0.migrationTarget != nil } }
        if !live.isEmpty {
            awaiting.pausing = flight.compactMap { r in r.liveMigration.flatMap { live[$0]?.awaitingPause == true ? $0 : nil } }
        }
        if clientTimeout != nil { awaiting.abandoned = flight.filter { $0.abandoned && $0.migrationTarget == nil } }
        return awaiting
    }

    /// Inlined into the event's handler, as are the functions a decode stretch's step runs through
    /// once (forming the step, its stage times, entering the pipeline): a call each had cost its
    /// prologue, its epilogue and reloads of what the caller held: 6% of a 7B cluster's instructions.
    @inline(__always)
    private func finishIteration(on inst: Instance) {
        let now = loop.now
        let awaiting = awaitingEnd(of: inst)
        let someFinished = inst.completeIteration(metrics: metrics, at: now)
        if inst.offloadStores > 0 {
            // Blocks just named in the prefix cache are copied to host DRAM while serving goes on.
            let bytes = Double(inst.offloadStores) * inst.blockBytesPerGPU
            startGroup(.background, flows: inst.gpus.map { (bytes, topology.pathToHost(from: $0)) })
            inst.offloadStores = 0
        }
        if someFinished {
            inst.forEachFinished { end($0, reason: nil) }
            inst.releaseFinished()
        }
        if let awaiting {
            for r in awaiting.abandoned where r.phase != .finished && inst.abort(r) { end(r, reason: .clientTimeout) }
            for r in awaiting.leaving {
                let target = r.migrationTarget!
                r.migrationTarget = nil
                departuresDue -= 1
                if r.phase == .running { startTransfer(r, to: target) }
            }
        }
        if checkInvariants, let problem = inst.accountingProblem() { violations.append("t=\(now.seconds)s: \(problem)") }
        if let pausing = awaiting?.pausing { for id in pausing { continueLiveMigration(id) } }
        startIterationIfIdle(inst)
    }

    func end(_ r: ServingRequest, reason: DropReason?) {
        ended += 1
        if clientTimeout != nil { awaitingClients[r.id] = nil }
        metrics.ended(r, at: loop.now, reason: reason)
        source.requestEnded(id: r.id, at: loop.now)
        notify(.ended(request: r.id, instance: r.instance, latency: reason == nil ? r.firstToken.map { first in
            ControlEvent.Latency(ttft: (first - r.arrival).seconds,
                                 tpot: r.generatedTokens > 1 ? (loop.now - first).seconds / Double(r.generatedTokens - 1) : 0)
        } : nil))
        if nextRequest == nil, !sourceExhausted {
            // A closed-loop client may send now; a source error surfaces after this event.
            do { try pullNextArrival() } catch { deferredError = error }
        }
    }

    /// One interval on, or, while the cluster is idle, the last point of the
    /// sampling grid before the next arrival: an idle stretch (a long gap in a
    /// trace) would otherwise fill the time series with identical empty rows.
    private func nextSampleTime(_ interval: SimTime) -> SimTime {
        let now = loop.now
        guard groups.isEmpty, instances.allSatisfy(\.isIdle), let next = nextRequest?.arrival,
              next > now + interval
        else { return now + interval }
        return now + SimTime(nanoseconds: (next - now).nanoseconds / interval.nanoseconds * interval.nanoseconds)
    }

    private func recordSamples() {
        for inst in instances where inst.state != .removed {
            metrics.sample(InstanceSample(
                time: loop.now, instance: inst.index, waiting: inst.waiting.count, running: inst.runningCount,
                swapped: inst.swapped.count, gpuBlocksUsed: inst.blocksInUse,
                gpuBlocksTotal: inst.gpuBlocks.capacity, hostBlocksUsed: inst.hostBlocks.used,
                nvmeBlocksUsed: inst.nvmeBlocks.used))
        }
    }

    /// Time-weighted mean share of each instance's GPU KV blocks in use.
    public func kvUtilization() -> [Double] {
        instances.map { inst in
            let cap = Double(inst.gpuBlocks.capacity)
            return cap > 0 ? inst.kvUsage.mean(until: loop.now) / cap : 0
        }
    }

    // MARK: Mechanisms for policies: scaling, hand-off, migration

    /// Where a started instance loads its weights from.
    public enum WeightSource: Sendable, Equatable {
        /// The server's NVMe, through a host buffer.
        case nvme
        /// The server's DRAM (weights staged there).
        case hostMemory
        /// A running instance's GPUs (GPU i copies from the peer's GPU i mod its count).
        case peer(instance: Int)
    }

    /// Starts an instance while the cluster runs: its GPUs are taken at once (or `gpus`, already
    /// free); a cold engine process first starts (its engine's `initialization`, unless
    /// `preInitialized`), then it loads its weights over the modelled path (flows that share
    /// bandwidth with everything else), warms up for its engine's `warmup`, and only then takes
    /// requests. Each phase is in `lifecycle`.
    @discardableResult
    public func launchInstance(_ spec: InstanceSpec, weightsFrom source: WeightSource = .nvme, on gpus: [GPUAddress]? = nil,
                               preInitialized: Bool = false) throws -> Instance {
        let inst = try addInstance(spec, ready: false, on: gpus)
        inst.lifecycle.requested = loop.now
        weightSources[inst.index] = source
        if preInitialized || spec.engine.initialization == 0 {
            loadWeights(inst)
        } else {
            loop.schedule(.instanceInitialized(instance: inst.index), after: .seconds(spec.engine.initialization))
        }
        return inst
    }

    private func loadWeights(_ inst: Instance) {
        let source = weightSources.removeValue(forKey: inst.index) ?? .nvme
        let flows = inst.gpus.enumerated().map { i, g -> (bytes: Double, path: [Int]) in
            switch source {
            case .nvme: (inst.weightBytesPerGPU, topology.pathFromNVMe(to: g))
            case .hostMemory: (inst.weightBytesPerGPU, topology.pathFromHost(to: g))
            case .peer(let p): (inst.weightBytesPerGPU, topology.path(from: instances[p].gpus[i % instances[p].gpus.count], to: g))
            }
        }
        startGroup(.weightsLoad(instance: inst.index), flows: flows)
    }

    /// Adds an instance while the simulation runs; it takes requests at once (`ready`), or once
    /// `launchInstance` has loaded and warmed it. Its GPUs are allocated, or `chosen` (GPUs the
    /// caller already holds for it: a rescale's).
    @discardableResult
    public func addInstance(_ spec: InstanceSpec, ready: Bool = true, on chosen: [GPUAddress]? = nil) throws -> Instance {
        guard let gpus = chosen ?? topology.allocate(for: spec) else {
            throw ClusterError.noFreeGPUs(accelerator: spec.accelerator.name, needed: spec.layout.gpus)
        }
        let inst: Instance
        let scaleOut = topology.scaleOut(of: gpus, layout: spec.layout)
        // Replicas of one spec share a cost model: one copy of its parameters and tables stays in the
        // cache, where hundreds of copies, one read per step each, did not.
        let shared = instances.last.flatMap { $0.spec == spec && $0.costModel.scaleOut == scaleOut ? $0 : nil }
        do {
            inst = try Instance(index: instances.count, spec: spec, scheduler: makeScheduler(spec, instances.count), gpus: gpus,
                                memory: gpus.map { topology.nodes[$0.node].memory }, scaleOut: scaleOut, sharingCostsWith: shared)
        } catch {
            if chosen == nil { topology.release(gpus) }
            throw error
        }
        instances.append(inst)
        lent.append(Unmanaged.passUnretained(inst))
        inst.coalescesDecodes = coalescesDecodes
        inst.keepsLastStep = iterationLog != nil
        inst.loadIndex = loads
        loads.add()
        inst.kvUsage = TimeWeightedMean(start: loop.now)
        if ready {
            inst.lifecycle.ready = loop.now
            notify(.instanceReady(inst.index))
        } else {
            inst.state = .starting
        }
        return inst
    }

    /// Tells the controller of an event; one that happens while the controller acts (it started an
    /// instance, its migration ended a request) is told once that call returns, in order.
    /// (The event is made only when there is a controller to tell.)
    func notify(_ event: @autoclosure () -> ControlEvent) {
        guard hasController || controlling else { return }
        pendingControlEvents.append(event())
        deliverControlEvents()
    }

    private func deliverControlEvents() {
        guard !controlling else { return }
        while !pendingControlEvents.isEmpty {
            let next = pendingControlEvents.removeFirst()
            control { $0.observe(next, ControlPlane(cluster: self)) }
        }
    }

    /// Calls the controller with it taken out, so that what it does can reach the cluster (and queue
    /// events for it) without touching the controller while it runs.
    private func control(_ call: (inout any ClusterController) -> Void) {
        guard var c = controller else { return }
        controlling = true
        controller = nil
        call(&c)
        controller = c
        controlling = false
        deliverControlEvents()
    }

    /// Stops routing new requests to an instance; it is removed once it holds none.
    public func drain(_ index: Int) {
        guard instances[index].state == .active else { return }
        instances[index].state = .draining
        instances[index].lifecycle.drainStarted = loop.now
        retireIfDrained(instances[index])
    }

    func retireIfDrained(_ inst: Instance) {
        if inst.state == .draining, inst.isIdle, inst.reservedBlocks == 0 {
            inst.state = .removed
            inst.lifecycle.removed = loop.now
            inst.releaseMemory()
            // A successor on some of the same GPUs (a concurrent rescale) keeps those.
            let successor = successorGPUs(of: inst)
            topology.release(inst.gpus.filter { !successor.contains($0) })
            rescaleRetired(inst)
            notify(.instanceRemoved(inst.index))
        }
    }

    /// Moves a running request, with its KV cache, to another instance. The
    /// destination reserves the blocks first; the copy takes the bytes over the
    /// slower of the two instances' GPU links. A request in the iteration now
    /// running leaves when that iteration ends. Returns false when the
    /// destination cannot take it.
    @discardableResult
    public func migrate(_ r: ServingRequest, to destination: Int) -> Bool {
        guard r.instance >= 0 else { return false }
        let src = instances[r.instance], dst = instances[destination]
        src.catchUp()
        guard destination != r.instance, dst.state == .active, !r.isMigrating,
              dst.canReserve(blocks: r.kvBlocks + 1),
              r.phase == .running || src.awaitingHandoff.contains(where: { $0 === r })
        else { return false }
        if r.inFlight {
            r.migrationTarget = destination
            departuresDue += 1
            return true
        }
        return startTransfer(r, to: destination)
    }

    /// Starts the copy of a request's KV cache: each GPU of the source sends
    /// its shard to the matching GPU of the destination, as flows that share
    /// links with every other transfer.
    @discardableResult
    private func startTransfer(_ r: ServingRequest, to destination: Int) -> Bool {
        let src = instances[r.instance], dst = instances[destination]
        guard dst.state == .active, dst.canReserve(blocks: r.kvBlocks) else { return false }
        src.detachForMigration(r)
        dst.reserve(blocks: r.kvBlocks)
        // A hand-off's KV has waited since its prefill sampled the first token.
        if src.role == .prefill { r.kvWait += loop.now - r.lastToken }
        r.transferStart = loop.now
        let bytes = Double(r.computedTokens) * src.spec.model.kvBytesPerToken(tp: src.spec.layout.tp) / Double(src.gpus.count)
        startGroup(.migration(request: r, from: src.index, to: dst.index, blocks: r.kvBlocks),
                   flows: kvFlows(from: src, to: dst, bytesPerGPU: bytes))
        return true
    }

    // MARK: Flows

    /// Flows that copy a request's KV from one instance to another, `bytes` from each source GPU to the
    /// GPU holding the same layers and heads at the destination (GPUs are in stage-major order; stage k's
    /// layers land in the destination stage that holds them).
    func kvFlows(from src: Instance, to dst: Instance, bytesPerGPU bytes: Double) -> [(bytes: Double, path: [Int])] {
        let (s, d) = (src.spec.layout, dst.spec.layout)
        return src.gpus.enumerated().map { i, g in
            let stage = i / s.gpusPerStage * d.pp / s.pp, rank = i % s.gpusPerStage % d.gpusPerStage
            return (bytes, topology.path(from: g, to: dst.gpus[stage * d.gpusPerStage + rank]))
        }
    }

    func startGroup(_ purpose: TransferGroup.Purpose, flows: [(bytes: Double, path: [Int])]) {
        let id = nextGroupID
        nextGroupID += 1
        topology.network.advance(to: loop.now.seconds)
        var group = TransferGroup(purpose: purpose, flowsLeft: flows.count)
        for f in flows {
            flowGroup[topology.network.start(bytes: f.bytes, path: f.path)] = id
            group.latency = max(group.latency, topology.network.latency(of: f.path))
        }
        groups[id] = group
        scheduleNextDelivery()
    }

    /// Rates changed: the event for the old earliest delivery is now stale.
    private func scheduleNextDelivery() {
        flowVersion += 1
        guard let next = topology.network.nextDelivery else { return }
        loop.schedule(.flowDelivery(version: flowVersion), at: max(loop.now, .seconds(next.time)))
    }

    private func deliverFlows() {
        topology.network.advance(to: loop.now.seconds)
        // Every flow due by now (within the nanosecond rounding of event times).
        while let next = topology.network.nextDelivery, next.time <= loop.now.seconds + 1e-9 {
            topology.network.remove(next.id)
            let id = flowGroup.removeValue(forKey: next.id)!
            groups[id]!.flowsLeft -= 1
            if groups[id]!.flowsLeft == 0 {
                loop.schedule(.transferDone(group: id), after: .seconds(groups[id]!.latency))
            }
        }
        scheduleNextDelivery()
    }

    private func completeGroup(_ id: Int) {
        guard let group = groups.removeValue(forKey: id) else { return }
        switch group.purpose {
        case let .migration(r, from, to, blocks):
            let src = instances[from], dst = instances[to]
            let bytes = Double(r.computedTokens) * src.spec.model.kvBytesPerToken(tp: src.spec.layout.tp)
            src.release(r)
            dst.acceptMigrated(r, blocks: blocks)
            r.kvTransfer += loop.now - r.transferStart
            migrationRecords.append(MigrationRecord(
                request: r.id, from: from, to: to, kind: src.role == .prefill ? .handOff : .blocking, start: r.transferStart,
                end: loop.now, stages: 1, bytes: bytes, downtime: loop.now - r.transferStart, outcome: .committed))
            r.migrations += 1
            migrations += 1
            if r.abandoned, dst.abort(r) { end(r, reason: .clientTimeout) }
            retireIfDrained(src)
            startIterationIfIdle(src)
            startIterationIfIdle(dst)
        case let .swapBeforeIteration(instance, step):
            enterPipeline(instances[instance], step)
        case .background:
            break
        case let .weightsLoad(i):
            instances[i].lifecycle.weightsLoaded = loop.now
            loop.schedule(.instanceWarm(instance: i), after: .seconds(instances[i].spec.engine.warmup))
        case let .rescale(id):
            rescalePhaseEnded(id)
        case let .liveStage(id, last):
            if last { commitLiveMigration(id) } else { continueLiveMigration(id) }
        }
    }

    /// The client gave up: the engine aborts the request wherever it is and frees its blocks. One
    /// in the iteration being run, or with its KV in flight, is aborted when that ends.
    private func abandon(_ r: ServingRequest) {
        if r.instance < 0, let i = held.firstIndex(where: { $0 === r }) {
            held.remove(at: i)
            end(r, reason: .clientTimeout)
            return
        }
        guard r.instance >= 0, r.phase != .finished, r.phase != .dropped else { return }
        guard r.phase != .transferring, instances[r.instance].abort(r) else {
            r.abandoned = true
            return
        }
        end(r, reason: .clientTimeout)
        startIterationIfIdle(instances[r.instance])
    }

    /// Requests that finished prefill on prefill-only instances move to decode instances.
    private func retryHandoffs() {
        for inst in instances where !inst.awaitingHandoff.isEmpty {
            for r in inst.awaitingHandoff {
                guard let target = router.placeDecode(r, among: instances) else { return }
                migrate(r, to: target)
            }
        }
    }

    // MARK: Conservation

    /// Every inter-token gap (ns) of the requests that finished.
    public func finishedInterTokenGaps() -> CountedValues { metrics.finishedInterTokenGaps() }

    /// Checks that every arrived request ended exactly once and that no
    /// instance's KV accounting is off. Returns the problems found.
    public func conservationProblems() -> [String] {
        var problems = violations
        var seen = [Bool](repeating: false, count: arrived)
        for rec in metrics.records {
            if rec.id < 0 || rec.id >= arrived { problems.append("request \(rec.id) ended but never arrived"); continue }
            if seen[rec.id] { problems.append("request \(rec.id) ended twice") }
            seen[rec.id] = true
        }
        if allRequestsEnded, let missing = seen.firstIndex(of: false) {
            problems.append("request \(missing) arrived but never ended")
        }
        for inst in instances {
            if let p = inst.accountingProblem() { problems.append(p) }
            if allRequestsEnded == false, loop.pendingEvents == 0, inst.requestCount > 0 {
                problems.append("instance \(inst.index) stalled holding \(inst.requestCount) requests with nothing scheduled")
            }
        }
        return problems
    }
}

public enum ClusterError: Error, CustomStringConvertible, Equatable {
    case noFreeGPUs(accelerator: String, needed: Int)

    public var description: String {
        switch self {
        case let .noFreeGPUs(accelerator, needed):
            "no node has \(needed) free \(accelerator) GPUs and the node limit is reached"
        }
    }
}
