import HardwareModels
import SimCore

/// What a cluster controller is told as it happens.
public enum ControlEvent: Sendable, Equatable {
    /// A new request was queued on an instance.
    case arrival(request: Int, instance: Int)
    /// A request ended on an instance: finished (with the latency its client saw) or dropped (nil).
    case ended(request: Int, instance: Int, latency: Latency?)
    /// An instance started taking requests.
    case instanceReady(Int)
    /// A drained instance was removed.
    case instanceRemoved(Int)

    /// Time to first token and mean time per output token after it, seconds.
    public struct Latency: Sendable, Equatable {
        public let ttft: Double
        public let tpot: Double
    }
}

/// A cluster-wide policy that runs on its own clock: Llumnix's global scheduler, an autoscaler,
/// ElasticMoE's scaling. It is called every `period` and on each event, reads the instances
/// (read-only: their queues, batches, blocks and state; never a request's true output length,
/// which the runtime keeps out of this module's reach), and acts only through the mechanisms of
/// `ControlPlane`, whose time and bytes the runtime models. A policy is one file and one line in
/// the policy registry, as routers and schedulers are.
public protocol ClusterController {
    /// Time between ticks (nil: events only).
    var period: SimTime? { get }
    mutating func tick(_ plane: ControlPlane)
    mutating func observe(_ event: ControlEvent, _ plane: ControlPlane)
}

extension ClusterController {
    public mutating func observe(_ event: ControlEvent, _ plane: ControlPlane) {}
}

/// A controller's handle on the cluster: the instances to read, and the mechanisms to act with.
public struct ControlPlane {
    unowned let cluster: Cluster

    public var now: SimTime { cluster.loop.now }
    /// Every instance, removed ones included (their index stays theirs).
    public var instances: [Instance] { cluster.instances }

    /// Moves a running request with its KV cache to another instance in one copy, the request
    /// paused throughout (see Cluster.migrate).
    @discardableResult
    public func migrate(_ request: ServingRequest, to instance: Int) -> Bool { cluster.migrate(request, to: instance) }

    /// Moves a running request in stages while it keeps decoding, paused only for the last (see
    /// Cluster.migrateLive).
    @discardableResult
    public func migrateLive(_ request: ServingRequest, to instance: Int) -> Bool { cluster.migrateLive(request, to: instance) }

    /// Stops routing to an instance; it is removed once empty.
    public func drain(_ instance: Int) { cluster.drain(instance) }

    /// Moves an instance to another data/expert-parallel layout (TP kept) by `method`, every phase
    /// timed (see Cluster.rescale); returns the index of its record in `scalingRecords`.
    @discardableResult
    public func rescale(_ instance: Int, to layout: ParallelLayout, method: ScalingMethod,
                        options: ElasticOptions = .init(), weightsFrom: Cluster.WeightSource = .nvme) throws -> Int {
        try cluster.rescale(instance, to: layout, method: method, options: options, weightsFrom: weightsFrom)
    }

    /// Whether a rescale is under way.
    public var rescaling: Bool { !cluster.rescales.isEmpty }

    /// Starts an instance: it loads its weights over the modelled path and warms up before it takes
    /// requests (`instanceReady` tells when); returns its index.
    @discardableResult
    public func launch(_ spec: InstanceSpec, weightsFrom source: Cluster.WeightSource = .nvme) throws -> Int {
        try cluster.launchInstance(spec, weightsFrom: source).index
    }
}
