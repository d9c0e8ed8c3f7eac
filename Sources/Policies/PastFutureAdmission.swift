import SimCore
import Serving

/// Past-Future admission (LightLLM, ASPLOS'25): admit a request only if the
/// predicted peak KV use of the running batch plus the newcomer stays under
/// (1 − reserve) of capacity.
///
/// The past: a window of output lengths of recently finished requests, seeded
/// half full with a prior. The future: for each running request, a remaining
/// length drawn from that history conditioned on what it has already
/// generated; the peak of the batch follows from `PeakMemory`. Several sampled
/// futures are drawn (more for small batches) and the worst decides. True
/// output lengths are never seen: only finished requests' lengths enter the
/// history.
public struct PastFutureAdmission: AdmissionControl {
    public struct Parameters: Sendable, Equatable {
        /// Finished output lengths remembered (the artifact's server: 200).
        public var window = 200
        /// Value the window starts half filled with (server: max total − max input).
        public var prior: Int
        /// The system's maximum output length: the top of every conditional support.
        public var maxOutputTokens: Int
        /// At most this many sampled futures (MAXIMUM_LISTS = 5).
        public var maxSamples = 5
        /// Share of capacity kept free (server: 0.05).
        public var reserve = 0.05

        public init(prior: Int, maxOutputTokens: Int) {
            self.prior = prior
            self.maxOutputTokens = maxOutputTokens
        }
    }

    public let parameters: Parameters
    private let random: RandomStream
    /// Recent output lengths, oldest first; `sorted` is the same, ordered.
    private var history: [Int]
    private var sorted: [Int]
    /// One sampled future a list: (occupancy, remaining) per request.
    private var futures: [[(occupancy: Int, remaining: Int)]] = []

    public init(_ parameters: Parameters, random: RandomStream) {
        self.parameters = parameters
        self.random = random
        history = Array(repeating: parameters.prior, count: max(1, parameters.window / 2))
        sorted = history
    }

    public mutating func finished(outputTokens: Int) {
        history.append(outputTokens)
        if history.count > parameters.window { history.removeFirst() }
        sorted = history.sorted()
    }

    /// A remaining length for a request that has generated `done` tokens: a
    /// point drawn uniformly along the piecewise-linear support [done, history
    /// values above done…, max output], minus `done`. The support is indexed
    /// in place (no copy of the history per draw: this runs for every running
    /// request at every scheduling round).
    func sampleRemaining(done: Int) -> Int {
        // The first history value above `done`, by binary search.
        var lo = 0, hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid] > done { hi = mid } else { lo = mid + 1 }
        }
        let above = sorted.count - lo
        let top = above > 0 ? sorted[sorted.count - 1] : done
        let withMax = parameters.maxOutputTokens > top
        let count = 1 + above + (withMax ? 1 : 0)
        guard count > 1 else { return 0 }
        func support(_ k: Int) -> Int {
            if k == 0 { return done }
            if k <= above { return sorted[lo + k - 1] }
            return parameters.maxOutputTokens
        }
        let p = random.uniform() * Double(count - 1)
        let i = min(Int(p), count - 2)
        let length = Double(support(i)) + (p - Double(i)) * Double(support(i + 1) - support(i))
        return max(0, Int(length.rounded()) - done)
    }

    public mutating func beginRound(on instance: Instance) {
        let running = instance.running
        let lists = min(parameters.maxSamples, 200 / max(1, running.count) + 1)
        futures = (0..<lists).map { _ in
            running.map { ($0.contextTokens, sampleRemaining(done: $0.generatedTokens)) }
        }
    }

    public mutating func admits(_ candidate: ServingRequest, on instance: Instance) -> Bool {
        let limit = (1 - parameters.reserve) * Double(instance.gpuBlocks.capacity * instance.limits.blockTokens)
        var worst = 0
        for i in futures.indices {
            futures[i].append((candidate.contextTokens, sampleRemaining(done: 0)))
            worst = max(worst, PeakMemory.predict(occupancy: futures[i].map(\.occupancy),
                                                  remaining: futures[i].map(\.remaining)))
        }
        // The trial entries stay only if the candidate is admitted.
        if Double(worst) < limit { return true }
        for i in futures.indices { futures[i].removeLast() }
        return false
    }
}
