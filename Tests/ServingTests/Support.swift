import HardwareModels
import Policies
import SimCore
import Workloads
@testable import Serving

/// A request source over a fixed list.
final class ListSource: RequestSource {
    private var requests: [Request]
    init(_ requests: [Request]) { self.requests = requests.reversed() }
    func next() -> Request? { requests.popLast() }
}

func spec(_ model: String = "Llama-2-7B", gpu: String = "A100-80GB", tp: Int = 1, role: InstanceRole = .colocated,
          _ adjust: (inout SchedulerLimits) -> Void = { _ in }) -> InstanceSpec {
    var limits = SchedulerLimits()
    adjust(&limits)
    return InstanceSpec(model: ModelCatalog.named(model)!, accelerator: AcceleratorCatalog.named(gpu)!,
                        layout: ParallelLayout(tp: tp), role: role, limits: limits)
}

func cluster(_ specs: [InstanceSpec], _ source: RequestSource, router: any Router = RoundRobinRouter(),
             sample: SimTime? = nil) throws -> Cluster {
    let c = try Cluster(instances: specs, router: router, source: source, sampleInterval: sample,
                        makeScheduler: { _, _ in FCFSScheduler() })
    c.checkInvariants = true
    return c
}

func requests(_ n: Int, every gap: Double, prompt: Int, output: Int) -> [Request] {
    (0..<n).map { Request(id: $0, arrival: .seconds(Double($0) * gap), promptTokens: prompt, outputTokens: output) }
}

extension Instance {
    /// Ends the iteration in flight, its tokens recorded nowhere a test reads; returns the requests that finished.
    func completeIteration() -> [ServingRequest] {
        completeIteration(metrics: MetricsRecorder(), at: .zero) ? finished : []
    }
}
