/// A problem with something the user supplied (scenario, trace, profile): the
/// file, where in it (a field path or a line), and what was expected.
///
/// The command line prints `description` as one line and exits with status 2.
public struct InputError: Error, CustomStringConvertible, Equatable, Sendable {
    public let file: String
    /// A field path such as `workload.arrivals.rate`, or `line 12`; empty when
    /// the problem is the file as a whole.
    public let location: String
    public let message: String
    /// Well formed, but asking for what the hardware cannot hold (a model that does not fit): a
    /// sweep records such a point as infeasible and goes on.
    public var infeasible = false

    public init(file: String, location: String = "", _ message: String) {
        self.file = file
        self.location = location
        self.message = message
    }

    public var description: String {
        location.isEmpty ? "\(file): \(message)" : "\(file): \(location): \(message)"
    }
}
