import DequeModule
import HardwareModels
import SimCore
import Workloads

/// What part of serving an instance does.
public enum InstanceRole: String, Sendable, CaseIterable {
    /// Prefill and decode on the same GPUs (continuous batching).
    case colocated
    /// Prefill only; each request moves to a decode instance after its first token.
    case prefill
    /// Decode only; requests arrive with their KV cache from a prefill instance.
    case decode
}

/// The static description of one instance: a model replica on TP×PP GPUs.
public struct InstanceSpec: Sendable, Equatable {
    public var model: ModelArchitecture
    public var accelerator: Accelerator
    public var layout: ParallelLayout
    public var role: InstanceRole
    public var limits: SchedulerLimits
    public var efficiency: EfficiencyFactors
    /// The serving stack the instance models (host time, CUDA graphs, collectives).
    public var engine: EngineProfile
    /// With pipeline parallelism, each stage on its own server (see Topology.allocate(stages:)).
    public var stagePerServer = false
    /// Mixture of experts: how tokens pick experts, and which expert-parallel group holds each
    /// (nil: the model's skew, and experts spread in contiguous runs).
    public var expertRouting: ExpertRouting?
    public var expertPlacement: ExpertPlacement?

    public init(model: ModelArchitecture, accelerator: Accelerator, layout: ParallelLayout = .init(),
                role: InstanceRole = .colocated, limits: SchedulerLimits = .init(),
                efficiency: EfficiencyFactors = .init(), engine: EngineProfile = EngineCatalog.distServe2023) {
        self.model = model
        self.accelerator = accelerator
        self.layout = layout
        self.role = role
        self.limits = limits
        self.efficiency = efficiency
        self.engine = engine
    }

    /// The KV cache this spec leaves room for; throws when the model does not fit.
    public func kvSizing() throws -> KVCacheSizing {
        try KVCacheSizing(model: model, accelerator: accelerator, layout: layout,
                          blockTokens: limits.blockTokens, memoryUtilization: limits.memoryUtilization,
                          maxBatchedTokens: limits.maxBatchedTokens, maxSequences: limits.maxSequences,
                          blocksOverride: limits.gpuBlocksOverride, memory: engine.kvMemory)
    }
}

extension Topology {
    /// The GPUs for an instance of `spec`, placed as it asks: packed, or one server per stage.
    public mutating func allocate(for spec: InstanceSpec) -> [GPUAddress]? {
        spec.stagePerServer && spec.layout.pp > 1
            ? allocate(stages: spec.layout.pp, perStage: spec.layout.gpusPerStage, of: spec.accelerator)
            : allocate(spec.layout.gpus, of: spec.accelerator)
    }
}

/// One model replica running continuous batching, iteration by iteration.
///
/// The instance is mechanism: queues, KV blocks in GPU and host memory, the
/// batch of the iteration in flight. Its `scheduler` is the policy that fills
/// each batch through the operations below.
public final class Instance {
    // First, what a decode stretch's step reads and writes, together, in as few cache lines as they
    // fill: at hundreds of instances each is a first-level cache miss at every step (every other
    // instance has stepped since), and a step touched about eleven of the instance's lines when
    // these lay among larger fields it does not read (the limits, the last step's cost, the queues).
    // (The first-level read misses of a 7B cluster's cut fell from 25.0 M to 21.9 M with this order.)
    public let index: Int
    public let costModel: CostModel
    /// The size terms of its prefill steps under `costModel`, shared with the instances that share it.
    private let stepSizes: StepSizeTerms
    /// The steps being run without touching the requests, or those that may be, while it is open
    /// (see DecodeStretch): held here, in place.
    private var stretch = DecodeStretch()

    /// starting: loading its weights and warming up; active: taking requests; draining: finishing
    /// those it holds; handingOver: being rescaled, serving those it holds until its successor on
    /// the same GPUs takes them over (no new ones); removed: gone, its GPUs returned.
    public enum State: String, Sendable { case starting, active, draining, handingOver = "handing_over", removed }
    public internal(set) var state = State.active { didSet { loadChanged() } }
    /// `spec`'s role; its pipeline stages are just below, its limits among what a step does not read.
    public let role: InstanceRole
    /// Whether `finished` lists any: a step reads this, not the list's count, which lies in a cache
    /// line of its own.
    private var listsFinished = false
    /// Whether this instance may run decode stretches (the cluster turns it on; outputs are the same either way).
    var coalescesDecodes = false
    /// Whether each step's cost is kept in `lastStep` (only for an iteration log: 72 bytes a step).
    var keepsLastStep = false
    /// Whether this iteration copies KV blocks before it computes (`swapTraffic` is not empty).
    public private(set) var copiesBlocks = false
    let stages: Int
    /// Stretch steps formed since the scheduler was last reached.
    private var untoldStretchSteps = 0
    /// `running.count`, read without bringing the requests up to date.
    public private(set) var runningCount = 0
    /// `waiting.count`, `swapped.count`, and the requests in the batch being formed and the
    /// micro-batches in flight, kept as they change. (A step reads them; each collection's own
    /// count lies in its storage, a cache line apart from the rest.)
    private var waitingCount = 0, swappedCount = 0, batchCount = 0, flightsCount = 0
    /// `limits.maxBatchedTokens`, kept here: the limits fill two cache lines a step reads nothing else of.
    @usableFromInline let maxBatchedTokens: Int
    /// Requests of a stretch by the step (modulo `blockTokens`) at which they take their next block.
    private var blockSteps = OwnedValues<Int>()
    public private(set) var gpuBlocks: KVBlockPool { didSet { holdingsChanged() } }
    /// Blocks promised to requests in flight to this instance.
    public private(set) var reservedBlocks = 0 { didSet { holdingsChanged() } }
    /// Σ (prompt + generated) over the requests this instance holds: a load
    /// signal that, unlike remaining output, a real router can know.
    public private(set) var outstandingTokens = 0 {
        didSet { loads?._withUnsafeGuaranteedRef { $0.markChanged(index, outstandingTokens >= oldValue ? .grew : .load) } }
    }
    /// `loadIndex`, lent to each call rather than retained: it is told several times per step, and
    /// `loadIndex` keeps it alive.
    private var loads: Unmanaged<LoadIndex>?
    /// Requests × iterations they took part in, over the run (a measure of simulation work).
    public private(set) var requestSteps = 0
    /// Iterations run; those in which a decode stretch's requests ran from aggregates (see
    /// DecodeStretch), and of those, the ones that ran nothing else (the instance formed them alone).
    public private(set) var iterations = 0, coalescedIterations = 0, fullyCoalescedIterations = 0
    /// Blocks stored in host DRAM since the cluster last copied them (see `offloaded`).
    var offloadStores = 0
    var pipeline: Pipeline
    /// GPU blocks in use over time, from when the cluster added it (the cluster sets it as each
    /// step is formed): here rather than in an array of the cluster's, which a step read and
    /// checked for uniqueness.
    var kvUsage = TimeWeightedMean()
    /// The last step formed, when it was a decode stretch's alone: its sequences and their context
    /// (the shape they make is `batchShape`; writing the whole shape had been a cache line a step).
    private var stretchStep: (sequences: Int, context: Int)?
    /// Requests this iteration's scheduling dropped, for the cluster to record.
    var dropped: [(ServingRequest, DropReason)] = []
    /// The requests that finished in the last step, in the order they finished (see completeIteration).
    private(set) var finished: [ServingRequest] = []
    /// Cached prompt blocks, when the engine caches prefixes (a step reads its first field).
    var prefixCache = PrefixCache() { didSet { holdingsChanged() } }

