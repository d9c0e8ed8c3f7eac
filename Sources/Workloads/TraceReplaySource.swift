import SimCore

/// Replays a trace's arrival times and lengths, row by row.
///
/// Arrival times are measured from the trace's first row and divided by
/// `rateScale`: 2 replays the trace twice as fast (twice the request rate).
public final class TraceReplaySource: RequestSource {
    private let reader: TraceReader
    private let rateScale: Double
    private let limit: Int
    private var origin: Double?
    private var last = -Double.infinity
    private var produced = 0

    public init(reader: TraceReader, rateScale: Double = 1, limit: Int = .max) throws {
        guard reader.format != .lengthsCSV else {
            throw InputError(file: reader.path, "this trace has no arrival times; use it as a length distribution")
        }
        self.reader = reader
        self.rateScale = rateScale
        self.limit = limit
    }

    public func next() throws -> Request? {
        guard produced < limit, let row = try reader.next(), let t = row.timestamp else { return nil }
        guard t >= last else {
            throw InputError(file: reader.path, location: "line \(reader.linesRead)",
                             "arrival times must not decrease (found \(t) after \(last))")
        }
        last = t
        let start = origin ?? t
        origin = start
        defer { produced += 1 }
        return Request(id: produced, arrival: .seconds((t - start) / rateScale),
                       promptTokens: row.promptTokens, outputTokens: row.outputTokens, prefix: row.prefix)
    }

    /// Reads the whole trace once, so a bad row anywhere is found before any run starts.
    public func validateAll() throws {
        guard try next() != nil else { throw InputError(file: reader.path, "trace has no data rows") }
        while try next() != nil {}
    }
}
