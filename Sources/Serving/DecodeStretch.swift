import SimCore

/// Steps of one instance in which nothing can change some of its requests' progress, run without
/// touching those requests.
///
/// A running request that is an ordinary decode and sampled at the instance's last step runs, at
/// each later step that includes it, for one token: it gains one computed and one generated
/// token per step, a block every `blockTokens` steps (at a step fixed by where its context stands
/// in its last block), and the step's gap in its run of sampled steps, until it generates its last
/// token at the step its output length fixes. The first running requests that are such decodes
/// form a stretch (later ones join it, in order, as they become such decodes), and their steps
/// run from aggregates: their share of the batch's shape, the blocks each step takes, the steps'
/// gaps. A request is brought up to date alone when it finishes, and the rest once, when the
/// stretch ends or anything reads them (`Instance.catchUp()`).
///
/// When the stretch's requests are all that run and nothing waits or is swapped out, the instance
/// forms the step itself, without the scheduler's round or a list of the step's requests. Otherwise
/// (a request arrived, say) the scheduler forms the step, and the stretch's requests join it as the
/// stretch's step (`Instance.scheduleRunning(from:wholeOnly:)`), the others one by one beside
/// them. Every step is still its own event, timed by the cost model; every output is the same
/// byte for byte as stepping request by request (the scenario tests run both ways).
///
/// At cluster scale nearly every step runs a stretch (on stress-10m-256x7b), and a step's
/// per-request work, a cache miss on each request in turn, was most of the run.
///
/// Held inline by its instance, among the instance's fields a step reads (a class of its own was
/// two or three cache lines more at every step, each a first-level miss at hundreds of instances,
/// reached only after the instance's line that pointed to it). Not copyable: the instance changes
/// it in place, and a copy would be a second stretch.
struct DecodeStretch: ~Copyable {
    /// Its requests (the first this many running), and Σ their computed tokens at the stretch's
    /// first step, as if every one had run from there (the context the next step's decode
    /// attention reads is `nextContextTokens`); both change as requests join and finish.
    var requests = 0
    var contextTokens = 0
    /// Steps run and not yet applied to the requests.
    var steps = 0
    /// Whether the next step is formed (and whether it is in flight): its blocks are taken. A step
    /// formed with other requests (`withOthers`) lists them in a micro-batch of their own.
    var formed = false, inFlight = false, withOthers = false
    /// Whether a stretch runs (the rest is zero when none does).
    private(set) var isOpen = false
    /// The next step's number modulo the instance's block size (the requests' block steps are
    /// counted by it), kept as the steps go, where each step had divided for it.
    private(set) var nextBlockPhase = 0
    private var blockTokens = 1
    /// Blocks the stretch's steps took so far (each held by one of the requests).
    var blocksTaken = 0
    /// When the last step ended.
    var lastToken = SimTime.zero
    /// The next step at which some of them generate their last token (nil: none will): the least of
    /// `finishes`, kept apart so that a step reads it with the rest.
    private(set) var finishingStep: Int?
    /// The steps whose gap (counted from the step before; the first one's, from the step before
    /// the stretch) is larger than every later step's, in order: a request that joined after step
    /// j saw, as its largest gap, that of the first of them after j. There are `peakCount`; the
    /// last (the last step's) is kept here, the ones before it in `earlierPeaks`, and the gap of
    /// the one before the last here too. A step reads the peaks' buffer only when its gap is at
    /// least those two (rare: contexts grow slowly, and a step that admitted a prompt stands out),
    /// where it had been a cache miss at every step.
    private var peakCount = 0
    private var lastPeak = Peak(step: 0, gap: .zero)
    private var gapBeforeLast = SimTime.zero
    private var earlierPeaks = OwnedValues<Peak>()
    /// (Not private: a private type laid out in the instance's fields broke Swift 6.3's debug build.)
    struct Peak {
        var step: Int
        var gap: SimTime
    }

    // Above, what a step reads; below, what only joins, finishes and closings do.
    /// How many stretches have ended (so that a caller can tell that one ended while it waited).
    private(set) var closings = 0
    /// The step at which each of them generates its last token, least first: a step that ends some
    /// requests finds how many and the next such step without reading every request's.
    private var finishes = StepHeap()

    /// The number of the next step (1: the stretch's first), and whether the stretch may run it
    /// (as far as the stretch knows): it is not formed yet, and some request is left.
    var nextStep: Int { steps + 1 }
    var formsNextStep: Bool { !formed && requests > 0 }
    /// Σ computed tokens over the requests at the next step.
    var nextContextTokens: Int { contextTokens + requests * steps }

