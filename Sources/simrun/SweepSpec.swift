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
struct SweepSpec {
    let name: String
    let file: String
    let scenario: String
    let points: [SweepPoint]

    static let keys = ["name", "scenario", "grid", "zip", "random", "repetitions", "description"]

    init(file: String) throws {
        func fail(_ location: String, _ message: String) -> InputError { InputError(file: file, location: location, message) }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw InputError(file: file, "cannot read sweep file (missing or unreadable)")
        }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw InputError(file: file, "malformed JSON: expected one object")
        }
        for key in root.keys.sorted() where !Self.keys.contains(key) {
            throw fail(key, "unknown field; expected one of: \(Self.keys.joined(separator: ", "))")
        }
        guard let name = root["name"] as? String, !name.isEmpty,
              name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) })
        else { throw fail("name", "expected a name of letters, digits, '-', '_' or '.'") }
        guard let scenario = root["scenario"] as? String else { throw fail("scenario", "expected the base scenario's path") }
        self.name = name
        self.file = file
        let folder = URL(fileURLWithPath: file, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
            .absoluteURL.deletingLastPathComponent()
        self.scenario = scenario.hasPrefix("/") ? scenario : folder.appendingPathComponent(scenario).standardizedFileURL.path

        // Each part is a list of assignments (path → JSON value); parts are crossed.
        var parts: [[[(String, Any)]]] = []
        if let grid = root["grid"] {
            guard let g = grid as? [String: Any] else { throw fail("grid", "expected an object of parameter → values") }
            for path in g.keys.sorted() {
                parts.append(try Self.values(g[path]!, at: "grid.\(path)", fail: fail).map { [(path, $0)] })
            }
        }
        if let zip = root["zip"] {
            guard let z = zip as? [String: Any], !z.isEmpty else { throw fail("zip", "expected an object of parameter → list") }
            let paths = z.keys.sorted()
            let lists = try paths.map { p -> [Any] in
                guard let l = z[p] as? [Any], !l.isEmpty else { throw fail("zip.\(p)", "expected a non-empty list") }
                return l
            }
            guard Set(lists.map(\.count)).count == 1 else {
                throw fail("zip", "expected lists of one length, found \(lists.map(\.count))")
            }
            parts.append((0..<lists[0].count).map { i in paths.indices.map { (paths[$0], lists[$0][i]) } })
        }
        if let random = root["random"] {
            parts.append(try Self.samples(random, fail: fail))
        }
        let repetitions = root["repetitions"] as? Int ?? 1
        guard repetitions >= 1, repetitions <= 10_000 else { throw fail("repetitions", "expected a whole number from 1 to 10000") }

        var combos: [[(String, Any)]] = [[]]
        for part in parts { combos = combos.flatMap { c in part.map { c + $0 } } }
        guard combos.count * repetitions <= 1_000_000 else {
            throw fail("grid", "\(combos.count * repetitions) points; at most 1,000,000 per sweep")
        }
        var points: [SweepPoint] = []
        for (c, combo) in combos.enumerated() {
            for rep in 0..<repetitions {
                points.append(SweepPoint(id: c * repetitions + rep, assignments: combo, repetition: rep))
            }
        }
        self.points = points
    }

    /// A list of values, or a range {from, to, step} (inclusive of `to` when it lands on a step).
    private static func values(_ spec: Any, at location: String, fail: (String, String) -> InputError) throws -> [Any] {
        if let list = spec as? [Any] {
            guard !list.isEmpty else { throw fail(location, "expected at least one value, found an empty list") }
            return list
        }
        guard let r = spec as? [String: Any], let from = (r["from"] as? NSNumber)?.doubleValue,
              let to = (r["to"] as? NSNumber)?.doubleValue, let step = (r["step"] as? NSNumber)?.doubleValue
        else { throw fail(location, "expected a list of values or a range {\"from\", \"to\", \"step\"}") }
        guard step > 0, to >= from else {
            throw fail(location, "expected step > 0 and to ≥ from, found from \(from), to \(to), step \(step): an empty range")
        }
        let count = Int(((to - from) / step + 1e-9).rounded(.down)) + 1
        guard count <= 100_000 else { throw fail(location, "\(count) values; at most 100,000") }
        let integral = [from, to, step].allSatisfy { $0 == $0.rounded() }
        return (0..<count).map { i -> Any in
            let v = from + Double(i) * step
            return integral ? Int(v) as Any : v as Any
        }
    }

    /// `count` seeded samples of every listed parameter, taken together.
    private static func samples(_ spec: Any, fail: (String, String) -> InputError) throws -> [[(String, Any)]] {
        guard let r = spec as? [String: Any], let count = r["count"] as? Int, count >= 1, count <= 1_000_000,
              let params = r["parameters"] as? [String: Any], !params.isEmpty
        else { throw fail("random", "expected {\"count\": N ≥ 1, \"seed\": S, \"parameters\": {path: distribution}}") }
        let stream = RandomStream(name: "sweep.random", scenarioSeed: UInt64(r["seed"] as? Int ?? 1))
        var draws: [[(String, Any)]] = Array(repeating: [], count: count)
        for path in params.keys.sorted() {
            let d = params[path] as? [String: Any]
            let at = "random.parameters.\(path)"
            if let u = d?["uniform"] as? [NSNumber], u.count == 2, u[0].doubleValue <= u[1].doubleValue {
                for i in 0..<count { draws[i].append((path, u[0].doubleValue + stream.uniform() * (u[1].doubleValue - u[0].doubleValue))) }
            } else if let u = d?["int_uniform"] as? [Int], u.count == 2, u[0] <= u[1] {
                for i in 0..<count { draws[i].append((path, stream.uniformInt(u[0]...u[1]))) }
            } else if let c = d?["choice"] as? [Any], !c.isEmpty {
                for i in 0..<count { draws[i].append((path, c[stream.uniformInt(0...(c.count - 1))])) }
            } else {
                throw fail(at, "expected {\"uniform\": [lo, hi]}, {\"int_uniform\": [lo, hi]} or {\"choice\": [values]}")
            }
        }
        return draws
    }
}

/// One run of a sweep: its parameter assignments and repetition.
struct SweepPoint {
    let id: Int
    let assignments: [(String, Any)]
    let repetition: Int

    /// The assignments as `--set` overrides (JSON values).
    var overrides: [String] {
        assignments.map { path, value in
            let json = (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]))
                .map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
            return "\(path)=\(json)"
        }
    }

    /// The parameters as one JSON object, keys sorted (stored in the database).
    var parametersJSON: String {
        "{" + overrides.map { o in
            let eq = o.firstIndex(of: "=")!
            return "\"\(o[..<eq])\":\(o[o.index(after: eq)...])"
        }.joined(separator: ",") + "}"
    }
}
