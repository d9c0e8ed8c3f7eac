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
        var block = RequestBlock(capacity: 0)
        var failure: Error?
        var ended = false

        init(source: RequestSource) { self.source = source }

        func draw(_ count: Int) {
            block = RequestBlock(capacity: count)
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
    /// The block being handed out.
    private var block = RequestBlock(capacity: 0)
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
        while block.isTaken {
            if let failure { throw failure }
            if ended { return nil }
            // The block drawn meanwhile is handed out, and the next one drawn while it is.
            drawing.waitUntilIdle()
            (block, failure, ended) = (drawn.block, drawn.failure, drawn.ended)
            drawn.block = RequestBlock(capacity: 0)
            if failure == nil && !ended { drawing.submit(blockSize) }
        }
        return block.take()
    }
}

/// Requests drawn by a `PrefetchingSource`, each moved out of its slot as it is handed out, so that the block ends
/// without a pass over what it held: an array's end released every request's prefix list, a read of each request
/// long after it was handed out (at 1,024 replicas a cache miss each, waited on by an atomic operation).
final class RequestBlock: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<Request>
    private let capacity: Int
    /// Requests added, and of those, taken (the first `taken`).
    private(set) var count = 0
    private var taken = 0

    init(capacity: Int) {
        slots = .allocate(capacity: capacity)
        self.capacity = capacity
    }

    deinit {
        (slots + taken).deinitialize(count: count - taken)
        slots.deallocate()
    }

    func append(_ r: Request) {
        precondition(count < capacity, "a request block is full")
        (slots + count).initialize(to: r)
        count += 1
    }

    var isTaken: Bool { taken == count }

    /// The next request not yet taken.
    func take() -> Request {
        precondition(taken < count, "every request of the block was taken")
        defer { taken += 1 }
        return (slots + taken).move()
    }
}
