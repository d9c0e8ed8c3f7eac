import Foundation
import SimCore

/// A sweep file: a base scenario and the parameters to vary.
///
/// ```json
/// { "name": "load",
///   "scenario": "../scenarios/quickstart.json",
///   "grid": { "scheduler.policy": ["fcfs", "past_future"],
///             "workload.arrivals.rate": { "from": 0.5, "to": 2.0, "step": 0.5 } },
///   "zip": { "workload.arrivals.clients": [10, 20], "workload.num_requests": [100, 200] },
///   "random": { "count": 4, "seed": 7, "parameters": { "scheduler.reserve": { "uniform": [0.0, 0.1] } } },
///   "repetitions": 2 }
/// ```
/// Points are the cartesian product of the grid, the zipped lists (taken
/// together, row by row) and the random samples, each run `repetitions` times
/// with seeds scenario seed + 0, 1, …
public struct SweepSpec {
    public let name: String
    let file: String
    let scenario: String
    public let points: [SweepPoint]
    /// The sweep file's content, keys sorted: stored with the results, and what tells one sweep from another.
    let canonicalText: String

    static let keys = ["name", "scenario", "grid", "zip", "random", "repetitions", "description"]
    static let maxPoints = 1_000_000
    /// Whole numbers in a range or a random draw stay where a Double still counts every integer exactly (2^53).
    static let maxWhole = 9_007_199_254_740_992.0

