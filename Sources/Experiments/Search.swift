import Foundation
import HardwareModels
import SimCore
import Workloads

/// A search spec: the base scenario, the GPU budget per type, the degrees and layouts to try.
public struct SearchSpec {
    public struct GPUChoice {
        let name: String
        let count: Int
        let pricePerHour: Double?
    }

    /// One layout to measure.
    public struct Candidate {
        public let gpu: String
        /// (role, tp, pp, count) per instance group: one colocated group, or prefill then decode.
        let groups: [(role: String, tp: Int, pp: Int, count: Int)]
        /// How it was chosen, when not by enumeration.
        var origin: String?
        /// Each pipeline stage on its own server, prefill and decode stage k sharing one (Algorithm 2).
        var stagePerServer = false
        public var disaggregated: Bool { groups.count == 2 }
        var gpus: Int { groups.reduce(0) { $0 + $1.tp * $1.pp * $1.count } }
        public var description: String {
            func g(_ x: (role: String, tp: Int, pp: Int, count: Int)) -> String {
                "\(x.count) × TP\(x.tp)" + (x.pp > 1 ? "·PP\(x.pp)" : "")
            }
            guard !groups.isEmpty else { return origin ?? "" }
            let layout = disaggregated ? "prefill \(g(groups[0])) + decode \(g(groups[1]))" : "colocated \(g(groups[0]))"
            return origin.map { layout + " (\($0))" } ?? layout
        }
    }

    public struct Evaluated {
        public let candidate: Candidate
        public let goodput: Double?
        let pricePerHour: Double?
        let status: String
        var perGPU: Double? { goodput.map { $0 / Double(candidate.gpus) } }
        /// Dollars per hour for each request per second of goodput.
        var costPerGoodput: Double? {
            guard let p = pricePerHour, let g = goodput, g > 0 else { return nil }
            return p * Double(candidate.gpus) / g
        }
        public var line: String {
            "\(candidate.description) on \(candidate.gpu): " + (goodput.map { String(format: "goodput %.3g req/s", $0) } ?? status)
        }
    }

    public let name: String
    let file: String
    public let scenarioPath: String
    let base: JSONValue
    let baseGroup: [JSONValue.Member]
    public let gpus: [GPUChoice]
    let attainment: Double
    let tolerance: Double
    public let candidates: [Candidate]
    /// TP × PP shapes that split the model as vLLM requires, per GPU type (within its budget).
    let shapes: [String: [(tp: Int, pp: Int)]]
    /// The rate Algorithm 1 replicates its configurations to serve (nil: Algorithm 1 is not run).
    public let targetRate: Double?
    public let priced: Bool
    private let startRate: Double
    /// The field a probe sets: the rate, or for a replayed trace its rate_scale; and the requests per
    /// second one unit of it means (1, or the trace's mean rate), so goodputs are always req/s.
    private let knob: String
    private let reqPerUnit: Double

