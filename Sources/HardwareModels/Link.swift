/// One direction of a physical connection that transfers share: an NVLink
/// port, a PCIe lane group, a NIC, a DRAM or NVMe channel.
public struct Link: Sendable, Equatable {
    public let name: String
    /// Bytes per second in this direction.
    public let bandwidth: Double
    /// Seconds a message spends crossing it, whatever its size.
    public let latency: Double

    public init(name: String, bandwidth: Double, latency: Double) {
        precondition(bandwidth > 0 && latency >= 0)
        self.name = name
        self.bandwidth = bandwidth
        self.latency = latency
    }
}
