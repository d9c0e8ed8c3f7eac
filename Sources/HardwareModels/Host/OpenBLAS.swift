import Foundation
import SimCore

/// Debian's OpenBLAS, loaded at run time with dlopen.
///
/// Loading it late, rather than linking it, keeps GSL's reference CBLAS from
/// silently standing in for `cblas_sgemm` (both export it; link order decides),
/// and lets us choose OpenBLAS's kernel set before it initialises: Debian's
/// 0.3.21 does not recognise recent CPUs and falls back to generic SSE3
/// kernels about 5× slower (shared/notes/swift-stack.md §7).
public final class OpenBLAS: @unchecked Sendable {
    private typealias SGEMM = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Float,
                                              UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32,
                                              Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    private typealias SetThreads = @convention(c) (Int32) -> Void
    private typealias CoreName = @convention(c) () -> UnsafeMutablePointer<CChar>?

    private let sgemmFunction: SGEMM
    /// The kernel set OpenBLAS chose (for example "SkylakeX", "Haswell").
    public let coreName: String
    public let threads: Int

    /// Sets OPENBLAS_CORETYPE to AVX-512 or AVX2 kernels when the CPU has them and it is not set,
    /// once per process. Changing the environment races any thread reading it (Foundation's
    /// Process.run copies it): a program that starts processes settles this first.
    public static let environmentPrepared: Void = {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil else { return }
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        if flags.contains(" avx512f") { setenv("OPENBLAS_CORETYPE", "SkylakeX", 1) }
        else if flags.contains(" avx2") { setenv("OPENBLAS_CORETYPE", "Haswell", 1) }
    }()

    /// Loads libopenblas, picking AVX-512 or AVX2 kernels when the CPU has them
    /// and OPENBLAS_CORETYPE is not already set.
    public init(threads: Int) throws {
        OpenBLAS.environmentPrepared
        guard let lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL) else {
            throw InputError(file: "libopenblas.so.0",
                             "cannot load OpenBLAS (install Debian's libopenblas0-pthread): \(String(cString: dlerror()))")
        }
        func symbol<T>(_ name: String, _: T.Type) throws -> T {
            guard let p = dlsym(lib, name) else { throw InputError(file: "libopenblas.so.0", "missing symbol \(name)") }
            return unsafeBitCast(p, to: T.self)
        }
        sgemmFunction = try symbol("cblas_sgemm", SGEMM.self)
        try symbol("openblas_set_num_threads", SetThreads.self)(Int32(threads))
        coreName = (try symbol("openblas_get_corename", CoreName.self)()).map { String(cString: $0) } ?? "unknown"
        self.threads = threads
    }

    /// C (m×n) = A (m×k) · B, row-major; B is k×n, or n×k when `transposeB`.
    /// Leading dimensions (row strides) default to dense matrices; larger ones
    /// address a block of columns in place, such as one attention head.
    public func sgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int? = nil,
                      b: UnsafePointer<Float>, ldb: Int? = nil, transposeB: Bool = false,
                      c: UnsafeMutablePointer<Float>, ldc: Int? = nil, accumulate: Bool = false) {
        let rowMajor: Int32 = 101, noTrans: Int32 = 111, trans: Int32 = 112
        sgemmFunction(rowMajor, noTrans, transposeB ? trans : noTrans, Int32(m), Int32(n), Int32(k), 1,
                      a, Int32(lda ?? k), b, Int32(ldb ?? (transposeB ? k : n)), accumulate ? 1 : 0, c, Int32(ldc ?? n))
    }
}