    // Below, what a decode stretch's step does not read.
    /// The policy that fills each batch. It hears of the decode stretch steps the instance formed
    /// without it (`BatchScheduler.formedStretchSteps`) before anything else reaches it.
    public var scheduler: any BatchScheduler {
        _read { tellStretchSteps(); yield schedulerStorage }
        _modify { tellStretchSteps(); yield &schedulerStorage }
    }
    public let limits: SchedulerLimits
    /// The shape of the batch being formed (then of the last one formed).
    public var batchShape: BatchShape {
        guard let step = stretchStep else { return scheduledShape }
        var shape = BatchShape()
        shape.addDecodes(step.sequences, context: step.context)
        return shape
    }
    /// `batchShape` when the scheduler formed the batch (or forms it now).
    private var scheduledShape = BatchShape() { didSet { stretchStep = nil } }
    /// KV blocks this iteration copies between GPU and host or NVMe before it computes (swaps,
    /// and prefix blocks loaded from host DRAM).
    public private(set) var swapTraffic = SwapTraffic() { didSet { copiesBlocks = !swapTraffic.isEmpty } }
    /// The cost of the batch formed last, part by part, while `keepsLastStep` is on (the cluster
    /// turns it on for its iteration log).
    public private(set) var lastStep = CostModel.Breakdown()

    // What an instance holds tells the cluster's rankings when it changes (see LoadIndex).
    public private(set) var waiting = Deque<ServingRequest>() { didSet { waitingCount = waiting.count; holdingsChanged() } }
    /// The requests admitted and not preempted, oldest first. Reading them brings them up to date
    /// first, when a decode stretch left them behind (see DecodeStretch); `runningCount` does not.
    public private(set) var running: [ServingRequest] {
        _read { catchUp(); yield runningRequests }
        _modify { catchUp(); yield &runningRequests }
    }
    /// Whether a high-priority request is running, and Σ the running requests' prompt tokens: read
    /// without bringing the requests up to date, as neither changes.
    public var runsHighPriorityRequest: Bool { runningRequests.contains { $0.highPriority } }
    public var runningPromptTokens: Int { runningRequests.reduce(0) { $0 + $1.promptTokens } }
    /// `running`'s storage, which only the steps' own loops read directly.
    /// (Changed only after a decode stretch caught up, or by the stretch as its requests finish.)
    private var runningRequests: [ServingRequest] = [] { didSet { runningCount = runningRequests.count; holdingsChanged() } }
    /// The stretch's requests, in running order (they are the first running requests).
    private var stretchMembers = OwnedValues<StretchMember>()
    public private(set) var swapped = Deque<ServingRequest>() { didSet { swappedCount = swapped.count; holdingsChanged() } }

    /// The batch being formed (then the last one formed). Reading it brings a decode stretch's
    /// requests up to date first, as reading `running` does.
    public var batch: Batch {
        _read { catchUp(); yield batchRequests }
    }
    /// `batch`'s storage.
    private var batchRequests = Batch() { didSet { batchCount = batchRequests.count } }
    /// Micro-batches running, oldest first: one, or up to `pp` with pipeline parallelism. (A decode
    /// stretch's step in flight is not listed: it runs every running request.)
    private var flights = Deque<Batch>() { didSet { flightsCount = flights.count } }
    var busy: Bool { flightsCount > 0 || stretch.inFlight }
    /// Micro-batches in flight, a decode stretch's step that lists no requests included.
    private var flightCount: Int { flightsCount + (stretch.inFlight && !stretch.withOthers ? 1 : 0) }
    /// The micro-batch that finishes next.
    var oldestFlight: Batch {
        guard stretch.inFlight else { return flights.first ?? Batch() }
        var flight = Batch(runningRequests[..<stretch.requests])
        if stretch.withOthers { flight.append(contentsOf: flights[0]) }
        return flight
    }
    public struct SwapTraffic: Sendable, Equatable {
        public var toHost = 0, fromHost = 0, toNVMe = 0, fromNVMe = 0
        public var isEmpty: Bool { toHost + fromHost + toNVMe + fromNVMe == 0 }
    }
    /// Bytes each GPU holds for weights, for the activations of one forward pass, and for the KV cache.
    public var memoryPerGPU: (weights: Double, activations: Double, kvCache: Double) {
        func bytes(_ use: MemoryUse) -> Double { hbmReservations.first { $0.0 == use }?.1 ?? 0 }
        return (bytes(.weights), bytes(.activations), bytes(.kvCache))
    }
    @inline(__always) private func loadChanged() { loads?._withUnsafeGuaranteedRef { $0.markChanged(index, .load) } }
    @inline(__always) private func holdingsChanged() { loads?._withUnsafeGuaranteedRef { $0.markChanged(index, .holdings) } }

    private var schedulerStorage: any BatchScheduler
    /// Bytes of weights each of its GPUs holds.
    public let weightBytesPerGPU: Double
    /// Swapped blocks in host DRAM and on NVMe (capped by the swap spaces, and
    /// drawn from the server's shared tiers).
    public private(set) var hostBlocks: KVBlockPool { didSet { holdingsChanged() } }
    public private(set) var nvmeBlocks: KVBlockPool { didSet { holdingsChanged() } }
    /// Emptied batch arrays kept for reuse: forming a batch allocates nothing.
    private var spareBatches: [Batch] = []
    /// Requests admitted from the waiting queue while the batch is formed (each is also in
    /// `running`, or in `waiting` or `dropped` when preempted again); empty between steps.
    private var admitted = Batch()
    /// The GPUs this instance runs on, and the memory of each one's server.
    public let gpus: [GPUAddress]
    private let memory: [NodeMemory]
    private let hbmReservations: [(MemoryUse, Double)]
    private let offloadDRAM: Double
    /// Requests that finished prefill here and wait for a decode instance.
    var awaitingHandoff: [ServingRequest] = []
    /// The cluster's rankings of instances, told when the load, the state or the holdings change.
    var loadIndex: LoadIndex? { didSet { loads = loadIndex.map { Unmanaged.passUnretained($0) } } }
    public private(set) var preemptionCount = 0
    /// Bytes of one KV block held on each GPU (each holds a shard).
    public let blockBytesPerGPU: Double
    public let cachesPrefixes: Bool
    /// Prefix-cache blocks in host DRAM (capacity 0: no offloading).
    var offloaded: OffloadedPrefixes
    /// What it runs, and when it went through each phase.
    public let spec: InstanceSpec
    /// When an instance went through each phase (nil: not reached; an instance present from the
    /// start has only `ready`).
    public struct Lifecycle: Sendable, Equatable {
        public var requested: SimTime?
        /// Its cold-started engine process was up (nil: no cold start).
        public var initialized: SimTime?
        public var weightsLoaded: SimTime?
        public var ready: SimTime?
        public var drainStarted: SimTime?
        public var removed: SimTime?
    }
    public internal(set) var lifecycle = Lifecycle()
    /// Prompt tokens found in the prefix cache, and prompt tokens of requests that looked.
    public var prefixHitTokens: Int { prefixCache.hitTokens }
    /// Prompt tokens loaded from host DRAM instead of recomputed.
    public var offloadHitTokens: Int { offloaded.hitTokens }
    public var prefixLookedUpTokens: Int { prefixCache.lookedUpTokens }
    /// Blocks holding live KV: the pool's used blocks less cached ones nobody uses.
    public var blocksInUse: Int { gpuBlocks.used - prefixCache.evictable }