    public init(file: String) throws {
        func fail(_ location: String, _ message: String) -> InputError { InputError(file: file, location: location, message) }
        let root = try JSONValue.read(file: file, what: "sweep file")
        guard let members = root.members else {
            throw InputError(file: file, "expected a JSON object at the top level, found \(root.kindName)")
        }
        for key in members.map(\.key).sorted() where !Self.keys.contains(key) {
            throw fail(key, "unknown field; expected one of: \(Self.keys.joined(separator: ", "))")
        }
        guard let name = root["name"]?.string, !name.isEmpty, name != ".", name != "..",
              name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) })
        else { throw fail("name", "expected a name of letters, digits, '-', '_' or '.'") }
        guard let scenario = root["scenario"]?.string, !scenario.isEmpty else {
            throw fail("scenario", "expected the base scenario's path")
        }
        if let d = root["description"], d.string == nil { throw fail("description", "expected a string, found \(d.shortText)") }
        self.name = name
        self.file = file
        canonicalText = root.canonicalText
        let folder = URL(fileURLWithPath: file, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
            .absoluteURL.deletingLastPathComponent()
        self.scenario = scenario.hasPrefix("/") ? scenario : folder.appendingPathComponent(scenario).standardizedFileURL.path

        // Each part is a list of assignments (path → JSON value); parts are crossed.
        var parts: [[[(String, JSONValue)]]] = []
        if let grid = root["grid"] {
            guard let g = grid.members, !g.isEmpty else { throw fail("grid", "expected an object of parameter → values") }
            for m in g.sorted(by: { $0.key < $1.key }) {
                parts.append(try Self.values(m.value, at: "grid.\(m.key)", fail: fail).map { [(m.key, $0)] })
            }
        }
        if let zip = root["zip"] {
            guard let z = zip.members?.sorted(by: { $0.key < $1.key }), !z.isEmpty else {
                throw fail("zip", "expected an object of parameter → list")
            }
            let lists = try z.map { m -> [JSONValue] in
                guard let l = m.value.elements, !l.isEmpty else { throw fail("zip.\(m.key)", "expected a non-empty list") }
                return l
            }
            guard Set(lists.map(\.count)).count == 1 else {
                throw fail("zip", "expected lists of one length, found \(lists.map(\.count))")
            }
            parts.append((0..<lists[0].count).map { i in z.indices.map { (z[$0].key, lists[$0][i]) } })
        }
        if let random = root["random"] {
            parts.append(try Self.samples(random, fail: fail))
        }
        let paths = parts.flatMap { $0.first?.map(\.0) ?? [] }
        if let twice = paths.sorted().adjacentDuplicate() {
            throw fail(twice, "this parameter is swept twice (in grid, zip or random); give it once")
        }
        var repetitions = 1
        if let r = root["repetitions"] {
            guard let n = r.integer(in: 1...10_000) else {
                throw fail("repetitions", "expected a whole number from 1 to 10000, found \(r.shortText)")
            }
            repetitions = n
        }

        var total = repetitions
        for part in parts {
            total = total.multipliedReportingOverflow(by: part.count).overflow ? .max : total * part.count
        }
        guard total <= Self.maxPoints else {
            throw fail(root["grid"] != nil ? "grid" : "random", "\(total == .max ? "too many" : String(total)) points; at most 1,000,000 per sweep")
        }
        var combos: [[(String, JSONValue)]] = [[]]
        for part in parts { combos = combos.flatMap { c in part.map { c + $0 } } }
        var points: [SweepPoint] = []
        for (c, combo) in combos.enumerated() {
            for rep in 0..<repetitions {
                points.append(SweepPoint(id: c * repetitions + rep, assignments: combo, repetition: rep))
            }
        }
        self.points = points
    }

    /// A list of values, or a range {from, to, step} (inclusive of `to` when it lands on a step).
    private static func values(_ spec: JSONValue, at location: String, fail: (String, String) -> InputError) throws -> [JSONValue] {
        if let list = spec.elements {
            guard !list.isEmpty else { throw fail(location, "expected at least one value, found an empty list") }
            return list
        }
        guard let r = spec.members, Set(r.map(\.key)) == ["from", "to", "step"],
              let from = spec["from"]?.double, let to = spec["to"]?.double, let step = spec["step"]?.double
        else { throw fail(location, "expected a list of values or a range {\"from\", \"to\", \"step\"} of numbers") }
        guard step > 0, to >= from else {
            throw fail(location, "expected step > 0 and to ≥ from, found from \(from), to \(to), step \(step): an empty range")
        }
        // Counted in Double first: a huge range must not overflow the conversion to Int.
        let exactCount = ((to - from) / step + 1e-9).rounded(.down) + 1
        guard exactCount.isFinite, exactCount <= 100_000 else {
            throw fail(location, "\(exactCount.isFinite ? String(format: "%.0f", exactCount) : "too many") values; at most 100,000")
        }
        let integral = [from, to, step].allSatisfy { $0 == $0.rounded() }
        if integral, max(abs(from), abs(to)) > maxWhole {
            throw fail(location, "expected whole numbers within ±2^53, found from \(from), to \(to)")
        }
        return (0..<Int(exactCount)).map { i -> JSONValue in
            let v = from + Double(i) * step
            return .number(integral ? String(Int64(v)) : v.description)
        }
    }

    /// `count` seeded samples of every listed parameter, taken together.
    private static func samples(_ spec: JSONValue, fail: (String, String) -> InputError) throws -> [[(String, JSONValue)]] {
        let usage = "expected {\"count\": N, \"seed\": S, \"parameters\": {path: distribution}}"
        guard let r = spec.members else { throw fail("random", usage) }
        for m in r where !["count", "seed", "parameters"].contains(m.key) {
            throw fail("random.\(m.key)", "unknown field; \(usage)")
        }
        guard let c = spec["count"], let count = c.integer(in: 1...maxPoints) else {
            throw fail("random.count", "expected a whole number from 1 to \(maxPoints), found \(spec["count"]?.shortText ?? "nothing")")
        }
        var seed: UInt64 = 1
        if let s = spec["seed"] {
            guard let v = s.uint64 else { throw fail("random.seed", "expected a whole number from 0 to \(UInt64.max), found \(s.shortText)") }
            seed = v
        }
        guard let params = spec["parameters"]?.members, !params.isEmpty else {
            throw fail("random.parameters", "expected an object of parameter → distribution")
        }
        let stream = RandomStream(name: "sweep.random", scenarioSeed: seed)
        var draws: [[(String, JSONValue)]] = Array(repeating: [], count: count)
        for m in params.sorted(by: { $0.key < $1.key }) {
            let at = "random.parameters.\(m.key)"
            let d = m.value
            guard let kind = d.members, kind.count == 1 else {
                throw fail(at, "expected {\"uniform\": [lo, hi]}, {\"int_uniform\": [lo, hi]} or {\"choice\": [values]}")
            }
            let bounds = d[kind[0].key]?.elements ?? []
            switch kind[0].key {
            case "uniform":
                guard bounds.count == 2, let lo = bounds[0].double, let hi = bounds[1].double, lo <= hi, (hi - lo).isFinite else {
                    throw fail(at, "expected \"uniform\": [lo, hi] with lo ≤ hi")
                }
                for i in 0..<count { draws[i].append((m.key, .number((lo + stream.uniform() * (hi - lo)).description))) }
            case "int_uniform":
                // GSL draws at most 2^32 distinct values (MT19937's range).
                guard bounds.count == 2, let lo = bounds[0].int64, let hi = bounds[1].int64, lo <= hi,
                      abs(Double(lo)) <= maxWhole, abs(Double(hi)) <= maxWhole, hi - lo < 1 << 32 else {
                    throw fail(at, "expected \"int_uniform\": [lo, hi], whole numbers within ±2^53 with lo ≤ hi and hi − lo < 2^32")
                }
                for i in 0..<count { draws[i].append((m.key, .number(String(stream.uniformInt(Int(lo)...Int(hi)))))) }
            case "choice":
                guard !bounds.isEmpty else { throw fail(at, "expected \"choice\": [values], not empty") }
                for i in 0..<count { draws[i].append((m.key, bounds[stream.uniformInt(0...(bounds.count - 1))])) }
            default:
                throw fail(at, "expected {\"uniform\": [lo, hi]}, {\"int_uniform\": [lo, hi]} or {\"choice\": [values]}")
            }
        }
        return draws
    }
}

/// One run of a sweep: its parameter assignments and repetition.
public struct SweepPoint {
    public let id: Int
    let assignments: [(String, JSONValue)]
    let repetition: Int

    /// The assignments as `--set` overrides (JSON values).
    var overrides: [String] { assignments.map { "\($0.0)=\($0.1.canonicalText)" } }

    /// The parameters as one JSON object, keys sorted (stored in the database).
    var parametersJSON: String { JSONValue.object(assignments.map { .init($0.0, $0.1) }).canonicalText }
}

private extension Array where Element: Equatable {
    /// The first element equal to the one after it.
    func adjacentDuplicate() -> Element? { indices.dropLast().first { self[$0] == self[$0 + 1] }.map { self[$0] } }
}
