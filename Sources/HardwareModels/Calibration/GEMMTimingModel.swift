import Foundation
import SimCore

/// One measured matrix multiplication: its work, its memory traffic, its time.
public struct GEMMSample: Sendable, Equatable {
    public let flops: Double
    public let bytes: Double
    public let seconds: Double
    /// Which operator of a layer it was (attn_pre_proj, mlp_up_proj, ...).
    public let op: String
    /// Whether the sample is kept out of the fit to measure error.
    public let heldOut: Bool
}

/// GEMM time as a roofline with overlap, fitted to measurements:
///
///     t = launch + computePerFlop·F + computePerByte·B   when compute-bound
///     t = launch + memoryPerByte·B  + memoryPerFlop·F    when memory-bound
///
/// where the regime is whichever main term (computePerFlop·F or
/// memoryPerByte·B) is larger. The secondary terms capture what a pure max()
/// misses: mid-sized GEMMs pay for both their arithmetic and their traffic.
/// 1/computePerFlop and 1/memoryPerByte are the achieved FLOP rate and bandwidth.
public struct GEMMTimingModel: Sendable, Equatable, Codable {
    public var launch: Double
    public var computePerFlop: Double
    public var computePerByte: Double
    public var memoryPerByte: Double
    public var memoryPerFlop: Double

    public func isComputeBound(flops: Double, bytes: Double) -> Bool {
        computePerFlop * flops > memoryPerByte * bytes
    }

    public func seconds(flops: Double, bytes: Double) -> Double {
        isComputeBound(flops: flops, bytes: bytes)
            ? launch + computePerFlop * flops + computePerByte * bytes
            : launch + memoryPerByte * bytes + memoryPerFlop * flops
    }

    /// Fits the model by alternating two steps until the regimes stop changing:
    /// classify each sample by the current main terms, then solve one weighted
    /// linear least-squares problem for all five coefficients (GSL), with
    /// weights 1/t² so that relative, not absolute, error is minimised. The
    /// first classification uses the accelerator's ridge point.
    public static func fit(_ samples: [GEMMSample], ridge: Double) throws -> GEMMTimingModel {
        var computeBound = samples.map { $0.flops / $0.bytes > ridge }
        var model = GEMMTimingModel(launch: 0, computePerFlop: 0, computePerByte: 0, memoryPerByte: 0, memoryPerFlop: 0)
        for _ in 0..<100 {
            let rows = zip(samples, computeBound).map { s, c in
                c ? [1, s.flops, s.bytes, 0, 0] : [1, 0, 0, s.bytes, s.flops]
            }
            let c = try LeastSquares.fit(rows: rows, y: samples.map(\.seconds),
                                         weights: samples.map { 1 / ($0.seconds * $0.seconds) }).coefficients
            model = GEMMTimingModel(launch: c[0], computePerFlop: c[1], computePerByte: c[2],
                                    memoryPerByte: c[3], memoryPerFlop: c[4])
            let next = samples.map { model.isComputeBound(flops: $0.flops, bytes: $0.bytes) }
            if next == computeBound { break }
            computeBound = next
        }
        return model
    }
}

/// All-reduce time, fitted per ring size n (NCCL picks different algorithms
/// and protocols by size): with x = 2(n−1)/n · bytes, the bytes each GPU
/// sends and receives in a ring,
///
///     t = latency + perByte · x + perSqrtByte · √x
///
/// where the √x term bends the line through NCCL's switch from its
/// low-latency protocol (small messages) to its bandwidth protocol (large).
/// A ring size that was not measured uses the nearest one that was.
public struct AllReduceTimingModel: Sendable, Equatable, Codable {
    public struct Ring: Sendable, Equatable, Codable {
        public let gpus: Int
        public let latency: Double
        public let perByte: Double
        public let perSqrtByte: Double
    }
    public let rings: [Ring]

    public func seconds(bytes: Double, gpus: Int) -> Double {
        guard gpus > 1, let ring = ring(for: gpus) else { return 0 }
        let x = 2 * Double(gpus - 1) / Double(gpus) * bytes
        return ring.latency + ring.perByte * x + ring.perSqrtByte * x.squareRoot()
    }

    /// The measured ring size nearest `gpus` (by ratio; the first of two as near).
    private func ring(for gpus: Int) -> Ring? {
        rings.min { abs(log2(Double($0.gpus)) - log2(Double(gpus))) < abs(log2(Double($1.gpus)) - log2(Double(gpus))) }
    }

    /// This model with only the ring that `seconds(bytes:gpus:)` uses for `gpus` GPUs: the same
    /// times for them, without choosing the ring at each call (eight logarithms per step with a
    /// prefill: 2% of the instructions of stress-10m-256gpu, 64 instances at TP 4).
    public func keepingOnlyRing(for gpus: Int) -> AllReduceTimingModel {
        AllReduceTimingModel(rings: gpus > 1 ? ring(for: gpus).map { [$0] } ?? [] : rings)
    }

    /// Weighted least squares (weights 1/t²) per ring size.
    public static func fit(_ samples: [CollectiveSample]) throws -> AllReduceTimingModel {
        var rings: [Ring] = []
        for n in Set(samples.map(\.gpus)).sorted() {
            let group = samples.filter { $0.gpus == n }
            let rows = group.map { s -> [Double] in
                let x = 2 * Double(n - 1) / Double(n) * s.bytes
                return [1, x, x.squareRoot()]
            }
            let c = try LeastSquares.fit(rows: rows, y: group.map(\.seconds),
                                         weights: group.map { 1 / ($0.seconds * $0.seconds) }).coefficients
            rings.append(Ring(gpus: n, latency: c[0], perByte: c[1], perSqrtByte: c[2]))
        }
        return AllReduceTimingModel(rings: rings)
    }
}

/// One measured collective: message size, GPUs, time.
public struct CollectiveSample: Sendable, Equatable {
    public let bytes: Double
    public let gpus: Int
    public let seconds: Double
    public let heldOut: Bool
}