    /// - Parameter other: an instance of the same spec and scale-out, whose cost model (it holds
    ///   nothing that changes) and step size terms to share; nil: new ones.
    public init(index: Int, spec: InstanceSpec, scheduler: any BatchScheduler, gpus: [GPUAddress],
                memory: [NodeMemory], scaleOut: CostModel.ScaleOut? = nil, sharingCostsWith other: Instance? = nil) throws {
        precondition(gpus.count == spec.layout.gpus && memory.count == gpus.count)
        let shared = other?.costModel
        precondition(shared.map { $0.scaleOut == scaleOut && $0.layout == spec.layout } ?? true, "a cost model of another layout")
        self.gpus = gpus
        self.memory = memory
        self.index = index
        self.spec = spec
        (limits, role, stages, maxBatchedTokens) = (spec.limits, spec.role, spec.layout.pp, spec.limits.maxBatchedTokens)
        self.schedulerStorage = scheduler
        costModel = shared ?? CostModel(model: spec.model, accelerator: spec.accelerator, layout: spec.layout,
                                        efficiency: spec.efficiency, engine: spec.engine, routing: spec.expertRouting,
                                        placement: spec.expertPlacement, scaleOut: scaleOut,
                                        keepingDecodeStepsUpTo: spec.limits.maxSequences)
        stepSizes = other?.stepSizes ?? StepSizeTerms(for: costModel)
        cachesPrefixes = spec.engine.prefixCaching
        pipeline = Pipeline(stages: spec.layout.pp)
        let sizing = try spec.kvSizing()
        weightBytesPerGPU = sizing.weightBytesPerGPU
        gpuBlocks = KVBlockPool(capacity: sizing.blocks)
        let blockBytes = Double(spec.limits.blockTokens) * spec.model.kvBytesPerToken(tp: spec.layout.tp)
        blockBytesPerGPU = blockBytes / Double(spec.layout.gpus)
        hostBlocks = KVBlockPool(capacity: Int(spec.limits.swapSpaceBytesPerGPU / blockBytesPerGPU))
        nvmeBlocks = KVBlockPool(capacity: Int(spec.limits.nvmeSwapBytesPerGPU / blockBytesPerGPU))
        let offloadBytes = cachesPrefixes ? spec.limits.kvOffloadBytes : 0
        offloaded = OffloadedPrefixes(capacity: Int(offloadBytes / blockBytes))
        // Every GPU holds its share of weights, activations and the KV pool.
        hbmReservations = [(.weights, sizing.weightBytesPerGPU), (.activations, sizing.activationReserveBytesPerGPU),
                           (.kvCache, Double(sizing.blocks) * blockBytesPerGPU)]
        for (i, g) in gpus.enumerated() {
            for (use, bytes) in hbmReservations where !memory[i].reserveHBM(slot: g.slot, bytes, for: use) {
                throw KVCacheSizingError.doesNotFit(model: spec.model.name, accelerator: spec.accelerator.name,
                                                    layout: spec.layout, needGiB: bytes / 1_073_741_824,
                                                    haveGiB: memory[i].hbm[g.slot].free / 1_073_741_824)
            }
        }
        offloadDRAM = Double(offloaded.capacity) * blockBytes
        if offloadDRAM > 0, !memory[0].dram.reserve(offloadDRAM, for: .offloadedKV) {
            throw KVCacheSizingError.offloadDoesNotFit(needGiB: offloadDRAM / 1_073_741_824,
                                                       haveGiB: memory[0].dram.free / 1_073_741_824)
        }
    }

    public var acceptsNewRequests: Bool { state == .active && role != .decode }
    public var acceptsDecodeHandoff: Bool { state == .active && role == .decode }
    /// Requests queued, running, swapped or waiting for hand-off here.
    public var requestCount: Int { waiting.count + runningCount + swapped.count + awaitingHandoff.count }
    public var isIdle: Bool { requestCount == 0 && !busy }
    /// Whether a new micro-batch may start at `now`: fewer than `pp` in flight, the first stage free.
    @inline(__always)
    func canStartBatch(at now: SimTime) -> Bool {
        flightCount < stages && pipeline.acceptsBatch(at: now)
    }

    // MARK: Block arithmetic

    public func blocks(forTokens tokens: Int) -> Int {
        (tokens + limits.blockTokens - 1) / limits.blockTokens
    }

    /// Extra blocks `request` needs to compute `tokens` more tokens.
    public func additionalBlocks(_ request: ServingRequest, tokens: Int) -> Int {
        max(0, blocks(forTokens: request.computedTokens + tokens) - request.kvBlocks)
    }

    /// Blocks kept free when admitting (the watermark).
    public var watermarkBlocks: Int { Int(Double(gpuBlocks.capacity) * limits.watermark) }

    /// Free blocks not promised to incoming transfers (cached blocks nobody uses count as free).
    public var availableBlocks: Int { gpuBlocks.free + prefixCache.evictable - reservedBlocks }

    /// Takes `n` blocks from the pool, evicting least recently used cached blocks if it must.
    private func take(_ n: Int) {
        if n > gpuBlocks.free {
            let evicted = n - gpuBlocks.free
            prefixCache.evict(evicted)
            gpuBlocks.release(evicted)
        }
        gpuBlocks.allocate(n)
    }

    /// Gives back what `r` holds on the GPU: its own blocks to the pool, its cached ones to the cache.
    private func free(_ r: ServingRequest) {
        gpuBlocks.release(r.kvBlocks - r.cachedBlocks)
        if r.cachedBlocks > 0 { prefixCache.release(r.blockHashes[..<r.cachedBlocks]) }
        r.cachedBlocks = 0
        r.kvBlocks = 0
    }

    public func canReserve(blocks n: Int) -> Bool { n <= availableBlocks - watermarkBlocks }

    // MARK: Mechanism operations for schedulers

    /// Tokens left in this iteration's batched-token budget.
    @inlinable public var tokenBudget: Int { maxBatchedTokens - batchShape.totalTokens }

    /// Adds a running request to the batch for `tokens` tokens, allocating its
    /// blocks. Returns false (changing nothing) when the blocks are not free.
    @discardableResult
    public func scheduleRunning(_ request: ServingRequest, tokens: Int) -> Bool {
        catchUp()
        return schedule(request, tokens: tokens)
    }

    /// `scheduleRunning(_:tokens:)` for a request of no decode stretch.
    private func schedule(_ request: ServingRequest, tokens: Int) -> Bool {
        precondition(request.phase == .running && request.instance == index && tokens > 0)
        var available = availableBlocks
        guard place(request, tokens: tokens, shape: &scheduledShape, available: &available) else { return false }
        batchRequests.append(request)
        return true
    }

