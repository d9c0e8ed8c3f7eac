import SimCore
import Workloads

/// A request's live state inside the serving system. It is a reference type so
/// that it can move between queues and instances (preemption, hand-off from a
/// prefill to a decode instance, migration) carrying its KV blocks with it.
///
/// Prefill, decode and recomputation after preemption are one mechanism: each
/// iteration computes KV for some of the `pendingTokens` (tokens known but not
/// yet in the cache); when none remain, the model samples the next token.
public final class ServingRequest {
    // Stored properties are laid out in this order. Those every step reads and writes come first,
    // in the 80 bytes after the object's 16-byte header: at most two cache lines wherever malloc
    // puts it (a third line cost a miss per request per step at a thousand instances). The end of
    // a step reads the first and the last of them in a quick first pass (see
    // Instance.completeIteration), so that both lines are fetched at once.
    public enum Phase: Sendable, Equatable {
        case waiting, running, swapped, transferring, finished, dropped
    }

    public internal(set) var phase: Phase = .waiting
    /// Whether it is in a micro-batch being run (a request is in at most one at a time).
    public internal(set) var inFlight = false
    /// Whether some prompt blocks it has hashed are not yet named in the prefix cache
    /// (`cachedBlocks < hashedBlocks`), so that a step learns it without reading either.
    private(set) var namesPending = false
    /// Whether it sampled a token in the iteration that just ended (set as the iteration ends).
    var sampledNow = false
    /// Its open run of sampled steps (see SampledSteps): the instance (-1: none), and the numbers
    /// of the run's first and last steps there, wrapped to 32 bits.
    var runInstance: Int32 = -1
    var runFrom: UInt32 = 0, runTo: UInt32 = 0
    /// Tokens whose KV is in the cache.
    public internal(set) var computedTokens = 0
    /// Tokens this request computes in the iteration being run.
    public internal(set) var scheduledTokens = 0
    var lastToken: SimTime = .zero
    var maxInterTokenGap: SimTime = .zero
    /// KV blocks held on the instance's GPUs (or in host memory while swapped).
    public internal(set) var kvBlocks = 0
    /// The true output length. Internal to the runtime: schedulers and routers
    /// live in another module and cannot read it, as a real server cannot.
    let outputTokens: Int
    public internal(set) var generatedTokens = 0
    public let promptTokens: Int
    // The fields below are read rarely, packed so that the object takes 192 bytes (four requests in
    // 13 cache lines, where 280 took 18): at a thousand instances the running requests no longer fit
    // the last-level cache, and a request finishing reads every line of it.
    public let id: Int
    /// `instance`, in 32 bits (an instance's index is far below 2³¹).
    private var instanceIndex: Int32
    /// `gapsLogged`, `preemptions` and `migrations`, in 32 bits: gaps are at most its tokens (which
    /// must fit one instance's KV cache for it to run), and each preemption or move is an event of
    /// its own, so none comes near 2³¹.
    private var gapsLoggedCount: Int32 = 0
    private var preemptionCount: Int32 = 0, migrationCount: Int32 = 0
    /// Its client gave up while it could not be aborted at once (in a running iteration, or moving).
    var abandoned = false
    /// Queued ahead of normal requests and preempted last (Llumnix's two priority classes).
    public let highPriority: Bool
    /// Leading blocks of its KV that are named in the instance's prefix cache (shared with
    /// other requests); the rest of `kvBlocks` are its own.
    var cachedBlocks = 0 { didSet { namesPending = cachedBlocks < hashedBlocks } }
    /// `blockHashes.count`.
    private var hashedBlocks = 0 { didSet { namesPending = cachedBlocks < hashedBlocks } }
    /// `firstToken` and `firstScheduled`, `unset` for nil (an optional took 16 bytes).
    private var firstTokenAt = unset, firstScheduledAt = unset
    private static var unset: SimTime { SimTime(nanoseconds: .min) }
    /// What only a request that moves or is swapped out has, made when first set.
    private var moves: Moves?
    /// What its prompt is made of (see PrefixSegment), and the hashes of its full prompt blocks
    /// on the instance that caches prefixes (empty elsewhere).
    var blockHashes: [UInt64] = [] { didSet { hashedBlocks = blockHashes.count } }
    let prefix: [PrefixSegment]
    public let arrival: SimTime

