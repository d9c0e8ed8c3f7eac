/// A point or span of simulated time, counted in integer nanoseconds.
///
/// Integer time keeps event ordering exact: two events scheduled for "the same"
/// moment compare equal on every machine, and sums never drift.
public struct SimTime: Hashable, Comparable, Sendable, BitwiseCopyable {
    public var nanoseconds: Int64

    @inlinable public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    // Computed, not stored: a stored static is reached through its lazy initializer's check.
    @inlinable public static var zero: SimTime { SimTime(nanoseconds: 0) }
    @inlinable public static var max: SimTime { SimTime(nanoseconds: .max) }

    /// Rounds to the nearest nanosecond. Durations are never negative in the
    /// model, so a negative (or NaN) input becomes zero rather than time travel,
    /// and a span beyond ~292 years saturates at `max` rather than overflowing.
    @inlinable @inline(__always) public static func seconds(_ s: Double) -> SimTime {
        guard s > 0 else { return .zero }
        let ns = s * 1e9
        guard ns < 9.2e18 else { return .max }
        // Half away from zero, as `rounded()` does, without its library call (every step times
        // itself): below 2⁶³ the conversion truncates exactly, and so does the subtraction.
        let whole = Int64(ns)
        return SimTime(nanoseconds: ns - Double(whole) >= 0.5 ? whole + 1 : whole)
    }

    @inlinable public var seconds: Double { Double(nanoseconds) * 1e-9 }

    @inlinable public static func < (a: SimTime, b: SimTime) -> Bool { a.nanoseconds < b.nanoseconds }
    /// Saturates at `max`: "never" plus a delay is still never.
    @inlinable public static func + (a: SimTime, b: SimTime) -> SimTime {
        let (sum, overflow) = a.nanoseconds.addingReportingOverflow(b.nanoseconds)
        return overflow ? .max : SimTime(nanoseconds: sum)
    }
    @inlinable public static func - (a: SimTime, b: SimTime) -> SimTime {
        SimTime(nanoseconds: a.nanoseconds &- b.nanoseconds)
    }
    @inlinable public static func += (a: inout SimTime, b: SimTime) { a = a + b }
}