    /// Gives `r` the blocks its `tokens` more tokens need and counts it in `shape` for them (false,
    /// changing nothing, when more than `available` blocks are needed); the caller puts it in the
    /// batch. The one step both ways of scheduling running requests share; `available` falls by
    /// the blocks taken.
    @inline(__always)
    private func place(_ r: ServingRequest, tokens: Int, shape: inout BatchShape, available: inout Int) -> Bool {
        let needed = r.computedTokens + tokens
        // Most steps fit in the blocks held (a decode needs a block every `blockTokens` tokens): no division.
        let extra = needed <= r.kvBlocks * limits.blockTokens ? 0 : max(0, blocks(forTokens: needed) - r.kvBlocks)
        guard extra <= available else { return false }
        if extra > 0 {
            take(extra)  // evicting cached blocks nobody uses, if it must
            available -= extra
            r.kvBlocks += extra
        }
        r.scheduledTokens = tokens
        if r.isDecoding {
            shape.addDecode(context: r.computedTokens)
        } else {
            shape.addPrefill(tokens: tokens, cached: r.computedTokens, samples: needed == r.contextTokens)
        }
        return true
    }

    /// What `scheduleRunning` read ahead, kept so that the reads are not optimized away.
    private var readAhead = 0

    /// Schedules the running requests from index `start` on, oldest first, each as
    /// `scheduleRunning` would for its pending tokens within the token budget (at least one). It
    /// passes over a request in a micro-batch in flight and, with `wholeOnly`, one whose pending
    /// tokens exceed the budget. It stops when the budget is spent or at the first request whose
    /// blocks are not free (for the scheduler to preempt for), and returns where it stopped
    /// (`running.count` when it went through them all).
    ///
    /// One tight loop, because at cluster scale this is most of a step's work: a call per request
    /// re-read the budget, the free blocks and the batch's storage for every one.
    public func scheduleRunning(from start: Int, wholeOnly: Bool) -> Int {
        var start = start
        if start == 0, stretch.formsNextStep, batchRequests.isEmpty, flights.isEmpty, formMembersStep(budget: tokenBudget) {
            // The stretch's requests run as its step (formed before the shape gains them); the others as below.
            scheduledShape.addDecodes(stretch.requests, context: stretch.nextContextTokens)
            start = stretch.requests
        } else {
            catchUp()
        }
        let running = runningRequests
        guard start < running.count else { return start }
        let maxTokens = maxBatchedTokens
        var shape = scheduledShape, available = availableBlocks
        var i = start, ahead = 0
        // The requests scheduled gather on the stack and join the batch at once: appending each to
        // the batch's array checked its storage's uniqueness every time.
        withUnsafeTemporaryAllocation(of: Unmanaged<ServingRequest>.self, capacity: running.count - start) { formed in
            var count = 0
            while i < running.count, maxTokens - shape.totalTokens > 0 {
                // A read of the request four places on, so that its cache miss overlaps this one's work.
                if i + 4 < running.count { ahead &+= Unmanaged.passUnretained(running[i + 4])._withUnsafeGuaranteedRef { $0.kvBlocks } }
                let budget = maxTokens - shape.totalTokens
                // Lent, not retained: `running` keeps it alive.
                let entry = Unmanaged.passUnretained(running[i])
                let scheduled = entry._withUnsafeGuaranteedRef { r -> Bool in
                    if r.inFlight { return true }  // in another micro-batch of the pipeline
                    let pending = r.pendingTokens, tokens = max(min(pending, budget), 1)
                    if wholeOnly && tokens < pending { return true }
                    guard place(r, tokens: tokens, shape: &shape, available: &available) else { return false }
                    formed[count] = entry
                    count += 1
                    return true
                }
                guard scheduled else { break }
                i += 1
            }
            batchRequests.append(contentsOf: UnsafeBufferPointer(rebasing: formed[..<count]))
        }
        scheduledShape = shape
        readAhead &+= ahead
        return i
    }

    // MARK: Decode stretches

    /// Forms the stretch's next step when it runs alone, as the scheduler would: every running
    /// request is the stretch's, and nothing waits or is swapped out. False (forming nothing)
    /// otherwise, or when the members' step cannot be formed (see formMembersStep).
    @inline(__always)
    private func formStretchStep() -> Bool {
        guard stretch.formsNextStep, runningCount == stretch.requests, waitingCount == 0, swappedCount == 0,
              batchCount == 0, flightsCount == 0, formMembersStep(budget: maxBatchedTokens) else { return false }
        stretchStep = (stretch.requests, stretch.nextContextTokens)
        return true
    }

    /// Forms the stretch's requests' part of the next step, as `scheduleRunning(from: 0, …)` would:
    /// each decodes one token (the caller adds them to the batch's shape). False (forming nothing)
    /// when `budget`, the tokens left in the step, is too small or the blocks the step takes are not
    /// free (then the scheduler forms the step, and preempts).
    @inline(__always)
    private func formMembersStep(budget: Int) -> Bool {
        guard stretch.requests <= budget else { return false }
        assert(stretch.nextBlockPhase == stretch.nextStep % limits.blockTokens)
        let blocks = blockSteps[stretch.nextBlockPhase]
        guard blocks <= availableBlocks else { return false }
        // One block at a time, as the requests would take them (evicting cached blocks nobody
        // uses), unless all are free.
        if blocks <= gpuBlocks.free {
            gpuBlocks.allocate(blocks)
        } else {
            for _ in 0..<blocks { take(1) }
        }
        stretch.formStep(takingBlocks: blocks)
        return true
    }

    /// Ends the decode stretch, if any, bringing its requests to where its steps took them: tokens
    /// computed and generated, blocks, their runs of sampled steps and inter-token gaps, and the
    /// step formed or in flight (scheduled tokens, in flight, and their place in its batch).
    func catchUp() {
        guard stretch.isOpen else { return }
        defer {
            stretch.close()
            stretchMembers.truncate(to: 0)
        }
        let requests = stretch.requests
        guard requests > 0, stretch.steps > 0 || stretch.formed else { return }
        var i = 0
        forEachRunning { r in
            bringUp(r, stretchMembers[i])
            i += 1
            return i < requests
        }
        guard stretch.formed else { return }
        // The step formed lists its requests, as any other does: the stretch's come first.
        let members = Batch(runningRequests[..<requests])
        if !stretch.inFlight {
            batchRequests.prepend(members)
        } else if stretch.withOthers {
            flights[flights.count - 1].prepend(members)
        } else {
            flights.append(members)
        }
    }

    /// Brings `r`, `member` of the stretch, to where its steps took it; returns the blocks it took.
    @inline(__always) @discardableResult
    private func bringUp(_ r: ServingRequest, _ member: StretchMember) -> Int {
        let blockTokens = limits.blockTokens, steps = stretch.steps - member.joinedAt
        let first = DecodeStretch.firstBlockStep(kvBlocks: r.kvBlocks, computedTokens: r.computedTokens, blockTokens: blockTokens)
        let blocks = DecodeStretch.blocks(inFirst: steps + (stretch.formed ? 1 : 0), first: first, blockTokens: blockTokens)
        r.kvBlocks += blocks
        if steps > 0 {
            r.computedTokens += steps
            r.generatedTokens += steps
            r.runTo &+= UInt32(truncatingIfNeeded: steps)
            r.lastToken = stretch.lastToken
            let maxGap = stretch.maxGap(after: member.joinedAt)
            if maxGap > r.maxInterTokenGap { r.maxInterTokenGap = maxGap }
        }
        if stretch.formed {
            r.scheduledTokens = 1
            r.inFlight = stretch.inFlight
        }
        return blocks
    }