    public init(path: String) throws {
        file = path
        func fail(_ field: String, _ message: String) -> InputError { InputError(file: path, location: field, message) }
        let json = try JSONValue.read(file: path, what: "search spec")
        guard let members = json.members else { throw InputError(file: path, "expected a JSON object at the top level") }
        let known = ["name", "scenario", "gpus", "tp", "pp", "layouts", "attainment", "tolerance", "target_rate"]
        if let unknown = members.first(where: { !known.contains($0.key) }) {
            throw fail(unknown.key, "unknown field; expected one of: " + known.joined(separator: ", "))
        }
        func field(_ key: String) -> JSONValue? { members.first { $0.key == key }?.value }
        func ints(_ key: String, _ fallback: [Int]) throws -> [Int] {
            guard let v = field(key) else { return fallback }
            guard let list = v.elements, !list.isEmpty, list.count <= 64 else { throw fail(key, "expected a list of whole numbers") }
            return try list.map {
                guard let n = $0.integer(in: 1...1024) else { throw fail(key, "expected whole numbers from 1 to 1024, found \($0.shortText)") }
                return n
            }
        }
        name = field("name")?.string ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw fail("name", "expected letters, digits, '-', '_' or '.'")
        }
        guard let given = field("scenario")?.string else { throw fail("scenario", "expected the path of the base scenario") }
        scenarioPath = given.hasPrefix("/") ? given
            : URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(given).path
        // The base scenario's own instances need not fit: only its first group's model and settings are used.
        base = try ScenarioLoader.resolvedTree(scenarioPath)
        let scenario = try ScenarioLoader.decode(base, file: scenarioPath)
        let arrivals = scenario.workload.arrivals
        if arrivals.process == "trace" {
            // The trace replayed faster or slower: rate_scale is the knob, its mean rate the unit.
            // The scenario's own reading of its workload: the trace's path and format, checked.
            let file = scenarioPath, dir = URL(fileURLWithPath: scenarioPath).deletingLastPathComponent().path
            let workload = try WorkloadPlan(scenario.workload, seed: 1, fail: { InputError(file: file, location: $0, $1) },
                                            resolve: { $0.hasPrefix("/") ? $0 : dir + "/" + $0 })
            guard let replay = workload.replay else { throw InputError(file: scenarioPath, location: "workload.arrivals", "expected a trace") }
            let times: [Double] = try TraceReader(path: replay.path, format: replay.format).readAll().compactMap { $0.timestamp }
            guard let first = times.min(), let last = times.max(), last > first else {
                throw InputError(file: scenarioPath, location: "workload.arrivals.path", "a search needs a trace whose arrivals span some time")
            }
            knob = "workload.arrivals.rate_scale"
            reqPerUnit = Double(times.count - 1) / (last - first)
            startRate = arrivals.rate_scale ?? 1
        } else {
            guard arrivals.process == "poisson" || arrivals.process == "gamma", arrivals.stages == nil, let rate = arrivals.rate else {
                throw InputError(file: scenarioPath, location: "workload.arrivals", "a search varies the rate: expected process "
                                 + "poisson or gamma with a rate and no stages, or a trace (replayed faster or slower)")
            }
            knob = "workload.arrivals.rate"
            reqPerUnit = 1
            startRate = rate
        }
        guard let slo = scenario.slo, [slo.ttft_s, slo.tpot_s, slo.e2el_s, slo.max_itl_s].contains(where: { $0 != nil }) else {
            throw InputError(file: scenarioPath, location: "slo", "a search needs at least one SLO")
        }
        guard let first = base.members?.first(where: { $0.key == "instances" })?.value.elements?.first?.members,
              let group = scenario.instances.first else {
            throw InputError(file: scenarioPath, location: "instances", "expected at least one instance group")
        }
        baseGroup = first.filter { !["gpu", "tp", "pp", "count", "role", "max_num_seqs", "max_num_batched_tokens"].contains($0.key) }
        let folder = URL(fileURLWithPath: scenarioPath).deletingLastPathComponent().path
        let model = try SimulationPlan.model(group.model, field: "instances[0].model",
                                             fail: { [scenarioPath] in InputError(file: scenarioPath, location: $0, $1) },
                                             resolve: { $0.hasPrefix("/") ? $0 : folder + "/" + $0 })

