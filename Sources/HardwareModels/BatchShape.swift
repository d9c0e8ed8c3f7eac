/// What one forward pass computes, in the aggregate form the cost model needs.
///
/// Aggregates rather than per-request lists keep an iteration's cost O(1) to
/// evaluate however large the batch is.
public struct BatchShape: Sendable, Equatable {
    /// New prompt tokens computed this iteration (all prefill chunks).
    public private(set) var prefillTokens = 0
    /// Query–key pairs of causal attention over the prefill chunks:
    /// Σ c·p + c(c+1)/2 for a chunk of c tokens after p tokens already cached.
    public private(set) var prefillAttentionPairs = 0.0
    /// Cached tokens the prefill chunks attend to (read from the KV cache).
    public private(set) var prefillCachedTokens = 0
    /// Sequences generating one token each.
    public private(set) var decodeTokens = 0
    /// Σ context length over decoding sequences (KV the decode attention reads).
    public private(set) var decodeContextTokens = 0
    /// Sequences that produce a token (and so run the output projection).
    public private(set) var sampledSequences = 0
    /// Sequences with a prefill chunk in this iteration.
    public private(set) var prefillSequences = 0

    public init() {}

    @inlinable public var totalTokens: Int { prefillTokens + decodeTokens }
    /// Sequences scheduled in this iteration.
    public var sequences: Int { prefillSequences + decodeTokens }
    public var isEmpty: Bool { totalTokens == 0 }

    /// The busiest of `ranks` data-parallel ranks when the batch is spread over them evenly:
    /// every count divided and rounded up.
    public func share(of ranks: Int) -> BatchShape {
        func up(_ x: Int) -> Int { (x + ranks - 1) / ranks }
        var s = BatchShape()
        s.prefillTokens = up(prefillTokens)
        s.prefillAttentionPairs = prefillAttentionPairs / Double(ranks)
        s.prefillCachedTokens = up(prefillCachedTokens)
        s.decodeTokens = up(decodeTokens)
        s.decodeContextTokens = up(decodeContextTokens)
        s.sampledSequences = up(sampledSequences)
        s.prefillSequences = up(prefillSequences)
        return s
    }

    /// A chunk of `tokens` prompt tokens after `cached` tokens already in the cache.
    public mutating func addPrefill(tokens c: Int, cached p: Int, samples: Bool) {
        prefillTokens += c
        prefillAttentionPairs += Double(c) * Double(p) + Double(c) * Double(c + 1) / 2
        prefillCachedTokens += p
        prefillSequences += 1
        if samples { sampledSequences += 1 }
    }

    /// One decoding sequence whose context (tokens already cached) is `context`.
    public mutating func addDecode(context: Int) {
        decodeTokens += 1
        decodeContextTokens += context
        sampledSequences += 1
    }

    /// `count` decoding sequences whose contexts sum to `context`: the same as adding each.
    public mutating func addDecodes(_ count: Int, context: Int) {
        decodeTokens += count
        decodeContextTokens += context
        sampledSequences += count
    }
}