    /// The stretch's step just ended was the last of some of its requests: each is brought up to
    /// date, leaves the stretch and the running list, and is added to `finished`, in running order;
    /// the rest go on.
    private func finishStretchRequests(into finished: inout [ServingRequest]) {
        let step = stretch.steps, blockTokens = limits.blockTokens
        var due = stretch.leaveFinished(), i = 0
        while due > 0 {
            // The next to finish, found from the members' finishing steps alone; it leaves the members
            // and the running list where it stands (those before it that finished are out): one move
            // of those after it each, where each running request had been compared with each finished one.
            while stretchMembers[i].finishesAt != step { i += 1 }
            let member = stretchMembers.remove(at: i)
            let r = runningRequests.remove(at: i)
            // It leaves the stretch's aggregates: its context, its block step, the blocks it took.
            let first = DecodeStretch.firstBlockStep(kvBlocks: r.kvBlocks, computedTokens: r.computedTokens, blockTokens: blockTokens)
            stretch.contextTokens -= r.computedTokens - member.joinedAt
            blockSteps[(member.joinedAt + first) % blockTokens] -= 1
            stretch.blocksTaken -= bringUp(r, member)
            finished.append(consume r)  // the running list's reference, moved (a copy took a retain and a release)
            due -= 1
        }
    }

    /// Calls `body` with each running request in order, lent rather than retained, while it returns true.
    @inline(__always) private func forEachRunning(_ body: (ServingRequest) -> Bool) {
        runningRequests.withUnsafeBufferPointer { Self.lend($0, body) }
    }

    /// Calls `body` with each of `requests` in order, lent rather than retained (their list keeps
    /// them; `body` must not change it), while it returns true.
    @inline(__always) private static func lend(_ requests: UnsafeBufferPointer<ServingRequest>, _ body: (ServingRequest) -> Bool) {
        requests.withMemoryRebound(to: Unmanaged<ServingRequest>.self) { entries in
            for e in entries where !e._withUnsafeGuaranteedRef(body) { return }
        }
    }

    /// After a step ended at `now`: the running requests after the stretch's (all of them when
    /// there is none) that are decodes which sampled in it, so that their runs of sampled steps go
    /// on at the next, join the stretch in order while each is one (a stretch begins with the
    /// first). Reads only requests just updated (in the cache).
    private func joinStretch(at now: SimTime) {
        guard coalescesDecodes, role != .prefill, stages == 1, scheduler.coalescesDecodes else { return }
        let members = stretch.requests, blockTokens = limits.blockTokens
        /// The step at which `r` takes its next block (1: its first in the stretch), if it may join.
        func blockStep(_ r: ServingRequest) -> Int? {
            let first = DecodeStretch.firstBlockStep(kvBlocks: r.kvBlocks, computedTokens: r.computedTokens, blockTokens: blockTokens)
            let joins = r.lastToken == now && r.sampledNow && !r.namesPending && r.pendingTokens == 1 && first >= 1 && first <= blockTokens
            return joins ? first : nil
        }
        let joined = stretch.steps  // (zero while no stretch is open)
        // The requests are lent, not retained: the loop changes the stretch, not the running list.
        runningRequests.withUnsafeBufferPointer { running in
            Self.lend(UnsafeBufferPointer(rebasing: running[members...])) { r in
                guard let first = blockStep(r),
                      let member = StretchMember(finishesAt: joined + r.outputTokens - r.generatedTokens, joinedAt: joined)
                else { return false }
                if !stretch.isOpen {
                    stretch.open(blockTokens: blockTokens)
                    blockSteps.truncate(to: 0)
                    blockSteps.resize(to: blockTokens, filling: 0)
                    stretchMembers.truncate(to: 0)
                }
                stretchMembers.append(member)
                blockSteps[(joined + first) % blockTokens] += 1
                stretch.contextTokens += r.computedTokens - joined
                stretch.join(finishingAt: member.finishesAt)
                return true
            }
        }
    }

    /// Whether the head of the waiting queue could ever run here: its whole
    /// context must fit in the cache, and without chunked prefill its pending
    /// tokens must fit in one batch (a prefill instance runs a longer prompt alone).
    public func canEverRun(_ request: ServingRequest) -> Bool {
        blocks(forTokens: request.contextTokens) <= gpuBlocks.capacity - watermarkBlocks
            && (limits.chunkedPrefill || role == .prefill || request.pendingTokens <= limits.maxBatchedTokens)
    }

    /// Drops the head of the waiting queue (freeing the KV a migrated request brought).
    public func dropNextWaiting(_ reason: DropReason) {
        let r = waiting.removeFirst()
        free(r)
        outstandingTokens -= r.contextTokens
        dropped.append((r, reason))
    }

    /// Moves the head of the waiting queue into the running set and the batch,
    /// for `tokens` of its pending tokens. Returns false when its blocks (plus
    /// the watermark) are not free.
    @discardableResult
    public func admitNextWaiting(tokens: Int) -> Bool {
        guard let r = waiting.first else { return false }
        var tokens = tokens, loads = 0
        // A prompt starts from every leading block the cache holds, computing at least its last token.
        let looksUp = cachesPrefixes && r.computedTokens == 0 && !r.blockHashes.isEmpty
        if looksUp {
            let hits = prefixCache.acquireLeading(r.blockHashes, limit: (r.contextTokens - 1) / limits.blockTokens,
                                                  blockTokens: limits.blockTokens, promptTokens: r.promptTokens)
            // Blocks the GPU lacks but host DRAM holds are loaded into blocks of its own.
            loads = offloaded.leading(r.blockHashes, from: hits, limit: (r.contextTokens - 1) / limits.blockTokens)
            r.cachedBlocks = hits
            r.kvBlocks = hits
            r.computedTokens = (hits + loads) * limits.blockTokens
            tokens = min(tokens, r.pendingTokens)
        }
        guard additionalBlocks(r, tokens: tokens) <= availableBlocks - watermarkBlocks else {
            if looksUp {
                prefixCache.unacquire(r.blockHashes[..<r.cachedBlocks], blockTokens: limits.blockTokens,
                                      promptTokens: r.promptTokens)
                r.cachedBlocks = 0
                r.kvBlocks = 0
                r.computedTokens = 0
            }
            return false
        }
        if loads > 0 {
            swapTraffic.fromHost += loads
            offloaded.loaded(blocks: loads, blockTokens: limits.blockTokens)
        }
        r.phase = .running
        // After a decode stretch's requests, which go on. The waiting queue's reference moves
        // over (dropping it and appending `r` took a release and a retain).
        assert(waiting.first === r, "the waiting queue changed while its head was admitted")
        runningRequests.append(waiting.removeFirst())
        admitted.append(r)
        return schedule(r, tokens: tokens)
    }

    /// Moves the first waiting request that already holds its KV (handed over or migrated here) to the
    /// head of the queue, when the head holds none; false when there is none. With nothing running
    /// and a head that cannot get its blocks, requests behind it holding the memory would otherwise
    /// wait for it forever.
    public func moveHeldKVToFront() -> Bool {
        guard let head = waiting.first, head.kvBlocks == 0, let i = waiting.firstIndex(where: { $0.kvBlocks > 0 }) else { return false }
        waiting.prepend(waiting.remove(at: i))
        return true
    }

