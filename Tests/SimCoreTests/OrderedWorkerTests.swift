import Foundation
import Testing
@testable import SimCore

/// The worker thread takes items in the order they were handed over, and its owner sees all of
/// them once it is idle.
@Suite("Ordered worker")
struct OrderedWorkerTests {
    /// What the worker writes, behind a lock: the second test reads it while the thread may run.
    final class Seen: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [Int] = []
        func append(_ x: Int) { lock.lock(); list.append(x); lock.unlock() }
        var items: [Int] { lock.lock(); defer { lock.unlock() }; return list }
    }

    @Test func itemsAreTakenInOrderAndAllAreSeenOnceIdle() {
        let seen = Seen()
        let worker = OrderedWorker<[Int]>(name: "test worker", limit: 2) { batch in
            // Slow enough that the owner must wait for room at times.
            for x in batch { seen.append(x); if x % 1_000 == 0 { usleep(200) } }
        }
        for start in stride(from: 0, to: 50_000, by: 500) { worker.submit(Array(start..<(start + 500))) }
        worker.waitUntilIdle()
        #expect(seen.items == Array(0..<50_000))
        worker.submit([50_000])
        worker.waitUntilIdle()
        #expect(seen.items.last == 50_000 && seen.items.count == 50_001)
    }

    @Test func aWorkerLetGoOfWhileBusyFinishesAndStops() {
        let seen = Seen()
        var worker: OrderedWorker<Int>? = OrderedWorker(name: "test worker") { x in usleep(1_000); seen.append(x) }
        worker?.submit(1)
        worker?.submit(2)
        worker = nil
        // Nothing waits on the thread now; it takes what it was given and ends.
        var waited = 0
        while seen.items.count < 2 && waited < 2_000 { usleep(1_000); waited += 1 }
        #expect(seen.items == [1, 2])
    }

    #if os(Linux)
    /// The worker's thread carries its name where the system shows threads, cut to the kernel's 15
    /// bytes: what `scripts/thread-cpu.sh`, `top -H` and `perf` print for it.
    @Test func theThreadIsNamedForTheSystem() throws {
        final class Name: @unchecked Sendable { var text = "" }
        let name = Name()
        let worker = OrderedWorker<Int>(name: "simrun requests.csv") { _ in
            name.text = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
        }
        worker.submit(0)
        worker.waitUntilIdle()
        #expect(name.text == "simrun requests\n")
    }
    #endif
}
