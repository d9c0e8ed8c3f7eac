import HardwareModels
import SimCore

/// Steps of one instance in which nothing can change its batch, run without touching its requests.
///
/// When every running request is an ordinary decode that sampled at the instance's last step, and
/// nothing waits or is swapped out, the next steps are known until a new request comes or the
/// blocks run out: each step runs every request for one token, and a request finishes at the step
/// its output length fixes. Each of its requests gains one computed and one generated token per
/// step, a block every `blockTokens` steps (at a step fixed by where its context stands in its
/// last block), and the step's gap in its run of sampled steps. So such steps are run from
/// aggregates (the batch's shape, the blocks each step takes, the steps' gaps); a request is
/// brought up to date alone when it finishes, and the rest once, when the stretch ends or
/// anything reads them (`Instance.catchUp()`). The instance forms such a step itself, without the
/// scheduler's round or a list of the step's requests (it runs all of them). Every step is still
/// its own event, timed by the cost model; every output is the same byte for byte as stepping
/// request by request (the scenario tests run both ways).
///
/// At cluster scale most steps are such steps (nine in ten on stress-10m-256x7b), and a
/// step's per-request work, a cache miss on each request in turn, was most of the run.
///
/// A class: a step reads and changes it several times, and an optional struct of this size, held
/// by the instance, was copied whole at each read.
final class DecodeStretch {
    /// Its requests (those running), Σ their computed tokens when the stretch began (the context
    /// the first step's decode attention reads), and the next step at which some of them generate
    /// their last token (nil: none will); all three change as requests finish.
    var requests: Int
    var contextTokens: Int
    var finishingStep: Int?

    init(requests: Int, contextTokens: Int, finishingStep: Int) {
        self.requests = requests
        self.contextTokens = contextTokens
        self.finishingStep = finishingStep
    }
    /// Steps run and not yet applied to the requests.
    var steps = 0
    /// Whether the next step is formed (and whether it is in flight): its blocks are taken.
    var formed = false, inFlight = false
    /// Blocks the stretch's steps took so far (each held by one of the requests).
    var blocksTaken = 0
    /// The cost of its last step formed, part by part (nil once the batch shrank).
    var cost: CostModel.Breakdown?
    /// When the last step ended, and the largest gap between two of the stretch's steps' ends
    /// (the first one's counted from the step before the stretch).
    var lastToken = SimTime.zero, maxGap = SimTime.zero

    /// The number of the next step (1: the stretch's first), and whether the stretch may run it
    /// (as far as the stretch knows): it is not formed yet, and some request is left.
    var nextStep: Int { steps + 1 }
    var formsNextStep: Bool { !formed && requests > 0 }
    /// Σ computed tokens over the requests at the next step.
    var nextContextTokens: Int { contextTokens + requests * steps }

    /// The next step is formed, taking `blocks` blocks.
    func formStep(takingBlocks blocks: Int) {
        formed = true
        blocksTaken += blocks
    }

    /// The step in flight ended at `now`, `gap` after the step before.
    func stepEnded(at now: SimTime, gap: SimTime) {
        steps += 1
        (formed, inFlight) = (false, false)
        lastToken = now
        if gap > maxGap { maxGap = gap }
    }

    /// The step a request whose last block holds `kvBlocks × blockTokens − computedTokens` free
    /// slots takes its next block at (1: the stretch's first step), 1 through `blockTokens` when
    /// its blocks are exactly those its context needs.
    @inline(__always) static func firstBlockStep(kvBlocks: Int, computedTokens: Int, blockTokens: Int) -> Int {
        kvBlocks * blockTokens - computedTokens + 1
    }

    /// Blocks a request whose first new block comes at step `first` takes in the stretch's first
    /// `steps` steps: one then and one every `blockTokens` steps after.
    @inline(__always) static func blocks(inFirst steps: Int, first: Int, blockTokens: Int) -> Int {
        steps >= first ? 1 + (steps - first) / blockTokens : 0
    }
}
