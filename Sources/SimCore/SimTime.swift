/// A point or span of simulated time, counted in integer nanoseconds.
///
/// Integer time keeps event ordering exact: two events scheduled for "the same"
/// moment compare equal on every machine, and sums never drift.
public struct SimTime: Hashable, Comparable, Sendable {
    public var nanoseconds: Int64

    @inlinable public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static let zero = SimTime(nanoseconds: 0)
    public static let max = SimTime(nanoseconds: .max)

    /// Rounds to the nearest nanosecond. Durations are never negative in the model,
    /// so a negative input is clamped to zero rather than producing time travel.
    @inlinable public static func seconds(_ s: Double) -> SimTime {
        SimTime(nanoseconds: s <= 0 ? 0 : Int64((s * 1e9).rounded()))
    }

    @inlinable public var seconds: Double { Double(nanoseconds) * 1e-9 }

    /// Exact decimal seconds ("1.5", "0.000000012"), without the binary
    /// rounding noise that printing `seconds` would show.
    public var decimalSeconds: String {
        let sign = nanoseconds < 0 ? "-" : ""
        let ns = nanoseconds.magnitude
        let whole = ns / 1_000_000_000, frac = ns % 1_000_000_000
        guard frac > 0 else { return "\(sign)\(whole)" }
        var digits = String(frac)
        digits = String(repeating: "0", count: 9 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(sign)\(whole).\(digits)"
    }

    @inlinable public static func < (a: SimTime, b: SimTime) -> Bool { a.nanoseconds < b.nanoseconds }
    @inlinable public static func + (a: SimTime, b: SimTime) -> SimTime {
        SimTime(nanoseconds: a.nanoseconds &+ b.nanoseconds)
    }
    @inlinable public static func - (a: SimTime, b: SimTime) -> SimTime {
        SimTime(nanoseconds: a.nanoseconds &- b.nanoseconds)
    }
    @inlinable public static func += (a: inout SimTime, b: SimTime) { a = a + b }
}
