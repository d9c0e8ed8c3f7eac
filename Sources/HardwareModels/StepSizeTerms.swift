/// The terms of a cost model's steps that prefill which depend on their size alone (see
/// `CostModel.SizeTerms`), by the rank's tokens, worked out the first time a size comes up and read
/// after: a prefill step's size is one of at most `max_num_batched_tokens` (8,192 by default), and a
/// large run forms millions of them. Sizes past `keptSizes` (a prompt a prefill instance runs alone,
/// or a very large token budget) are worked out each time, so that the table stays within 3.7 MB.
///
/// One simulation's instances of the same cost model share one; it is not for other threads (the
/// cost model itself is, and keeps nothing that changes). The terms are those `breakdown` would
/// compute, by the same code, so the times are the same to the bit.
public final class StepSizeTerms {
    /// By tokens: the terms, or a padded size of 0 where they are not worked out yet (a step that
    /// prefills holds at least one token).
    private var known: [CostModel.SizeTerms] = []
    /// The cost model whose terms these are.
    private let model: CostModel

    public init(for model: CostModel) { self.model = model }

    /// The largest size kept, in tokens.
    static let keptSizes = 1 << 16

    /// The terms of a step of `tokens` tokens that prefills, under `model` (this one's).
    @inline(__always) func terms(tokens: Int, of model: CostModel) -> CostModel.SizeTerms {
        if tokens < known.count, known[tokens].padded > 0 { return known[tokens] }
        return workOut(tokens: tokens, of: model)
    }

    private func workOut(tokens: Int, of model: CostModel) -> CostModel.SizeTerms {
        precondition(model === self.model, "step size terms of another cost model")
        let terms = model.sizeTerms(tokens: tokens, decodeOnly: false)
        guard tokens <= Self.keptSizes else { return terms }
        if tokens >= known.count { known.append(contentsOf: repeatElement(CostModel.SizeTerms(), count: tokens + 1 - known.count)) }
        known[tokens] = terms
        return terms
    }
}