    /// Brings the head of the swap queue back to GPU memory and into the batch,
    /// with its copy over PCIe, for as many pending tokens as the token budget
    /// allows (all of them without chunked prefill, as vLLM V0). Returns false
    /// when its blocks are not free or its tokens do not fit the budget.
    @discardableResult
    public func swapInNextSwapped() -> Bool {
        guard let r = swapped.first else { return false }
        let tokens = min(r.pendingTokens, tokenBudget)
        guard tokens > 0, limits.chunkedPrefill || tokens == r.pendingTokens,
              r.kvBlocks + additionalBlocks(r, tokens: tokens) <= availableBlocks - watermarkBlocks
        else { return false }
        swapped.removeFirst()
        releaseSwap(r, copyBack: true)
        take(r.kvBlocks)
        r.phase = .running
        running.append(r)
        return scheduleRunning(r, tokens: tokens)
    }

    /// Whether the head of the swap queue could ever come back: its blocks and one more token's
    /// must fit in the cache.
    public func canEverSwapIn(_ r: ServingRequest) -> Bool {
        r.kvBlocks + additionalBlocks(r, tokens: 1) <= gpuBlocks.capacity - watermarkBlocks
    }

    /// Drops the head of the swap queue, freeing its host or NVMe blocks (nothing is copied back).
    public func dropNextSwapped(_ reason: DropReason) {
        let r = swapped.removeFirst()
        releaseSwap(r, copyBack: false)
        r.kvBlocks = 0
        outstandingTokens -= r.contextTokens
        dropped.append((r, reason))
    }

    /// Preempts the most recently admitted running request (the lowest
    /// priority under FCFS) that is not in a micro-batch in flight, by recompute
    /// or swap as configured. A request preempted too often is dropped instead.
    /// Returns the victim.
    @discardableResult
    public func preemptNewestRunning() -> ServingRequest {
        // Normal requests go first; a high-priority one only when no normal one can.
        guard let last = running.lastIndex(where: { !$0.inFlight && !($0.highPriority && limits.honorsPriorities) })
                ?? running.lastIndex(where: { !$0.inFlight })
        else {
            preconditionFailure("preemption with every running request in flight")
        }
        let r = running.remove(at: last)
        if let i = batchRequests.lastIndex(where: { $0 === r }) {
            // It was already in this batch: take its tokens back out.
            batchRequests.remove(at: i)
            rebuildBatchShape()
        }
        r.scheduledTokens = 0
        r.preemptions += 1
        preemptionCount += 1
        if r.preemptions > limits.maxPreemptions {
            free(r)
            outstandingTokens -= r.contextTokens
            dropped.append((r, .tooManyPreemptions))
        } else if limits.preemption == .swap, r.computedTokens > 0, let tier = reserveSwap(r.kvBlocks) {
            // Every block is copied out; shared cached ones also stay cached on the GPU until evicted.
            let blocks = r.kvBlocks
            free(r)
            r.kvBlocks = blocks
            r.swapTier = tier
            if tier == .host { swapTraffic.toHost += r.kvBlocks } else { swapTraffic.toNVMe += r.kvBlocks }
            r.phase = .swapped
            swapped.append(r)
        } else {
            free(r)
            r.computedTokens = 0
            r.phase = .waiting
            waiting.prepend(r)
        }
        return r
    }

    /// Room for `blocks` swapped blocks: host DRAM first (within the swap space
    /// and the server's free DRAM), then NVMe; nil when neither has it.
    private func reserveSwap(_ blocks: Int) -> ServingRequest.SwapTier? {
        let bytes = Double(blocks) * blockBytesPerGPU * Double(gpus.count)
        let tiers = memory[0]
        if hostBlocks.canAllocate(blocks), tiers.dram.reserve(bytes, for: .swappedKV) {
            hostBlocks.allocate(blocks)
            return .host
        }
        if nvmeBlocks.canAllocate(blocks), tiers.nvme.reserve(bytes, for: .swappedKV) {
            nvmeBlocks.allocate(blocks)
            return .nvme
        }
        return nil
    }

    private func releaseSwap(_ r: ServingRequest, copyBack: Bool) {
        let bytes = Double(r.kvBlocks) * blockBytesPerGPU * Double(gpus.count)
        switch r.swapTier {
        case .host?:
            hostBlocks.release(r.kvBlocks)
            memory[0].dram.release(bytes, from: .swappedKV)
            if copyBack { swapTraffic.fromHost += r.kvBlocks }
        case .nvme?:
            nvmeBlocks.release(r.kvBlocks)
            memory[0].nvme.release(bytes, from: .swappedKV)
            if copyBack { swapTraffic.fromNVMe += r.kvBlocks }
        case nil:
            preconditionFailure("a swapped request without a swap tier")
        }
        r.swapTier = nil
    }

    /// Aborts requests that have waited past the queue timeout without ever
    /// being scheduled. The queue is in arrival order apart from preempted
    /// requests at its front (already scheduled once), so the scan stops at the
    /// first unexpired newcomer.
    private func abortExpiredWaiting(now: SimTime) {
        guard let timeout = limits.queueTimeout else { return }
        var kept: [ServingRequest] = []
        while let r = waiting.first {
            // High-priority newcomers queue ahead of older normal ones: look past them too.
            if r.firstScheduled != nil || (r.highPriority && limits.honorsPriorities && now - r.arrival <= timeout) {
                kept.append(waiting.removeFirst())
                continue
            }
            guard now - r.arrival > timeout else { break }
            dropNextWaiting(.queueTimeout)
        }
        for r in kept.reversed() { waiting.prepend(r) }
    }

    /// Takes `r` out of this instance (its client gave up), freeing what it holds. False while it
    /// is in the iteration being run (or not held here).
    func abort(_ r: ServingRequest) -> Bool {
        catchUp()
        if r.inFlight { return false }
        if let i = waiting.firstIndex(where: { $0 === r }) {
            waiting.remove(at: i)
        } else if let i = running.firstIndex(where: { $0 === r }) {
            running.remove(at: i)
        } else if let i = awaitingHandoff.firstIndex(where: { $0 === r }) {
            awaitingHandoff.remove(at: i)
        } else if let i = swapped.firstIndex(where: { $0 === r }) {
            swapped.remove(at: i)
            releaseSwap(r, copyBack: false)
            r.kvBlocks = 0
        } else {
            return false
        }
        free(r)
        outstandingTokens -= r.contextTokens
        return true
    }

    /// Gives back this instance's GPU memory (it was removed).
    func releaseMemory() {
        for (i, g) in gpus.enumerated() {
            for (use, bytes) in hbmReservations { memory[i].releaseHBM(slot: g.slot, bytes, from: use) }
        }
        if offloadDRAM > 0 { memory[0].dram.release(offloadDRAM, from: .offloadedKV) }
    }

    private func rebuildBatchShape() {
        scheduledShape = BatchShape()
        for r in batchRequests {
            if r.isDecoding { scheduledShape.addDecode(context: r.computedTokens) } else {
                scheduledShape.addPrefill(tokens: r.scheduledTokens, cached: r.computedTokens,
                                      samples: r.computedTokens + r.scheduledTokens == r.contextTokens)
            }
        }
    }

    // MARK: Runtime operations (called by the cluster)