        guard let given = field("gpus")?.elements, !given.isEmpty, given.count <= 16 else {
            throw fail("gpus", "expected a list of {\"gpu\": name, \"count\": n, \"price_per_hour\": dollars}")
        }
        gpus = try given.enumerated().map { i, g in
            let at = "gpus[\(i)]"
            guard let m = g.members else { throw fail(at, "expected an object") }
            if let unknown = m.first(where: { !["gpu", "count", "price_per_hour"].contains($0.key) }) {
                throw fail("\(at).\(unknown.key)", "unknown field; expected gpu, count or price_per_hour")
            }
            let value = { (k: String) in m.first { $0.key == k }?.value }
            guard let name = value("gpu")?.string, AcceleratorCatalog.named(name) != nil else {
                throw fail("\(at).gpu", "expected a GPU of the catalog: " + AcceleratorCatalog.all.map(\.name).joined(separator: ", "))
            }
            guard let count = value("count")?.integer(in: 1...1024) else { throw fail("\(at).count", "expected a whole number from 1 to 1024") }
            var price: Double?
            if let p = value("price_per_hour") {
                guard let d = p.double, d.isFinite, d > 0, d < 1e6 else { throw fail("\(at).price_per_hour", "expected dollars > 0") }
                price = d
            }
            return GPUChoice(name: name, count: count, pricePerHour: price)
        }
        priced = gpus.allSatisfy { $0.pricePerHour != nil }
        if !priced, gpus.contains(where: { $0.pricePerHour != nil }) {
            throw fail("gpus", "give price_per_hour for every GPU type or for none")
        }
        let tps = try ints("tp", [1, 2, 4, 8]), pps = try ints("pp", [1])
        var layouts = ["colocated", "disaggregated", "stage_per_server"]
        if let l = field("layouts") {
            guard let names = l.elements?.compactMap(\.string), !names.isEmpty, names.count == l.elements?.count,
                  names.allSatisfy(layouts.contains) else {
                throw fail("layouts", "expected a list of colocated, disaggregated and stage_per_server")
            }
            layouts = names
        }
        attainment = try field("attainment").map {
            guard let v = $0.double, v > 0, v <= 100 else { throw fail("attainment", "expected a percentage in (0, 100]") }
            return v
        } ?? 90
        targetRate = try field("target_rate").map {
            guard let v = $0.double, v > 0, v <= 1e5 else { throw fail("target_rate", "expected a rate in (0, 100000] req/s") }
            return v
        }
        tolerance = try field("tolerance").map {
            guard let v = $0.double, v > 0, v < 1 else { throw fail("tolerance", "expected a number in (0, 1)") }
            return v
        } ?? 0.05

