import HardwareModels

/// Llumnix reserves headroom where high-priority requests run, sized by profiling so that their
/// decode steps stay near the speed of an unloaded instance. This profiles the step model the same
/// way: the headroom is the KV capacity less the most KV a decode batch may hold while its step
/// takes at most (1 + slowdown) times the step of one request alone.
public enum PriorityHeadroom {
    /// Blocks of headroom for an instance of `capacity` blocks of `blockTokens` tokens, profiled on
    /// decode batches of requests with `context` tokens each.
    public static func profiled(_ cost: CostModel, capacity: Int, blockTokens: Int, slowdown: Double, context: Int = 512) -> Int {
        func step(_ n: Int) -> Double {
            var b = BatchShape()
            for _ in 0..<n { b.addDecode(context: context) }
            return cost.iterationTime(b)
        }
        let perRequest = (context + blockTokens - 1) / blockTokens
        let limit = (1 + slowdown) * step(1)
        // Step time grows with the batch: the largest batch within the limit, by bisection.
        var lo = 1, hi = max(1, capacity / perRequest)
        guard step(hi) > limit else { return max(0, capacity - hi * perRequest) }
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if step(mid) <= limit { lo = mid } else { hi = mid }
        }
        return max(0, capacity - lo * perRequest)
    }
}