    func enqueue(_ r: ServingRequest) {
        if cachesPrefixes, r.computedTokens == 0 {
            r.blockHashes = PrefixCache.blockHashes(r.prefix, promptTokens: r.promptTokens, blockTokens: limits.blockTokens)
        }
        r.instance = index
        r.phase = .waiting
        // A high-priority request queues after the high-priority ones already waiting, ahead of the rest.
        if r.highPriority, limits.honorsPriorities, let i = waiting.firstIndex(where: { !$0.highPriority }) {
            waiting.insert(r, at: i)
        } else {
            waiting.append(r)
        }
        outstandingTokens += r.contextTokens
    }

    /// Runs the scheduler and puts the batch it forms in flight; returns how long the batch
    /// holds each pipeline stage, or nil when there is nothing to run. Swap traffic
    /// (`swapTraffic`) comes first, as flows the cluster runs.
    @inline(__always)
    func formBatch(now: SimTime) -> StageTimes? {
        if copiesBlocks { swapTraffic = SwapTraffic() }
        if formStretchStep() {
            // The step the scheduler would form, formed without it (see BatchScheduler.coalescesDecodes).
            untoldStretchSteps += 1
            stretch.inFlight = true  // its requests are marked in flight only if read
            requestSteps += stretch.requests
            iterations += 1
            // A decode-only step: the cost model times only its attention again (see CostModel.breakdown).
            return stageTimes(costModel.decodeStep(sequences: stretch.requests, context: stretch.nextContextTokens))
        }
        return formScheduledBatch(now: now)
    }

    /// `formBatch` when the scheduler forms the step. (Apart, so that the stretch's steps, inlined
    /// into the cluster's, do not carry this code through the instruction cache.)
    @inline(never)
    private func formScheduledBatch(now: SimTime) -> StageTimes? {
        abortExpiredWaiting(now: now)
        batchRequests.removeAll()
        defer { admitted.removeAll() }
        scheduledShape = BatchShape()
        scheduler.formBatch(on: self)
        // The scheduler may have run a decode stretch's requests as the stretch's step (see scheduleRunning).
        let membersFormed = stretch.formed
        guard !batchRequests.isEmpty || membersFormed else { return nil }
        batchRequests.forEach { r in r.inFlight = true }
        // Only a request admitted in this step can be scheduled for the first time (one admitted
        // and preempted again before the step ran holds no scheduled tokens).
        admitted.forEach { r in
            if r.scheduledTokens > 0, r.firstScheduled == nil { r.firstScheduled = now }
        }
        if membersFormed {
            (stretch.inFlight, stretch.withOthers) = (true, true)
            requestSteps += stretch.requests
        }
        requestSteps += batchRequests.count
        iterations += 1
        flights.append(batchRequests)
        batchRequests = spareBatches.popLast() ?? Batch()
        return stageTimes(costModel.breakdown(scheduledShape, sizes: stepSizes))
    }

    /// Tells the scheduler of the stretch steps formed without it.
    private func tellStretchSteps() {
        guard untoldStretchSteps > 0 else { return }
        let steps = untoldStretchSteps, closings = stretch.closings
        untoldStretchSteps = 0
        schedulerStorage.formedStretchSteps(steps, on: self)
        precondition(stretch.closings == closings, "a scheduler read the running requests in formedStretchSteps(_:on:)")
    }

    /// How long a step costing `step` holds each pipeline stage (it is the last step formed).
    @inline(__always)
    private func stageTimes(_ step: CostModel.Breakdown) -> StageTimes {
        if keepsLastStep { lastStep = step }
        return StageTimes(host: step.host, gpu: step.gpu, overlapsHost: step.overlapsHost, stages: stages)
    }

    /// Applies the iteration's progress and records the tokens it sampled at `now` in `metrics`;
    /// returns whether some requests finished (then `finished` lists them). (A list returned at
    /// every step cost its release at every step.)
    func completeIteration(metrics: MetricsRecorder, at now: SimTime) -> Bool {
        // The cluster lets them go as it ends them; a caller that did not (a test driving one
        // instance) left them here.
        if listsFinished { releaseFinished() }
        if stretch.inFlight, !stretch.withOthers {
            // A stretch's step alone: every request sampled; some may have generated their last token.
            let someFinished = endStretchStep(gap: metrics.allSampled(stretch.requests, on: index, at: now), at: now)
            fullyCoalescedIterations += 1
            guard someFinished else { return false }
            listsFinished = true
            finish(outOfRunning: finished.count)
            return true
        }
        let membersRan = stretch.inFlight
        var done = flights.removeFirst()
        if !membersRan { catchUp() }  // (a stretch whose requests were not in the step)
        var tokens = 0
        // Two passes. The first is a short loop of independent updates (it also marks the requests
        // that sample), so that the cache misses on the batch's requests overlap: every other
        // instance has stepped since they were read, and at hundreds of instances a miss per
        // request was a third of the run. The second then finds them in the cache.
        done.forEach { r in
            r.inFlight = false
            r.computedTokens += r.scheduledTokens
            r.scheduledTokens = 0
            r.sampledNow = r.computedTokens == r.contextTokens
            if r.sampledNow { tokens += 1 }
        }
        var others: [ServingRequest] = []
        done.forEach { r in
            if cachesPrefixes, r.namesPending { nameFilledPromptBlocks(r) }
            guard r.sampledNow else { return }
            r.generatedTokens += 1
            if r.generatedTokens >= r.outputTokens {
                others.append(r)
            } else if role == .prefill {
                awaitingHandoff.append(r)
            }
        }
        if membersRan {
            // The stretch's requests ran as its step, the others (listed) beside them: the
            // stretch's finish first, as they come first in the batch.
            endStretchStep(gap: metrics.tokensSampled(in: done, alongWith: stretch.requests, on: index, at: now), at: now)
            outstandingTokens += tokens
        } else if tokens > 0 {
            metrics.tokensSampled(in: done, on: index, at: now)
            outstandingTokens += tokens
        }
        let stretchFinished = finished.count
        finished.append(contentsOf: others)
        finish(outOfRunning: stretchFinished)
        joinStretch(at: now)
        done.removeAll()
        spareBatches.append(done)
        listsFinished = !finished.isEmpty
        return listsFinished
    }

    /// The stretch's step ended at `now`, `gap` after the step before: each of its requests gained a
    /// token, and those for which it was the last leave the stretch for `finished`. Returns whether
    /// some did.
    @discardableResult @inline(__always)
    private func endStretchStep(gap: SimTime, at now: SimTime) -> Bool {
        stretch.stepEnded(at: now, gap: gap)
        coalescedIterations += 1
        outstandingTokens += stretch.requests
        guard stretch.steps == stretch.finishingStep else { return false }
        finishStretchRequests(into: &finished)
        return true
    }

    /// Takes the requests that `finished` lists out of the running list (the first `outOfRunning` are
    /// out: a stretch's) and the stretch, if it has none left, with those a prefill instance hands
    /// over, and gives back what they held.
    private func finish(outOfRunning: Int) {
        guard !finished.isEmpty || !awaitingHandoff.isEmpty else { return }
        if role == .prefill {
            runningRequests.removeAll { r in r.generatedTokens > 0 }
        } else if outOfRunning < finished.count {
            removeFinishedFromRunning(from: outOfRunning)
        }
        if stretch.requests == 0 { stretch.close() }
        forEachFinished { r in
            release(r)
            scheduler.requestFinished(r)
        }
    }

