/// One instance's steps that sampled tokens, numbered from 0 in the order they ended, and the
/// inter-token gaps of the requests that sampled at every one of a span of them.
///
/// A request that sampled at steps a, a+1, …, b of one instance (a *run*) saw the gaps
/// t[a+1] − t[a], …, t[b] − t[b−1]: the steps' own gaps, whoever sampled. So a run is not logged
/// token by token: when its request finishes, it adds one to the count of finished runs covering
/// steps a+1…b (two entries of a difference array), and each step's gap then joins the run's
/// multiset once, with that count. At cluster scale, logging each token's request had cost a
/// sixth of the run. Tokens outside runs (a request's first after a preemption, a skipped step or
/// a move, and every token of a micro-batch under pipeline parallelism) are logged one by one
/// (see MetricsRecorder).
///
/// A run is *open* from its first step until its request ends or the run breaks. A step's count
/// is final once no open run began before it, so steps are passed on up to the oldest open run's
/// first step, and only the steps from there on are held.
///
/// The steps are held in memory of their own: a step touches the instance's `SampledSteps` (one
/// cache line in `SampledStepsTable`) and writes the step's slot, where arrays (a buffer header
/// each) cost a cache miss apiece at hundreds of instances. A plain value: its table frees the
/// steps (`deallocate`). The settling thread keeps them (GapSettler), replaying what the
/// simulation's steps did (StepEvent); the simulation's thread keeps a `StepClock` per instance.
struct SampledSteps {
    /// Sixteen bytes: four to a cache line. (Either count is at most the requests an instance
    /// runs at once.)
    private struct Step {
        /// When it ended (ns).
        var time: Int64
        /// Finished runs covering it minus those covering the step before (a difference array).
        var coverChange: Int32 = 0
        /// Open runs that began at it.
        var opened: Int32 = 0
    }

    /// The steps held: numbers `base..<next`, and a slot past the last for its `coverChange`, in a
    /// ring: step n is in slot n mod the capacity (a power of two), so that letting go of old
    /// steps moves nothing. (Moving the held steps down, instead, was an eighth of the cache
    /// misses at 1,024 instances.)
    private var slots: UnsafeMutablePointer<Step>
    private var mask = 63
    private var base = 0
    /// The number the next step will have.
    private(set) var next = 0
    /// The first step whose gap has not been passed on, and the finished runs covering the one before.
    private var settled = 1
    private var covering = 0
    /// No open run began before this step.
    private var oldestOpen = 0
    /// Unused: eight words in all, so that each instance's fill one cache line of `SampledStepsTable`.
    private let padding = 0

    init() {
        slots = .allocate(capacity: mask + 1)
        slots.initialize(to: Step(time: 0))
    }

    /// Frees the steps held (Step is trivial: nothing to deinitialize).
    func deallocate() { slots.deallocate() }

    /// Step `n`'s slot: held, or the one past the last (checked in debug builds, where the tests run).
    @inline(__always) private func slot(_ n: Int) -> UnsafeMutablePointer<Step> {
        assert(n >= base && n <= next, "step \(n) is not held (\(base)..<\(next))")
        return slots + (n & mask)
    }

    /// A step ended at `time` (not before the last one). (Its number and gap the simulation's thread
    /// has from its `StepClock`.)
    @inline(__always)
    mutating func step(at time: Int64) {
        if next + 1 - base > mask { makeRoom() }
        let n = next
        next = n + 1
        slot(n).pointee.time = time  // its coverChange was set as the slot past the last
        slot(n + 1).initialize(to: Step(time: 0))
    }

    /// Lets go of the steps no longer needed, and doubles the room if that frees too little.
    private mutating func makeRoom() {
        // Steps before the one that began the oldest open run, and before the last passed on, are let go.
        base = max(base, min(oldestOpen, settled - 1))
        let held = next + 1 - base, capacity = mask + 1
        if held * 2 <= capacity { return }
        let grown = UnsafeMutablePointer<Step>.allocate(capacity: 2 * capacity), grownMask = 2 * capacity - 1
        for n in base...next { (grown + (n & grownMask)).initialize(to: slots[n & mask]) }
        slots.deallocate()
        slots = grown
        mask = grownMask
    }

