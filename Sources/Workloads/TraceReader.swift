import Foundation
import SimCore

/// One row of a request trace.
public struct TraceRow: Sendable, Equatable {
    /// Seconds on the trace's own clock (nil for length-only files).
    public let timestamp: Double?
    public let promptTokens: Int
    public let outputTokens: Int
    /// What the prompt shares with others (Mooncake's `hash_ids`, or the earlier turns of its
    /// session); empty when the trace does not say.
    public var prefix: [PrefixSegment] = []

    public init(timestamp: Double?, promptTokens: Int, outputTokens: Int, prefix: [PrefixSegment] = []) {
        self.timestamp = timestamp
        self.promptTokens = promptTokens
        self.outputTokens = outputTokens
        self.prefix = prefix
    }
}

/// The trace layouts the simulator reads (see ../shared/data/SOURCES.md).
public enum TraceFormat: String, Sendable, CaseIterable {
    /// Azure LLM inference trace CSV: `TIMESTAMP,ContextTokens,GeneratedTokens`,
    /// timestamps like `2023-11-16 18:17:03.9799600`.
    case azure
    /// Mooncake JSONL: `timestamp` (ms), `input_length`, `output_length`, `hash_ids`.
    case mooncake
    /// Processed CSV: `arrived_at` (s), `num_prefill_tokens`, `num_decode_tokens`.
    case timedCSV = "arrived_at_csv"
    /// Lengths only: prompt and output columns (`num_prefill_tokens`/`num_decode_tokens`,
    /// `prompt_tokens`/`output_tokens` or `input_length`/`output_length`).
    case lengthsCSV = "lengths_csv"
}

/// Reads a trace row by row, streaming, and reports a bad row by file and line.
public final class TraceReader {
    public let path: String
    public let format: TraceFormat
    private let lines: LineReader
    private var pending: String?
    private var columns: (time: Int?, prompt: Int, output: Int, session: Int?) = (nil, 0, 1, nil)
    private var columnCount = 0
    /// Conversations, when a CSV trace has a session column (`session_id`, `conversation_id` or
    /// `chat_id`): each turn's prompt begins with the exchange so far.
    private var sessions = ConversationSessions()

    /// Lines read so far, the header included.
    public var linesRead: Int { lines.lineNumber }

    /// Opens `path`, detecting the format from its first line unless `format` is given.
    public init(path: String, format: TraceFormat? = nil) throws {
        self.path = path
        lines = try LineReader(path: path)
        guard let first = try lines.next() else { throw InputError(file: path, "trace file is empty") }
        let detected = try Self.detect(first, path: path)
        if let format, format != detected.format {
            throw InputError(file: path, location: "line 1",
                             "expected a \(format.rawValue) trace, but the first line looks like \(detected.format.rawValue)")
        }
        self.format = detected.format
        if detected.format == .mooncake {
            pending = first
        } else {
            columns = detected.columns
            columnCount = first.split(separator: ",", omittingEmptySubsequences: false).count
        }
    }

