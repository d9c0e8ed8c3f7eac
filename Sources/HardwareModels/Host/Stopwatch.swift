import Foundation

/// Wall-clock timing of real kernels (calibration only; never inside a simulation).
enum Stopwatch {
    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// The median of `repeats` timed runs after one warm-up, in seconds.
    static func median(repeats: Int, _ body: () -> Void) -> Double {
        body()
        var times: [Double] = []
        for _ in 0..<max(1, repeats) {
            let start = now()
            body()
            times.append(Double(now() - start) * 1e-9)
        }
        times.sort()
        return times[times.count / 2]
    }
}
