import Foundation

/// The machine simrun runs on, as a speed figure needs it named: a CPU's marketing name can cover
/// several generations ("AMD EPYC" on a cloud VM), so the family and model numbers come with it.
/// Read from /proc/cpuinfo (Linux); elsewhere, or when the file says nothing, "unknown CPU".
public struct HostMachine: Sendable, Equatable {
    /// The CPU's name ("model name").
    public let cpuName: String
    /// The CPU's family and model numbers, when the system gives them.
    public let family: Int?
    public let model: Int?
    /// The cores this process may use.
    public let cores: Int

    /// This machine.
    public static let current = HostMachine(
        cpuinfo: (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "",
        cores: ProcessInfo.processInfo.activeProcessorCount)

    /// The machine a /proc/cpuinfo text describes (its first processor's fields).
    public init(cpuinfo: String, cores: Int) {
        var fields: [String: String] = [:]
        for line in cpuinfo.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces).isEmpty, !fields.isEmpty { break }  // the first processor ends
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            if fields[name] == nil { fields[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        let name = fields["model name"] ?? ""
        cpuName = name.isEmpty ? "unknown CPU" : name
        family = fields["cpu family"].flatMap { Int($0) }
        model = fields["model"].flatMap { Int($0) }
        self.cores = cores
    }

    /// "AMD EPYC (family 26, model 2), 2 cores".
    public var description: String {
        let numbers = [family.map { "family \($0)" }, model.map { "model \($0)" }].compactMap { $0 }
        return cpuName + (numbers.isEmpty ? "" : " (\(numbers.joined(separator: ", ")))")
            + ", \(cores) core\(cores == 1 ? "" : "s")"
    }
}