        // TP must split the heads as vLLM requires; every layout stays within the GPU budget.
        let validTP = tps.filter { model.heads % $0 == 0 && (model.kvHeads % $0 == 0 || $0 % model.kvHeads == 0) }
        var list: [Candidate] = []
        var shapesByGPU: [String: [(tp: Int, pp: Int)]] = [:]
        for g in gpus {
            let shapes = validTP.flatMap { tp in pps.map { (tp: tp, pp: $0) } }.filter { $0.tp * $0.pp <= g.count }
            shapesByGPU[g.name] = shapes
            if layouts.contains("colocated") {
                for s in shapes {
                    list.append(Candidate(gpu: g.name, groups: [("colocated", s.tp, s.pp, g.count / (s.tp * s.pp))]))
                }
            }
            if layouts.contains("stage_per_server") {
                // Algorithm 2 (low node affinity): one unit of a prefill and a decode pipeline whose stage k
                // share server k, so the KV never crosses a NIC.
                let perServer = scenario.topology?.gpus_per_node ?? NodeSpec.defaults(for: AcceleratorCatalog.named(g.name)!).gpus
                for pp in pps where pp > 1 {
                    for tp in validTP {
                        for td in validTP where tp + td <= perServer && pp * (tp + td) <= g.count {
                            var c = Candidate(gpu: g.name, groups: [("prefill", tp, pp, 1), ("decode", td, pp, 1)],
                                              origin: "Algorithm 2: stage k of both on server k")
                            c.stagePerServer = true
                            list.append(c)
                        }
                    }
                }
            }
            if layouts.contains("disaggregated") {
                for p in shapes {
                    for d in shapes {
                        for np in 1...max(1, g.count / (p.tp * p.pp)) {
                            let left = g.count - np * p.tp * p.pp
                            guard left >= d.tp * d.pp else { continue }
                            for nd in 1...(left / (d.tp * d.pp)) {
                                list.append(Candidate(gpu: g.name, groups: [("prefill", p.tp, p.pp, np), ("decode", d.tp, d.pp, nd)]))
                            }
                        }
                    }
                }
            }
        }
        candidates = list
        shapes = shapesByGPU
    }

    /// The base scenario with the candidate's instance groups (and `rate`, when given; with
    /// `onlySLO`, the scenario's SLOs but that one dropped).
    func scenario(for c: Candidate, rate: Double? = nil, onlySLO: String? = nil) throws -> JSONValue {
        let groups = c.groups.map { g -> JSONValue in
            var m = baseGroup
            m.insert(.init("gpu", .string(c.gpu)), at: 0)
            m.append(contentsOf: [.init("tp", .number(String(g.tp))), .init("pp", .number(String(g.pp))),
                                  .init("count", .number(String(g.count))), .init("role", .string(g.role))])
            if c.stagePerServer { m.append(.init("placement", .string("stage_per_server"))) }
            return .object(m)
        }
        var settings = ["instances=" + JSONValue.array(groups).canonicalText]
        if c.disaggregated { settings.append("router=shortest_queue") }
        if let rate { settings.append("\(knob)=\(rate / reqPerUnit)") }
        var tree = base
        if let only = onlySLO, var members = tree.members, let i = members.firstIndex(where: { $0.key == "slo" }) {
            members[i].value = .object((members[i].value.members ?? []).filter { $0.key == only })
            tree = .object(members)
        }
        return try ScenarioLoader.resolved(tree, settings: settings, file: scenarioPath)
    }

    public func scenario(for e: Evaluated) throws -> JSONValue { try scenario(for: e.candidate, rate: e.goodput) }

    /// DistServe's Algorithm 1 (high node affinity): each prefill shape measured alone against the TTFT SLO
    /// (ample decode instances behind it) and each decode shape alone against the TPOT SLO (ample prefill
    /// instances in front), the best of each by goodput per GPU chosen independently, then replicated to serve
    /// `targetRate`; the placement that makes is measured whole. Needs both a TTFT and a TPOT SLO.
    public func algorithm1(on g: GPUChoice, targetRate: Double) -> Evaluated {
        let price = g.pricePerHour
        func none(_ why: String) -> Evaluated {
            Evaluated(candidate: Candidate(gpu: g.name, groups: [], origin: "Algorithm 1"),
                      goodput: nil, pricePerHour: price, status: "skipped: \(why)")
        }
        let slo = base.members?.first { $0.key == "slo" }?.value.members?.map(\.key) ?? []
        guard slo.contains("ttft_s"), slo.contains("tpot_s") else { return none("Algorithm 1 needs both ttft_s and tpot_s") }
        let ample = 8
        func best(_ role: String, slo: String) -> (shape: (tp: Int, pp: Int), goodput: Double)? {
            var found: (shape: (tp: Int, pp: Int), goodput: Double)?
            for s in shapes[g.name] ?? [] {
                let alone = Candidate(gpu: g.name, groups: role == "prefill" ? [("prefill", s.tp, s.pp, 1), ("decode", s.tp, s.pp, ample)]
                                                                            : [("prefill", s.tp, s.pp, ample), ("decode", s.tp, s.pp, 1)])
                guard let r = measure(alone, onlySLO: slo).goodput, r > 0 else { continue }
                let perGPU = r / Double(s.tp * s.pp)
                if found.map({ perGPU > $0.goodput / Double($0.shape.tp * $0.shape.pp) }) ?? true { found = (s, r) }
            }
            return found
        }
        guard let p = best("prefill", slo: "ttft_s") else { return none("no prefill shape meets the TTFT SLO on \(g.name)") }
        guard let d = best("decode", slo: "tpot_s") else { return none("no decode shape meets the TPOT SLO on \(g.name)") }
        let (needP, needD) = ((targetRate / p.goodput).rounded(.up), (targetRate / d.goodput).rounded(.up))
        guard needP.isFinite, needD.isFinite, max(needP, needD) <= 100_000 else {
            return none("the rate needs more than 100000 instances of a phase")
        }
        let np = Int(needP), nd = Int(needD)
        let c = Candidate(gpu: g.name, groups: [("prefill", p.shape.tp, p.shape.pp, np), ("decode", d.shape.tp, d.shape.pp, nd)],
                          origin: String(format: "Algorithm 1 for %g req/s; prefill alone %.3g; decode alone %.3g req/s", targetRate,
                                         p.goodput, d.goodput))
        return measure(c)
    }

    /// Finds one candidate's goodput; a candidate that does not fit is skipped, one that fails is recorded.
    public func evaluate(_ c: Candidate) -> Evaluated { measure(c) }

    private func measure(_ c: Candidate, onlySLO: String? = nil) -> Evaluated {
        let price = gpus.first { $0.name == c.gpu }?.pricePerHour
        let tree: JSONValue
        do {
            tree = try scenario(for: c, onlySLO: onlySLO)
            _ = try SimulationPlan(ScenarioLoader.decode(tree, file: scenarioPath), file: scenarioPath)
        } catch {
            return Evaluated(candidate: c, goodput: nil, pricePerHour: price, status: "skipped: \(error)")
        }
        let file = scenarioPath
        do {
            let knob = knob
            let r = try GoodputSearch.find(start: startRate, target: attainment / 100, tolerance: tolerance, maxRate: 1e5) {
                try GoodputSearch.probe(tree, file: file, seed: nil, rate: $0, knob: knob)
            }
            return Evaluated(candidate: c, goodput: r.goodput * reqPerUnit, pricePerHour: price,
                             status: r.reachedMax ? "ok (rate limit)" : "ok")
        } catch {
            return Evaluated(candidate: c, goodput: nil, pricePerHour: price, status: "failed: \(error)")
        }
    }

    /// Best first: by cost per unit of goodput when every GPU is priced, else by goodput per GPU;
    /// candidates without a goodput last, in the order they were tried.
    public func rank(_ results: [Evaluated]) -> [Evaluated] {
        let indexed = Array(results.enumerated())
        return indexed.sorted { a, b in
            switch (a.element.perGPU, b.element.perGPU) {
            case let (x?, y?):
                if priced, let ca = a.element.costPerGoodput, let cb = b.element.costPerGoodput, ca != cb { return ca < cb }
                if x != y { return x > y }
                return a.offset < b.offset
            case (_?, nil): return true
            case (nil, _?): return false
            case (nil, nil): return a.offset < b.offset
            }
        }.map(\.element)
    }

    static let csvHeader = ["rank", "layout", "gpu", "description", "gpus", "goodput_rps", "goodput_per_gpu_rps",
                            "price_per_gpu_hour", "usd_per_hour_per_rps", "status"]

    public static func writeCSV(_ ranked: [Evaluated], to path: String) throws {
        let csv = try CSVWriter(path: path, header: csvHeader)
        for (i, r) in ranked.enumerated() {
            csv.field(i + 1)
            csv.field(r.candidate.disaggregated ? "disaggregated" : "colocated")
            csv.field(r.candidate.gpu)
            csv.field(r.candidate.description)
            csv.field(r.candidate.gpus)
            csv.field(r.goodput ?? .nan)
            csv.field(r.perGPU ?? .nan)
            csv.field(r.pricePerHour ?? .nan)
            csv.field(r.costPerGoodput ?? .nan)
            csv.field(r.status)
            csv.endRow()
        }
        try csv.close()
    }

    public static func table(_ ranked: [Evaluated], priced: Bool) -> String {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
        var lines = [pad("rank", 5) + pad("layout", 45) + pad("gpu", 15) + " gpus    goodput/s      per GPU"
                     + (priced ? "   $/h per req/s" : "")]
        for (i, r) in ranked.enumerated() {
            var line = pad("\(i + 1)", 5) + pad(r.candidate.description, 45) + pad(r.candidate.gpu, 15)
                + String(format: "%5d ", r.candidate.gpus)
            if let g = r.goodput, let p = r.perGPU {
                line += String(format: "%12.3f %12.3f", g, p)
                if priced { line += r.costPerGoodput.map { String(format: " %16.3f", $0) } ?? "               –" }
            } else {
                line += "  " + r.status
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}