    /// Its gaps logged one by one, outside runs (see MetricsRecorder).
    var gapsLogged: Int {
        get { Int(gapsLoggedCount) }
        set { gapsLoggedCount = Int32(newValue) }
    }
    public internal(set) var preemptions: Int {
        get { Int(preemptionCount) }
        set { preemptionCount = Int32(newValue) }
    }
    /// Times it moved to another instance (hand-off or migration).
    public internal(set) var migrations: Int {
        get { Int(migrationCount) }
        set { migrationCount = Int32(newValue) }
    }
    var firstToken: SimTime? {
        get { firstTokenAt == Self.unset ? nil : firstTokenAt }
        set { firstTokenAt = newValue ?? Self.unset }
    }
    var firstScheduled: SimTime? {
        get { firstScheduledAt == Self.unset ? nil : firstScheduledAt }
        set { firstScheduledAt = newValue ?? Self.unset }
    }

    /// A move's and a swap's state: most requests never need it.
    private final class Moves {
        var migrationTarget: Int?
        var liveMigration: Int?
        var swapTier: SwapTier?
        var kvWait = SimTime.zero, kvTransfer = SimTime.zero, transferStart = SimTime.zero
    }
    /// Sets `field` of `moves` to `value`, making `moves` first unless `value` is what a request
    /// without it reads (`none`).
    private func setMove<Value: Equatable>(_ field: ReferenceWritableKeyPath<Moves, Value>, to value: Value, none: Value) {
        let target: Moves
        if let moves {
            target = moves
        } else {
            guard value != none else { return }
            target = Moves()
            moves = target
        }
        target[keyPath: field] = value
    }
    /// Where the request moves when the iteration it is in ends.
    public internal(set) var migrationTarget: Int? {
        get { moves?.migrationTarget }
        set { setMove(\.migrationTarget, to: newValue, none: nil) }
    }
    /// The live migration moving it, while one is under way.
    var liveMigration: Int? {
        get { moves?.liveMigration }
        set { setMove(\.liveMigration, to: newValue, none: nil) }
    }
    /// Where its KV cache waits while swapped out.
    enum SwapTier { case host, nvme }
    var swapTier: SwapTier? {
        get { moves?.swapTier }
        set { setMove(\.swapTier, to: newValue, none: nil) }
    }
    /// Whether a move to another instance is under way or due.
    public var isMigrating: Bool { migrationTarget != nil || liveMigration != nil }
    /// Time its finished prefill waited on a prefill instance for a decode instance to take its
    /// KV, and time its KV spent moving (every move), so far; when the move under way began.
    var kvWait: SimTime {
        get { moves?.kvWait ?? .zero }
        set { setMove(\.kvWait, to: newValue, none: .zero) }
    }
    var kvTransfer: SimTime {
        get { moves?.kvTransfer ?? .zero }
        set { setMove(\.kvTransfer, to: newValue, none: .zero) }
    }
    var transferStart: SimTime {
        get { moves?.transferStart ?? .zero }
        set { setMove(\.transferStart, to: newValue, none: .zero) }
    }

    init(_ request: Request, instance: Int) {
        id = request.id
        arrival = request.arrival
        promptTokens = request.promptTokens
        outputTokens = request.outputTokens
        prefix = request.prefix
        highPriority = request.highPriority
        instanceIndex = Int32(instance)
    }

    /// The index of the instance it is on (-1 while it is on none).
    public internal(set) var instance: Int {
        get { Int(instanceIndex) }
        set { instanceIndex = Int32(newValue) }
    }

    /// Prompt plus generated tokens: everything the model has seen or produced.
    @inlinable public var contextTokens: Int { promptTokens + generatedTokens }
    /// Tokens the model must still compute before it can sample the next token.
    @inlinable public var pendingTokens: Int { contextTokens - computedTokens }
    /// True when one token is pending on top of a warm cache: an ordinary decode step.
    @inlinable public var isDecoding: Bool { computedTokens > 0 && pendingTokens == 1 }
}