    /// Begins a stretch (with no request yet) on an instance whose KV blocks hold `blockTokens`.
    mutating func open(blockTokens: Int) {
        precondition(!isOpen, "a decode stretch opened twice")
        isOpen = true
        self.blockTokens = blockTokens
        nextBlockPhase = 1 % blockTokens
    }

    /// Ends the stretch: everything is as before it opened.
    mutating func close() {
        guard isOpen else { return }
        (isOpen, requests, contextTokens, finishingStep, steps) = (false, 0, 0, nil, 0)
        (formed, inFlight, withOthers, blocksTaken, lastToken) = (false, false, false, 0, .zero)
        nextBlockPhase = 0
        peakCount = 0
        earlierPeaks.truncate(to: 0)
        finishes.removeAll()
        closings += 1
    }

    /// A request joined that generates its last token at step `step`.
    mutating func join(finishingAt step: Int) {
        requests += 1
        finishes.insert(step)
        finishingStep = finishes.min
    }

    /// The requests that generated their last token at the step just ended leave: returns how many.
    mutating func leaveFinished() -> Int {
        var left = 0
        while finishes.min == steps {
            finishes.removeMin()
            left += 1
        }
        requests -= left
        finishingStep = finishes.min
        return left
    }

    /// The next step is formed, taking `blocks` blocks.
    mutating func formStep(takingBlocks blocks: Int) {
        formed = true
        blocksTaken += blocks
    }

    /// The step in flight ended at `now`, `gap` after the step before.
    @inline(__always)
    mutating func stepEnded(at now: SimTime, gap: SimTime) {
        steps += 1
        nextBlockPhase = nextBlockPhase + 1 == blockTokens ? 0 : nextBlockPhase + 1
        (formed, inFlight, withOthers) = (false, false, false)
        lastToken = now
        if peakCount > 0, lastPeak.gap > gap {
            earlierPeaks.append(lastPeak)
            gapBeforeLast = lastPeak.gap
        } else if peakCount > 1, gapBeforeLast <= gap {
            // The last peak and the one before it go, and those before them with gaps up to `gap`.
            var n = earlierPeaks.count - 1
            while n > 0, earlierPeaks[n - 1].gap <= gap { n -= 1 }
            earlierPeaks.truncate(to: n)
            if n > 0 { gapBeforeLast = earlierPeaks[n - 1].gap }
        }
        lastPeak = Peak(step: steps, gap: gap)
        peakCount = earlierPeaks.count + 1
    }

    /// The `i`th peak (of `peakCount`).
    private func peak(_ i: Int) -> Peak { i == peakCount - 1 ? lastPeak : earlierPeaks[i] }

    /// The largest gap of the steps after step `joined` (zero when there is none).
    func maxGap(after joined: Int) -> SimTime {
        // The first peak after `joined`, found by bisection (peaks are in step order).
        var low = 0, high = peakCount
        while low < high {
            let mid = (low + high) / 2
            if peak(mid).step > joined { high = mid } else { low = mid + 1 }
        }
        return low < peakCount ? peak(low).gap : .zero
    }

    /// The step a request whose last block holds `kvBlocks × blockTokens − computedTokens` free
    /// slots takes its next block at (1: its first step in the stretch), 1 through `blockTokens`
    /// when its blocks are exactly those its context needs.
    @inline(__always) static func firstBlockStep(kvBlocks: Int, computedTokens: Int, blockTokens: Int) -> Int {
        kvBlocks * blockTokens - computedTokens + 1
    }

    /// Blocks a request whose first new block comes at its step `first` takes in its first `steps`
    /// steps: one then and one every `blockTokens` steps after.
    @inline(__always) static func blocks(inFirst steps: Int, first: Int, blockTokens: Int) -> Int {
        steps >= first ? 1 + (steps - first) / blockTokens : 0
    }
}

/// One request of a decode stretch: the stretch step at which it generates its last token, and the
/// steps the stretch had run when it joined (it runs every step after).
///
/// Eight bytes, both numbers in 32 bits: a finishing request's member is found by a scan from the
/// first and leaves by a shift of those after it, and at 1,024 replicas each cache line of that list
/// is a last-level miss (16-byte members cost 7–9% more last-level read misses in all). The numbers
/// fit: a request joins only if its last step does, and a stretch's steps never pass its members'
/// last (it closes when its last member leaves).
struct StretchMember {
    private let finish: Int32, join: Int32

    /// Nil when either step lies past 2³¹ − 1 (the request then does not join).
    init?(finishesAt: Int, joinedAt: Int) {
        guard let finish = Int32(exactly: finishesAt), let join = Int32(exactly: joinedAt) else { return nil }
        (self.finish, self.join) = (finish, join)
    }

    var finishesAt: Int { Int(finish) }
    var joinedAt: Int { Int(join) }
}
