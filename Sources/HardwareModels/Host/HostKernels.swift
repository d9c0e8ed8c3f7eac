import Foundation

/// Buffers of Float32 filled with small deterministic values (a fixed LCG),
/// so runs are comparable and no NaNs or denormals slow a kernel down.
struct HostBuffer {
    var values: [Float]
    init(count: Int, seed: UInt32 = 1) {
        var state = seed
        values = (0..<count).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(Int32(bitPattern: state >> 8) % 2000 - 1000) * 1e-4
        }
    }
}

/// The real kernels a decoder layer needs, on this machine's CPU.
struct HostKernels {
    let blas: OpenBLAS

    /// Causal self-attention of one sequence. `q` holds the `tokens` new
    /// queries (rows of `qStride` floats, heads side by side); `keys` and
    /// `values` hold the whole context (rows of heads·dim floats), the new
    /// tokens last. Each head is addressed in place through leading
    /// dimensions, as GPU kernels do. Writes `out` (tokens × heads·dim).
    func attention(q: UnsafePointer<Float>, qStride: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                   tokens: Int, context: Int, heads: Int, dim: Int, out: UnsafeMutablePointer<Float>,
                   scores: UnsafeMutablePointer<Float>) {
        let width = heads * dim
        let scale = 1 / Float(dim).squareRoot()
        let offset = context - tokens
        for h in 0..<heads {
            blas.sgemm(m: tokens, n: context, k: dim, a: q + h * dim, lda: qStride, b: keys + h * dim, ldb: width,
                       transposeB: true, c: scores)
            // Causal mask and softmax: new token i sees the cache and new tokens ≤ i.
            for i in 0..<tokens {
                let row = scores + i * context
                let visible = offset + i + 1
                var maxValue = -Float.infinity
                for j in 0..<visible { row[j] *= scale; maxValue = max(maxValue, row[j]) }
                var sum: Float = 0
                for j in 0..<visible { row[j] = expf(row[j] - maxValue); sum += row[j] }
                let inv = 1 / sum
                for j in 0..<visible { row[j] *= inv }
                for j in visible..<context { row[j] = 0 }
            }
            blas.sgemm(m: tokens, n: dim, k: context, a: scores, b: values + h * dim, ldb: width,
                       c: out + h * dim, ldc: width)
        }
    }

    /// Copy bandwidth in bytes/s (bytes read plus bytes written per second).
    static func copyBandwidth(bytes: Int, repeats: Int) -> Double {
        let count = bytes / MemoryLayout<Float>.stride
        let source = HostBuffer(count: count).values
        var target = [Float](repeating: 0, count: count)
        let seconds = Stopwatch.median(repeats: repeats) {
            target.withUnsafeMutableBytes { t in source.withUnsafeBytes { s in _ = memcpy(t.baseAddress!, s.baseAddress!, bytes) } }
        }
        return Double(2 * count * MemoryLayout<Float>.stride) / seconds
    }
}
