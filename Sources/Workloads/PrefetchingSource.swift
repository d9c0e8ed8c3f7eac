import SimCore

/// An open-loop source whose requests are drawn ahead, a few thousand at a time, on a thread of
/// their own: drawing a request's arrival and lengths (a thousand instructions of sampling, or a
/// trace line parsed) then overlaps the simulation instead of stopping it at every arrival.
///
/// The requests, and an error the source throws, come in the order and at the call they would
/// come from the source itself: one thread draws them, in order, from a source nothing else
/// touches. Only for open-loop sources (`RequestSource.isOpenLoop`): a closed-loop source draws
/// when requests end.
public final class PrefetchingSource: RequestSource {
    /// The drawing thread's state: the source, and the last block drawn (with how it ended).
    private final class Drawn: @unchecked Sendable {
        let source: RequestSource
        var block: [Request] = []
        var failure: Error?
        var ended = false

        init(source: RequestSource) { self.source = source }

        func draw(_ count: Int) {
            block = []
            block.reserveCapacity(count)
            do {
                while block.count < count, let r = try source.next() { block.append(r) }
                ended = block.count < count
            } catch {
                failure = error
            }
        }
    }

    private let drawn: Drawn
    private let drawing: OrderedWorker<Int>
    private let blockSize: Int
    /// The block being handed out, and the next request of it.
    private var block: [Request] = []
    private var position = 0
    /// How the block being handed out ended: the source's error, or its end.
    private var failure: Error?
    private var ended = false

    /// Draws from `source` `blockSize` requests at a time (the first block at once).
    public init(_ source: RequestSource, blockSize: Int = 4096) {
        precondition(source.isOpenLoop && blockSize > 0)
        let drawn = Drawn(source: source)
        self.drawn = drawn
        self.blockSize = blockSize
        drawing = OrderedWorker(name: "simrun arrivals") { drawn.draw($0) }
        drawing.submit(blockSize)
    }

    public func next() throws -> Request? {
        while position == block.count {
            if let failure { throw failure }
            if ended { return nil }
            // The block drawn meanwhile is handed out, and the next one drawn while it is.
            drawing.waitUntilIdle()
            (block, position, failure, ended) = (drawn.block, 0, drawn.failure, drawn.ended)
            drawn.block = []
            if failure == nil && !ended { drawing.submit(blockSize) }
        }
        defer { position += 1 }
        return block[position]
    }
}
