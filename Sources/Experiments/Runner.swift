import Foundation
import Serving
import SimCore
import Workloads

/// Runs a plan once and measures the run itself (wall time, events/s, memory).
public struct Runner {
    public struct Outcome {
        public let cluster: Cluster
        public let summary: RunSummary
        public let wallSeconds: Double
        /// Processor seconds the run took (user and system, every thread).
        public let cpuSeconds: Double
        public var eventsPerSecond: Double { Double(summary.events) / max(wallSeconds, 1e-9) }
        /// Requests × iterations they took part in, per wall second.
        public var requestStepsPerSecond: Double {
            Double(cluster.instances.reduce(0) { $0 + $1.requestSteps }) / max(wallSeconds, 1e-9)
        }
        public var requestsPerSecond: Double { Double(summary.requests_arrived) / max(wallSeconds, 1e-9) }
        /// Iterations (forward passes) over every instance; the share in which a decode stretch ran, and
        /// the share that ran nothing else.
        public var iterations: Int { cluster.instances.reduce(0) { $0 + $1.iterations } }
        public var coalescedShare: Double {
            Double(cluster.instances.reduce(0) { $0 + $1.coalescedIterations }) / Double(max(iterations, 1))
        }
        public var fullyCoalescedShare: Double {
            Double(cluster.instances.reduce(0) { $0 + $1.fullyCoalescedIterations }) / Double(max(iterations, 1))
        }
    }

    /// Loads, validates and runs a scenario. Input problems throw InputError.
    public static func run(scenarioPath: String, seed: UInt64? = nil, overrides: [String] = [],
                    showProgress: Bool = false) throws -> (SimulationPlan, Outcome) {
        let plan = try SimulationPlan(scenarioPath: scenarioPath, seed: seed, overrides: overrides)
        return (plan, try run(plan, showProgress: showProgress))
    }

    /// - Parameters:
    ///   - iterationsEvery: record every k-th forward pass of each instance (nil: none).
    ///   - requests: where each request's row goes as it ends (closed when the run ends).
    ///   - keepRecords: keep every request's record in `cluster.metrics.records` (a long run that
    ///     streams them out needs not; checking invariants needs them).
    ///   - coalesceDecodes: run the steps nothing can change from aggregates (see
    ///     `Cluster.coalescesDecodes`; the outputs are the same either way).
    public static func run(_ plan: SimulationPlan, showProgress: Bool = false, iterationsEvery: Int? = nil,
                           requests: RequestsCSV? = nil, keepRecords: Bool = true, coalesceDecodes: Bool = true) throws -> Outcome {
        let start = DispatchTime.now().uptimeNanoseconds, cpuStart = cpuSeconds
        let cluster = try plan.makeCluster()
        cluster.coalescesDecodes = coalesceDecodes
        cluster.metrics.keepsRecords = keepRecords || plan.checkInvariants
        let records = RecordStream(tally: RequestTally(slos: plan.slos, stages: plan.stages), requests: requests)
        cluster.metrics.onRecords = { records.add($0) }
        if let every = iterationsEvery { cluster.iterationLog = IterationLog(every: every) }
        var lastPrint = start
        let reason: StopReason
        do {
            reason = try cluster.run(plan.stop, progress: showProgress ? { c in
            let now = DispatchTime.now().uptimeNanoseconds
            guard now - lastPrint > 500_000_000 else { return }
            lastPrint = now
            var msg = "\r  simulated \(Int(c.loop.now.seconds)) s, \(c.ended) of \(c.arrived) requests ended, "
                + "\(c.loop.eventsProcessed) events"
            if let total = plan.expectedRequests, c.ended > 0 {
                let done = Double(c.ended) / Double(total), elapsed = Double(now - start) / 1e9
                msg += String(format: ", %.0f%%, about %.0f s left", 100 * done, elapsed * (1 - done) / done)
            }
            msg += "   "
            FileHandle.standardError.write(Data(msg.utf8))
            } : nil)
        } catch let e as ArrivalBeyondClock {
            throw InputError(file: plan.file, location: plan.arrivalField,
                             "request \(e.request + 1) would arrive more than 292 years (the limit of the simulated "
                             + "clock) after the start; a workload this sparse cannot be simulated")
        }
        if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        cluster.metrics.handOverRecords()
        var tally = records.finish()
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        try requests?.close()
        let summary = RunSummary(plan: plan, cluster: cluster, tally: &tally, stop: reason)
        return Outcome(cluster: cluster, summary: summary, wallSeconds: wall, cpuSeconds: cpuSeconds - cpuStart)
    }

    /// Processor seconds this process has used so far (user and system).
    static var cpuSeconds: Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(usage.ru_utime) + s(usage.ru_stime)
    }

    /// Peak resident memory of this process, bytes.
    public static var peakMemoryBytes: Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }
}