    /// `runs` runs begin at step `n` (the last one).
    func open(at n: Int, runs: Int) { slot(n).pointee.opened += Int32(runs) }

    /// Step `j`'s gap: the time since the step before (both held).
    @inline(__always) private func gap(_ j: Int) -> Int64 { slot(j).pointee.time - slot(j - 1).pointee.time }

    /// The gaps of steps `first...last` (held), in order.
    func gaps(_ steps: ClosedRange<Int>, _ body: (Int64) -> Void) {
        for j in steps { body(gap(j)) }
    }

    /// The run that began at step `first` and sampled last at `last` ends. If its request finished,
    /// its gaps count: those of steps already passed on go to `pass` at once (the run outlived a
    /// final settlement), the rest when their steps are settled.
    mutating func close(from first: Int, through last: Int, finished: Bool, _ pass: (Int64, Int) -> Void) {
        slot(first).pointee.opened -= 1
        guard finished, last > first else { return }
        let late = min(last, settled - 1)
        if first + 1 <= late { gaps((first + 1)...late) { pass($0, 1) } }
        let from = max(first + 1, settled)
        if from <= last {
            slot(from).pointee.coverChange += 1
            slot(last + 1).pointee.coverChange -= 1
        }
    }

    /// Passes each final step's gap and count of finished runs covering it to `pass`, once. With
    /// `all`, every step is taken as final (the run is over: an open run's request never finished).
    mutating func settle(all: Bool = false, _ pass: (Int64, Int) -> Void) {
        while oldestOpen < next, slot(oldestOpen).pointee.opened == 0 { oldestOpen += 1 }
        let last = all ? next - 1 : min(oldestOpen, next - 1)
        guard settled <= last else { return }
        for j in settled...last {
            covering += Int(slot(j).pointee.coverChange)
            if covering > 0 { pass(gap(j), covering) }
        }
        settled = last + 1
    }
}

/// What the simulation's thread keeps of an instance's steps that sampled: the next step's number
/// and when the last one ended, from which each step's number and gap follow (the settling thread
/// keeps the steps themselves, in `SampledSteps`).
struct StepClock: BitwiseCopyable {
    private(set) var next = 0
    private var lastTime: Int64 = 0

    /// A step ended at `time` (not before the last one); returns its number and its gap (none for the first).
    @inline(__always)
    mutating func step(at time: Int64) -> (number: Int, gap: Int64) {
        let n = next
        let gap = n > 0 ? time - lastTime : 0
        (next, lastTime) = (n + 1, time)
        return (n, gap)
    }

    /// The step numbered `n` wrapped to 32 bits (as requests hold it), widened back: exact while
    /// it lies fewer than 2³² steps back, as every step of an open run does.
    func number(_ n: UInt32) -> Int { next - Int(UInt32(truncatingIfNeeded: next) &- n) }
}

/// Every instance's `SampledSteps`, by instance index, a cache line each, in one block aligned to
/// the line. (An object per instance, reached through an array of references, was two or three
/// first-level cache misses at every step at hundreds of instances.)
struct SampledStepsTable: ~Copyable {
    private var all = OwnedValues<SampledSteps>()
    var count: Int { all.count }

    init() { assert(MemoryLayout<SampledSteps>.stride == 64, "an instance's steps fill one cache line") }
    deinit { for steps in all.buffer { steps.deallocate() } }

    /// Instance `i`'s steps (none yet for an instance new to it), valid until an instance past the
    /// last is asked for.
    @inline(__always) mutating func steps(of i: Int) -> UnsafeMutablePointer<SampledSteps> {
        precondition(i >= 0, "instance \(i)")
        while i >= all.count { all.append(SampledSteps()) }
        return all.buffer.baseAddress.unsafelyUnwrapped + i
    }
}