    /// Lets go of the requests that finished in the last step. The cluster calls it once it has
    /// ended them, while they are in the cache: let go at the instance's next step, hundreds of other
    /// instances' steps later at cluster scale, each release waited on a cache miss.
    func releaseFinished() {
        // One by one: emptying a list of requests at once goes through the runtime's generic
        // destroy, a call through a value witness per request.
        while !finished.isEmpty { finished.removeLast() }
        listsFinished = false
    }

    /// Calls `body` with each request that finished in the last step, in order, lent rather than
    /// retained (`finished` keeps them; `body` must not change it).
    @inline(__always) func forEachFinished(_ body: (ServingRequest) -> Void) {
        finished.withUnsafeBufferPointer { Self.lend($0) { r in body(r); return true } }
    }

    /// Takes the `finished` requests from the `first` on (a few, each in `running`) out of `running`,
    /// keeping the order of the rest. It compares addresses only: reading every running request's
    /// fields to find the few that finished cost a cache miss per request per step.
    private func removeFinishedFromRunning(from first: Int) {
        var kept = 0
        let leaving = finished.count - first
        finished[first...].withUnsafeBufferPointer { finished in
            runningRequests.withUnsafeMutableBufferPointer { buffer in
                for i in buffer.indices where !finished.contains(where: { $0 === buffer[i] }) {
                    buffer.swapAt(kept, i)
                    kept += 1
                }
            }
        }
        precondition(kept == runningRequests.count - leaving, "a finished request was not running")
        for _ in 0..<leaving { runningRequests.removeLast() }  // (one by one: see completeIteration)
    }

    /// Names the prompt blocks `r` has just filled in the prefix cache; a block already cached
    /// elsewhere stays its own, and the chain of names stops there.
    private func nameFilledPromptBlocks(_ r: ServingRequest) {
        let full = min(min(r.computedTokens, r.promptTokens) / limits.blockTokens, r.blockHashes.count)
        while r.cachedBlocks < full {
            guard prefixCache.register(r.blockHashes[r.cachedBlocks]) else {
                r.blockHashes.removeLast(r.blockHashes.count - r.cachedBlocks)
                break
            }
            if offloaded.store(r.blockHashes[r.cachedBlocks]) { offloadStores += 1 }
            r.cachedBlocks += 1
        }
    }

    /// Frees everything `r` holds here and stops counting it as load.
    func release(_ r: ServingRequest) {
        free(r)
        r.blockHashes = []
        outstandingTokens -= r.contextTokens
    }

    func reserve(blocks n: Int) { reservedBlocks += n }
    func unreserve(blocks n: Int) { reservedBlocks -= n }

    /// A migrated request arrives with its KV: the reserved blocks become its own, and it
    /// waits to be admitted under the same caps as any request (vLLM V1 admits requests whose
    /// KV arrived from its waiting queue).
    func acceptMigrated(_ r: ServingRequest, blocks n: Int) {
        reservedBlocks -= n
        take(n)
        r.kvBlocks = n
        r.instance = index
        r.phase = .waiting
        waiting.append(r)
        outstandingTokens += r.contextTokens
    }

    /// Takes out the queued requests that never ran (they hold nothing here), in queue order.
    func takeUnstarted() -> [ServingRequest] {
        var out: [ServingRequest] = [], kept = Deque<ServingRequest>()
        for r in waiting {
            if r.kvBlocks == 0 && r.computedTokens == 0 && r.generatedTokens == 0 && r.firstScheduled == nil {
                out.append(r)
                r.instance = -1
                outstandingTokens -= r.contextTokens
            } else {
                kept.append(r)
            }
        }
        waiting = kept
        return out
    }

    /// Gives up every request it holds to a successor on the same GPUs (a rescale's switch-over):
    /// each keeps the count of KV blocks it holds, which stay in place; swapped requests give
    /// back their copies and will recompute. Nothing may be in flight.
    func handOver() -> [(request: ServingRequest, blocks: Int)] {
        precondition(!busy && awaitingHandoff.isEmpty, "handing over with an iteration in flight")
        var out: [(request: ServingRequest, blocks: Int)] = []
        for r in Array(running) + Array(waiting) {
            let blocks = r.kvBlocks
            free(r)
            r.blockHashes = []
            outstandingTokens -= r.contextTokens
            out.append((r, blocks))
        }
        for r in swapped {
            releaseSwap(r, copyBack: false)
            r.kvBlocks = 0
            r.swapTier = nil
            r.computedTokens = 0
            outstandingTokens -= r.contextTokens
            out.append((r, 0))
        }
        running.removeAll()
        waiting.removeAll()
        swapped.removeAll()
        return out
    }

    /// Takes over a request whose KV (`blocks`) is already on these GPUs (a rescale's
    /// switch-over); it recomputes when the blocks do not fit. It queues to be admitted again.
    func adopt(_ r: ServingRequest, blocks: Int) {
        if blocks > 0, blocks <= gpuBlocks.free {
            take(blocks)
            r.kvBlocks = blocks
        } else {
            r.computedTokens = 0
        }
        if cachesPrefixes, r.computedTokens == 0 {
            r.blockHashes = PrefixCache.blockHashes(r.prefix, promptTokens: r.promptTokens, blockTokens: limits.blockTokens)
        }
        r.instance = index
        r.phase = .waiting
        waiting.append(r)
        outstandingTokens += r.contextTokens
    }

    /// Takes a request out of this instance for migration (it keeps its blocks
    /// here until the copy finishes).
    func detachForMigration(_ r: ServingRequest) {
        catchUp()
        precondition(r.instance == index && !r.inFlight, "a request in the running iteration cannot be migrated")
        if let i = running.firstIndex(where: { $0 === r }) { running.remove(at: i) }
        if let i = awaitingHandoff.firstIndex(where: { $0 === r }) { awaitingHandoff.remove(at: i) }
        r.phase = .transferring
    }

    /// Checks block accounting against the requests held. Returns a problem, or nil.
    func accountingProblem() -> String? {
        // Requests' own blocks, plus cached blocks counted once however many requests share them.
        let own: (Int, ServingRequest) -> Int = { $0 + $1.kvBlocks - $1.cachedBlocks }
        // A decode stretch's blocks are its requests' own (without reading them, which would end it).
        let held = runningRequests.reduce(0, own) + stretch.blocksTaken + awaitingHandoff.reduce(0, own)
            + waiting.reduce(0, own) + prefixCache.inUse + prefixCache.evictable
        let transferring = gpuBlocks.used - held
        if gpuBlocks.used < 0 || gpuBlocks.used > gpuBlocks.capacity {
            return "instance \(index): \(gpuBlocks.used) GPU blocks used of \(gpuBlocks.capacity)"
        }
        if transferring < 0 {
            return "instance \(index): requests hold \(held) blocks but only \(gpuBlocks.used) are allocated"
        }
        let swappedHeld = swapped.reduce(0) { $0 + $1.kvBlocks }
        if swappedHeld != hostBlocks.used + nvmeBlocks.used {
            return "instance \(index): swapped requests hold \(swappedHeld) blocks, host and NVMe pools say "
                + "\(hostBlocks.used + nvmeBlocks.used)"
        }
        return nil
    }
}
