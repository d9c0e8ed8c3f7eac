import SimCore

/// One server: how many GPUs it holds, its host DRAM and NVMe tiers, and its
/// network interfaces. Bandwidths are bytes/s a direction; latencies seconds.
public struct NodeSpec: Sendable, Equatable, Codable {
    public var gpus: Int
    public var hostMemoryBytes: Double
    /// Host DRAM bandwidth shared by every transfer to or from host memory.
    public var hostMemoryBandwidth: Double
    public var nvmeBytes: Double
    public var nvmeReadBandwidth: Double
    public var nvmeWriteBandwidth: Double
    public var nics: Int
    public var nicBandwidth: Double
    /// One-way latency of a small GPU-to-GPU message inside the node.
    public var peerLatency: Double
    /// One-way latency of a small message between nodes.
    public var networkLatency: Double
    /// Latency of a host transfer (PCIe) or an NVMe access.
    public var hostLatency: Double
    public var source: String

    /// The usual server for an accelerator: its hardware file's `server`, where each figure's
    /// source is given; a file without one takes the A10's 4-GPU PCIe server.
    public static func defaults(for accelerator: Accelerator) -> NodeSpec {
        guard let server = accelerator.server ?? AcceleratorCatalog.named("A10")?.server else {
            preconditionFailure("the bundled A10 hardware file has no server")
        }
        return server
    }
}

extension NodeSpec {
    /// A server from a hardware file's `server` object (see Resources/accelerators/README.md).
    init(hardwareFile json: JSONValue, file: String) throws {
        func number(_ field: String) throws -> Double {
            guard let v = json[field] else { throw InputError(file: file, location: "server.\(field)", "required field is missing") }
            guard let d = v.double, d > 0, d < 1e9 else {
                throw InputError(file: file, location: "server.\(field)", "expected a number > 0, found \(v.shortText)")
            }
            return d
        }
        guard let members = json.members else { throw InputError(file: file, location: "server", "expected an object") }
        let allowed = ["gpus", "host_memory_gib", "host_memory_gbs", "nvme_tb", "nvme_read_gbs", "nvme_write_gbs", "nics", "nic_gbps",
                       "peer_latency_us", "network_latency_us", "host_latency_us", "source"]
        if let unknown = members.map(\.key).sorted().first(where: { !allowed.contains($0) }) {
            throw InputError(file: file, location: "server.\(unknown)", "unknown field; expected one of: \(allowed.joined(separator: ", "))")
        }
        func count(_ field: String) throws -> Int {
            let d = try number(field)
            guard d == d.rounded(), d <= 4096 else {
                throw InputError(file: file, location: "server.\(field)", "expected a whole number up to 4096, found \(d)")
            }
            return Int(d)
        }
        let gpus = try count("gpus"), nics = try count("nics")
        let dram = try number("host_memory_gib") * 1_073_741_824, dramBandwidth = try number("host_memory_gbs") * 1e9
        let nvme = try number("nvme_tb") * 1e12, read = try number("nvme_read_gbs") * 1e9, write = try number("nvme_write_gbs") * 1e9
        let nic = try number("nic_gbps") * 1e9 / 8
        let peer = try number("peer_latency_us") / 1e6, network = try number("network_latency_us") / 1e6
        let host = try number("host_latency_us") / 1e6
        self.init(gpus: gpus, hostMemoryBytes: dram, hostMemoryBandwidth: dramBandwidth, nvmeBytes: nvme, nvmeReadBandwidth: read,
                  nvmeWriteBandwidth: write, nics: nics, nicBandwidth: nic, peerLatency: peer, networkLatency: network,
                  hostLatency: host, source: json["source"]?.string ?? file)
    }
}