    private static func detect(_ first: String, path: String)
        throws -> (format: TraceFormat, columns: (time: Int?, prompt: Int, output: Int, session: Int?)) {
        if first.hasPrefix("{") { return (.mooncake, (nil, 0, 0, nil)) }
        let header = first.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " \"")) }
        func column(_ names: String...) -> Int? { header.firstIndex { names.contains($0) } }
        let session = column("session_id", "conversation_id", "chat_id")
        if let t = column("TIMESTAMP"), let p = column("ContextTokens"), let o = column("GeneratedTokens") {
            return (.azure, (t, p, o, session))
        }
        let p = column("num_prefill_tokens", "prompt_tokens", "input_length")
        let o = column("num_decode_tokens", "output_tokens", "output_length")
        if let p, let o {
            if let t = column("arrived_at") { return (.timedCSV, (t, p, o, session)) }
            return (.lengthsCSV, (nil, p, o, session))
        }
        throw InputError(file: path, location: "line 1",
                         "unrecognised trace header; expected Azure (TIMESTAMP,ContextTokens,GeneratedTokens), "
                         + "arrived_at,num_prefill_tokens,num_decode_tokens, prompt/output token columns, "
                         + "or Mooncake JSONL")
    }

    /// The next row, or nil at the end of the file. Blank lines are skipped.
    public func next() throws -> TraceRow? {
        while true {
            let line: String
            if let p = pending { line = p; pending = nil } else {
                guard let l = try lines.next() else { return nil }
                line = l
            }
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            return try parse(line)
        }
    }

    /// Every remaining row (for length distributions, which need them all).
    public func readAll() throws -> [TraceRow] {
        var rows: [TraceRow] = []
        while let r = try next() { rows.append(r) }
        if rows.isEmpty { throw InputError(file: path, "trace has no data rows") }
        return rows
    }

    private func fail(_ message: String) -> InputError {
        InputError(file: path, location: "line \(lines.lineNumber)", message)
    }

    private func parse(_ line: String) throws -> TraceRow {
        if format == .mooncake {
            guard line.hasPrefix("{"), line.hasSuffix("}") else { throw fail("expected one JSON object per line") }
            let ms = try jsonNumber(line, "timestamp")
            var r = try row(timestamp: ms / 1000, prompt: jsonNumber(line, "input_length"),
                            output: jsonNumber(line, "output_length"))
            r.prefix = try hashBlocks(line, promptTokens: r.promptTokens)
            return r
        }
        let fields = line.split(separator: ",", omittingEmptySubsequences: false)
        guard fields.count == columnCount else {
            throw fail("expected \(columnCount) comma-separated fields, found \(fields.count)")
        }
        var time: Double?
        if let t = columns.time {
            let text = fields[t].trimmingCharacters(in: .whitespaces)
            if format == .azure {
                guard let s = Self.azureSeconds(text) else {
                    throw fail("expected a timestamp like 2023-11-16 18:17:03.9799600, found '\(text)'")
                }
                time = s
            } else {
                guard let s = Double(text), s.isFinite, s >= 0 else {
                    throw fail("expected a non-negative arrival time in seconds, found '\(text)'")
                }
                time = s
            }
        }
        func number(_ i: Int, _ name: String) throws -> Double {
            let text = fields[i].trimmingCharacters(in: .whitespaces)
            guard let v = Double(text) else { throw fail("expected a token count in column \(name), found '\(text)'") }
            return v
        }
        var r = try row(timestamp: time, prompt: number(columns.prompt, "prompt"), output: number(columns.output, "output"))
        if let s = columns.session {
            let id = fields[s].trimmingCharacters(in: CharacterSet(charactersIn: " \""))
            if !id.isEmpty { r.prefix = sessions.nextTurn(of: id, promptTokens: r.promptTokens, outputTokens: r.outputTokens) }
        }
        return r
    }

    private func row(timestamp: Double?, prompt: Double, output: Double) throws -> TraceRow {
        guard prompt >= 1, prompt == prompt.rounded(), prompt < 1e9 else {
            throw fail("expected a whole prompt token count of at least 1, found \(prompt)")
        }
        guard output >= 1, output == output.rounded(), output < 1e9 else {
            throw fail("expected a whole output token count of at least 1, found \(output)")
        }
        return TraceRow(timestamp: timestamp, promptTokens: Int(prompt), outputTokens: Int(output))
    }

    /// Mooncake's `hash_ids`: one id per 512-token block of the prompt, equal ids for equal
    /// prefixes; the last block holds the rest of the prompt. None when the line has no such field.
    private func hashBlocks(_ line: String, promptTokens: Int) throws -> [PrefixSegment] {
        guard let k = line.range(of: "\"hash_ids\"") else { return [] }
        let rest = line[k.upperBound...].drop { $0 == " " || $0 == ":" }
        guard rest.first == "[", let close = rest.firstIndex(of: "]") else { throw fail("hash_ids: expected a list of ids") }
        let ids = try rest[rest.index(after: rest.startIndex)..<close].split(separator: ",").map { text -> UInt64 in
            guard let id = UInt64(text.trimmingCharacters(in: .whitespaces)) else {
                throw fail("hash_ids: expected whole numbers ≥ 0, found '\(text)'")
            }
            return id
        }
        guard !ids.isEmpty else { return [] }
        let block = Self.mooncakeBlockTokens
        let last = promptTokens - block * (ids.count - 1)
        guard (1...block).contains(last) else {
            throw fail("hash_ids: expected one id per \(block) prompt tokens (\((promptTokens + block - 1) / block) for "
                       + "\(promptTokens) tokens), found \(ids.count)")
        }
        return ids.enumerated().map { i, id in
            PrefixSegment(id: StableHash.mix(id ^ 0x6d6f_6f6e), tokens: i == ids.count - 1 ? last : block)
        }
    }

    /// Tokens per Mooncake hash id (the trace's README: 512-token blocks).
    static let mooncakeBlockTokens = 512

    /// The number after `"key":` in a flat JSON object.
    private func jsonNumber(_ line: String, _ key: String) throws -> Double {
        guard let k = line.range(of: "\"\(key)\"") else { throw fail("missing field \"\(key)\"") }
        var rest = line[k.upperBound...].drop { $0 == " " }
        guard rest.first == ":" else { throw fail("expected ':' after \"\(key)\"") }
        rest = rest.dropFirst().drop { $0 == " " }
        let text = rest.prefix { $0.isNumber || $0 == "." || $0 == "-" || $0 == "e" || $0 == "E" || $0 == "+" }
        guard let v = Double(text), v.isFinite, v >= 0 else {
            throw fail("expected a non-negative number for \"\(key)\"")
        }
        return v
    }

    /// Seconds since 1970-01-01 for `YYYY-MM-DD HH:MM:SS[.fraction]` (UTC, no zone).
    static func azureSeconds(_ text: String) -> Double? {
        let parts = text.split(separator: " ")
        guard parts.count == 2 else { return nil }
        let date = parts[0].split(separator: "-").compactMap { Int($0) }
        let clock = parts[1].split(separator: ":")
        guard date.count == 3, (1...9999).contains(date[0]), clock.count == 3, let h = Int(clock[0]), let m = Int(clock[1]),
              let s = Double(clock[2]), (1...12).contains(date[1]), (1...31).contains(date[2]),
              (0..<24).contains(h), (0..<60).contains(m), s >= 0, s < 61
        else { return nil }
        return Double(daysFromCivil(date[0], date[1], date[2])) * 86400 + Double(h * 3600 + m * 60) + s
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
}
