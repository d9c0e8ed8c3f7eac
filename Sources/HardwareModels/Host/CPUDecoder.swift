import Foundation

/// A real decoder-only transformer forward pass on the CPU: random FP32
/// weights, OpenBLAS GEMMs, causal attention, RMSNorm, a SwiGLU MLP and the
/// output projection — the operators CostModel prices, run for real so the
/// simulator's prediction can be checked against a stopwatch.
final class CPUDecoder {
    let shape: ModelArchitecture
    private let kernels: HostKernels
    private var layers: [(qkv: [Float], o: [Float], up: [Float], down: [Float])] = []
    private let vocab: [Float]

    init(shape: ModelArchitecture, kernels: HostKernels) {
        precondition(shape.kvHeads == shape.heads && shape.gatedMLP && shape.experts == 1)
        self.shape = shape
        self.kernels = kernels
        let h = shape.hidden, f = shape.ffn
        for l in 0..<shape.layers {
            let s = UInt32(l * 4 + 1)
            layers.append((HostBuffer(count: h * 3 * h, seed: s).values, HostBuffer(count: h * h, seed: s + 1).values,
                           HostBuffer(count: h * 2 * f, seed: s + 2).values, HostBuffer(count: f * h, seed: s + 3).values))
        }
        vocab = HostBuffer(count: h * shape.vocabulary, seed: 999).values
    }

    /// Seconds for one forward pass over `batch` sequences that each add
    /// `tokens` new tokens after `cached` tokens already in their KV cache
    /// (prefill: cached 0; decode: tokens 1). Median of `repeats` runs.
    func time(batch: Int, tokens: Int, cached: Int, repeats: Int) -> Double {
        let h = shape.hidden, f = shape.ffn, heads = shape.heads, dim = shape.headDim
        let t = batch * tokens, context = cached + tokens
        var x = HostBuffer(count: t * h, seed: 7).values
        var normed = [Float](repeating: 0, count: t * h)
        var qkv = [Float](repeating: 0, count: t * 3 * h)
        var attn = [Float](repeating: 0, count: t * h)
        var up = [Float](repeating: 0, count: t * 2 * f)
        var act = [Float](repeating: 0, count: t * f)
        var last = [Float](repeating: 0, count: batch * h)
        var logits = [Float](repeating: 0, count: batch * shape.vocabulary)
        // Each sequence's cache: earlier tokens' K and V, then this pass's.
        var keys = [[Float]](repeating: HostBuffer(count: context * h, seed: 11).values, count: batch)
        var values = [[Float]](repeating: HostBuffer(count: context * h, seed: 12).values, count: batch)
        var scores = [Float](repeating: 0, count: tokens * context)
        let blas = kernels.blas

        return Stopwatch.median(repeats: repeats) {
            for layer in layers {
                Self.rmsNorm(x, into: &normed, width: h)
                blas.sgemm(m: t, n: 3 * h, k: h, a: normed, b: layer.qkv, c: &qkv)
                for s in 0..<batch {
                    // Append this pass's K and V to the sequence's cache, then attend.
                    for i in 0..<tokens {
                        let row = (s * tokens + i) * 3 * h
                        for d in 0..<h {
                            keys[s][(cached + i) * h + d] = qkv[row + h + d]
                            values[s][(cached + i) * h + d] = qkv[row + 2 * h + d]
                        }
                    }
                    attn.withUnsafeMutableBufferPointer { out in
                        qkv.withUnsafeBufferPointer { all in
                            kernels.attention(q: all.baseAddress! + s * tokens * 3 * h, qStride: 3 * h,
                                              keys: keys[s], values: values[s], tokens: tokens, context: context,
                                              heads: heads, dim: dim, out: out.baseAddress! + s * tokens * h,
                                              scores: &scores)
                        }
                    }
                }
                blas.sgemm(m: t, n: h, k: h, a: attn, b: layer.o, c: &x, accumulate: true)
                Self.rmsNorm(x, into: &normed, width: h)
                blas.sgemm(m: t, n: 2 * f, k: h, a: normed, b: layer.up, c: &up)
                Self.swiGLU(up, into: &act, width: f)
                blas.sgemm(m: t, n: h, k: f, a: act, b: layer.down, c: &x, accumulate: true)
            }
            // Output projection for each sequence's last token.
            for s in 0..<batch { for d in 0..<h { last[s * h + d] = x[((s + 1) * tokens - 1) * h + d] } }
            blas.sgemm(m: batch, n: shape.vocabulary, k: h, a: last, b: vocab, c: &logits)
        }
    }

    /// act = silu(gate) · up, where each row of `up` holds gate then up.
    static func swiGLU(_ up: [Float], into act: inout [Float], width f: Int) {
        let rows = act.count / f
        for i in 0..<rows {
            for j in 0..<f {
                let g = up[i * 2 * f + j]
                act[i * f + j] = g / (1 + expf(-g)) * up[i * 2 * f + f + j]
            }
        }
    }

    /// Seconds of one layer's elementwise work for `tokens` tokens (two norms
    /// and the activation; the residual adds ride on the GEMMs' accumulate).
    func timeElementwise(tokens t: Int, repeats: Int) -> Double {
        let h = shape.hidden, f = shape.ffn
        let x = HostBuffer(count: t * h).values, up = HostBuffer(count: t * 2 * f).values
        var normed = [Float](repeating: 0, count: t * h), act = [Float](repeating: 0, count: t * f)
        return Stopwatch.median(repeats: repeats) {
            Self.rmsNorm(x, into: &normed, width: h)
            Self.rmsNorm(x, into: &normed, width: h)
            Self.swiGLU(up, into: &act, width: f)
        }
    }

    static func rmsNorm(_ x: [Float], into out: inout [Float], width: Int) {
        let rows = x.count / width
        for r in 0..<rows {
            var sum: Float = 0
            for d in 0..<width { sum += x[r * width + d] * x[r * width + d] }
            let scale = 1 / (sum / Float(width) + 1e-6).squareRoot()
            for d in 0..<width { out[r * width + d] = x[r * width + d] * scale }
        }
    }
}
