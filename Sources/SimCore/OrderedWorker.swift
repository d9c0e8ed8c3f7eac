import Foundation

/// A thread of its own that takes items one at a time, in the order they were handed over, so
/// that work whose result the run needs only later (formatting output rows, settling a log)
/// overlaps the simulation instead of stopping it. Results cannot depend on the threads' timing:
/// one thread does the work, in submission order, on state nothing else touches meanwhile.
///
/// Whatever `process` reads and writes belongs to the worker from `submit` until
/// `waitUntilIdle` returns; the owner may then read it (the handover's lock orders the two).
public final class OrderedWorker<Item: Sendable> {
    private final class Shared: @unchecked Sendable {
        let handover = NSCondition()
        // Guarded by `handover`.
        var inbox: [Item] = []
        var busy = false
        var stopping = false
        let process: @Sendable (Item) -> Void

        init(process: @escaping @Sendable (Item) -> Void) { self.process = process }

        func run() {
            while true {
                handover.lock()
                while inbox.isEmpty && !stopping { handover.wait() }
                guard !inbox.isEmpty else { handover.unlock(); return }
                let item = inbox.removeFirst()
                busy = true
                handover.unlock()
                process(item)
                handover.lock()
                busy = false
                handover.broadcast()
                handover.unlock()
            }
        }

        /// Waits until fewer than `limit` items are waiting or being processed.
        func wait(below limit: Int) {
            handover.lock()
            while inbox.count + (busy ? 1 : 0) >= limit { handover.wait() }
            handover.unlock()
        }
    }

    private let shared: Shared
    private let name: String
    /// Items in hand (waiting or being processed) past which `submit` waits: what bounds memory.
    private let limit: Int
    private var thread: Thread?

    /// A worker that calls `process` with each item; its thread starts with the first item.
    public init(name: String, limit: Int = 2, process: @escaping @Sendable (Item) -> Void) {
        shared = Shared(process: process)
        self.name = name
        self.limit = max(limit, 1)
    }

    deinit {
        shared.handover.lock()
        shared.stopping = true
        shared.handover.broadcast()
        shared.handover.unlock()
    }

    /// Gives the calling thread `name` where the system shows threads (`top -H`, `perf`,
    /// `/proc/<pid>/task/*/comm`): its first 15 bytes, the kernel's limit, written to the thread's
    /// `comm` (Foundation keeps `Thread.name` to itself on Linux, where every worker had shown as
    /// the process, and Swift does not import `pthread_setname_np`). A diagnostic: failure is ignored.
    static func nameThisThread(_ name: String) {
        #if os(Linux)
        let fd = open("/proc/thread-self/comm", O_WRONLY)
        guard fd >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        #endif
    }

    /// Hands `item` over, first waiting while `limit` items are in hand.
    public func submit(_ item: Item) {
        if thread == nil {
            let shared = shared, name = name
            let t = Thread {
                Self.nameThisThread(name)
                shared.run()
            }
            t.name = name
            t.start()
            thread = t
        }
        shared.wait(below: limit)
        shared.handover.lock()
        shared.inbox.append(item)
        shared.handover.broadcast()
        shared.handover.unlock()
    }

    /// Waits until every item handed over has been processed.
    public func waitUntilIdle() { shared.wait(below: 1) }
}
