import Foundation

/// A JSON document read strictly, for files people write by hand.
///
/// Foundation's reader keeps the last of two equal keys, turns `1e309` into an
/// error without a place, and reports syntax errors as a character offset.
/// This one refuses duplicate keys and numbers beyond a Double, and names the
/// line, the column and the field of every problem. Objects keep their keys in
/// file order; `canonicalText` writes them sorted, so equal content gives equal
/// text (what sweeps hash to recognise a run).
public indirect enum JSONValue: Equatable, Sendable {
    case object([Member])
    case array([JSONValue])
    case string(String)
    /// A number in canonical form: integers as digits, other values as Swift's
    /// shortest round-trip text (`1e3` and `1000.0` both read as `1000`).
    case number(String)
    case bool(Bool)
    case null

    public struct Member: Equatable, Sendable {
        public var key: String
        public var value: JSONValue
        public init(_ key: String, _ value: JSONValue) { self.key = key; self.value = value }
    }

    /// Reads a whole document: one value of any kind, with nothing after it but white space.
    public static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        var p = JSONParser(bytes)
        return try p.document()
    }

    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue { try parse(Array(text.utf8)) }

    // MARK: Reading values

    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    public var members: [Member]? { if case .object(let m) = self { m } else { nil } }
    public var elements: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var double: Double? { if case .number(let t) = self { Double(t) } else { nil } }
    /// The number when it is a whole number within Int64, else nil.
    public var int64: Int64? { if case .number(let t) = self { Int64(t) } else { nil } }
    public var uint64: UInt64? { if case .number(let t) = self { UInt64(t) } else { nil } }
    /// The number when it is a whole number from `range`, else nil.
    public func integer(in range: ClosedRange<Int>) -> Int? {
        guard let v = int64, v >= Int64(range.lowerBound), v <= Int64(range.upperBound) else { return nil }
        return Int(v)
    }

    /// "a string", "a number", …: for messages that say what was found.
    public var kindName: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "true or false"
        case .null: "null"
        }
    }

    /// The value as it would stand in a file, shortened for messages.
    public var shortText: String {
        let text = canonicalText
        return text.count <= 40 ? text : String(text.prefix(37)) + "..."
    }

    /// Compact JSON with object keys sorted.
    public var canonicalText: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .object(let members):
            out += "{"
            for (i, m) in members.sorted(by: { $0.key < $1.key }).enumerated() {
                if i > 0 { out += "," }
                Self.quote(m.key, into: &out)
                out += ":"
                m.value.write(to: &out)
            }
            out += "}"
        case .array(let elements):
            out += "["
            for (i, e) in elements.enumerated() {
                if i > 0 { out += "," }
                e.write(to: &out)
            }
            out += "]"
        case .string(let s): Self.quote(s, into: &out)
        case .number(let t): out += t
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        }
    }

    private static func quote(_ s: String, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        out += "\""
    }

    /// A number, rounded to 12 significant digits so that unit conversions
    /// (0.0042 s → 4.2 ms) read as written.
    public static func number(_ x: Double) -> JSONValue {
        .number(canonicalNumber(String(format: "%.12g", x)) ?? "0")
    }

    /// Indented JSON with keys in their given order; arrays of plain values stay on one line.
    public var prettyText: String {
        var out = ""
        pretty(into: &out, indent: "")
        return out
    }

    private func pretty(into out: inout String, indent: String) {
        let inner = indent + "  "
        switch self {
        case .object(let members) where !members.isEmpty:
            out += "{\n"
            for (i, m) in members.enumerated() {
                out += inner
                Self.quote(m.key, into: &out)
                out += ": "
                m.value.pretty(into: &out, indent: inner)
                out += i + 1 < members.count ? ",\n" : "\n"
            }
            out += indent + "}"
        case .array(let elements) where elements.contains(where: { $0.members != nil || $0.elements != nil }):
            out += "[\n"
            for (i, e) in elements.enumerated() {
                out += inner
                e.pretty(into: &out, indent: inner)
                out += i + 1 < elements.count ? ",\n" : "\n"
            }
            out += indent + "]"
        case .array(let elements):
            out += "[" + elements.map(\.canonicalText).joined(separator: ", ") + "]"
        default:
            out += canonicalText
        }
    }

    /// The canonical text of a number literal, or nil when it is beyond a Double.
    static func canonicalNumber(_ literal: String) -> String? {
        if let i = Int64(literal) { return String(i) }
        if let u = UInt64(literal) { return String(u) }
        guard let d = Double(literal), d.isFinite else { return nil }
        if d == d.rounded(), abs(d) < 9.2e18 { return String(Int64(d)) }
        return d.description
    }
}

/// Where and why a JSON document could not be read.
public struct JSONParseError: Error, Equatable, Sendable {
    public let line: Int
    public let column: Int
    /// The field being read, dotted (`workload.arrivals.rate`, `instances[0].gpu`); empty at the top.
    public let path: String
    public let message: String

    /// "line 3, column 14" or "workload.arrivals.rate (line 3, column 14)".
    public var location: String {
        path.isEmpty ? "line \(line), column \(column)" : "\(path) (line \(line), column \(column))"
    }
}

/// A recursive-descent reader over UTF-8 bytes (RFC 8259), tracking the field path for messages.
struct JSONParser {
    private let bytes: [UInt8]
    private var i = 0
    private var path: [String] = []
    private var depth = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        // A UTF-8 byte-order mark is allowed and skipped.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
    }

    mutating func document() throws(JSONParseError) -> JSONValue {
        skipSpace()
        guard i < bytes.count else { throw fail("expected a JSON value, found an empty file") }
        let v = try value()
        skipSpace()
        guard i == bytes.count else { throw fail("expected the end of the document, found \(found())") }
        return v
    }

    private func fail(_ message: String, at position: Int? = nil) -> JSONParseError {
        let end = min(position ?? i, bytes.count)
        var line = 1, lineStart = 0
        for k in 0..<end where bytes[k] == UInt8(ascii: "\n") { line += 1; lineStart = k + 1 }
        // Columns count characters, not bytes: skip UTF-8 continuation bytes.
        let column = bytes[lineStart..<end].filter { $0 & 0xC0 != 0x80 }.count + 1
        var shown = ""
        for c in path { shown += c.hasPrefix("[") || shown.isEmpty ? c : "." + c }
        return JSONParseError(line: line, column: column, path: shown, message: message)
    }

    private func found() -> String {
        guard i < bytes.count else { return "the end of the file" }
        let b = bytes[i]
        return b >= 0x20 && b < 0x7F ? "'\(Character(UnicodeScalar(b)))'" : "byte 0x\(String(b, radix: 16))"
    }

    private mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
    }

    private mutating func value() throws(JSONParseError) -> JSONValue {
        guard i < bytes.count else { throw fail("expected a value, found the end of the file") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail("expected a value, found \(found())")
        }
    }

    private mutating func nest() throws(JSONParseError) {
        depth += 1
        guard depth <= 128 else { throw fail("nested more than 128 levels deep") }
    }

    private mutating func object() throws(JSONParseError) -> JSONValue {
        try nest()
        i += 1
        var members: [JSONValue.Member] = []
        var seen = Set<String>()
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; depth -= 1; return .object([]) }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else {
                throw fail("expected a field name in double quotes, found \(found())")
            }
            let keyStart = i
            let key = try string()
            guard seen.insert(key).inserted else {
                path.append(key)
                throw fail("duplicate field (it appears earlier in the same object)", at: keyStart)
            }
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':' after \"\(key)\", found \(found())") }
            i += 1
            skipSpace()
            path.append(key)
            members.append(.init(key, try value()))
            path.removeLast()
            skipSpace()
            guard i < bytes.count else { throw fail("expected ',' or '}', found the end of the file") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; depth -= 1; return .object(members) }
            throw fail("expected ',' or '}', found \(found())")
        }
    }

    private mutating func array() throws(JSONParseError) -> JSONValue {
        try nest()
        i += 1
        var elements: [JSONValue] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; depth -= 1; return .array([]) }
        while true {
            skipSpace()
            path.append("[\(elements.count)]")
            elements.append(try value())
            path.removeLast()
            skipSpace()
            guard i < bytes.count else { throw fail("expected ',' or ']', found the end of the file") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; depth -= 1; return .array(elements) }
            throw fail("expected ',' or ']', found \(found())")
        }
    }

    private mutating func literal(_ word: String) throws(JSONParseError) {
        let w = Array(word.utf8)
        guard bytes[i...].starts(with: w) else { throw fail("expected a value, found \(found())") }
        i += w.count
    }

    private mutating func number() throws(JSONParseError) -> JSONValue {
        let start = i
        func digits() -> Int {
            let s = i
            while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
            return i - s
        }
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        let intStart = i
        guard digits() > 0 else { throw fail("expected digits after '-'") }
        if bytes[intStart] == UInt8(ascii: "0"), i - intStart > 1 {
            throw fail("a number may not start with 0 (found a leading zero)", at: start)
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { throw fail("expected digits after the decimal point") }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw fail("expected digits in the exponent") }
        }
        let literal = String(decoding: bytes[start..<i], as: UTF8.self)
        guard let canonical = JSONValue.canonicalNumber(literal) else {
            throw fail("the number \(literal) is beyond the range of a double (about ±1.8e308)", at: start)
        }
        return .number(canonical)
    }

    private mutating func string() throws(JSONParseError) -> String {
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw fail("unterminated string (no closing '\"')") }
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { i += 1; break }
            guard b >= 0x20 else { throw fail("a control character (byte 0x\(String(b, radix: 16))) inside a string; write it as an escape") }
            guard b == UInt8(ascii: "\\") else { out.append(b); i += 1; continue }
            i += 1
            guard i < bytes.count else { throw fail("unterminated string (no closing '\"')") }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard bytes[i...].starts(with: [UInt8(ascii: "\\"), UInt8(ascii: "u")]) else {
                        throw fail("expected the second half of a UTF-16 surrogate pair")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("invalid UTF-16 surrogate pair") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape (a lone surrogate)") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default:
                throw fail("unknown escape '\\\(Character(UnicodeScalar(e)))' in a string", at: i - 2)
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw fail("a string that is not valid UTF-8") }
        return s
    }

    private mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard i + 4 <= bytes.count, bytes[i..<i + 4].allSatisfy({ Character(UnicodeScalar($0)).isHexDigit }),
              let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else {
            throw fail("expected four hex digits after \\u")
        }
        i += 4
        return v
    }
}

extension JSONValue {
    /// Reads and parses a JSON file a person wrote; every problem is one InputError
    /// naming the file and the field or line and column.
    public static func read(file path: String, what: String) throws -> JSONValue {
        switch FileSystem.kind(of: path) {
        case .missing: throw InputError(file: path, "cannot read \(what) (no such file)")
        case .directory: throw InputError(file: path, "is a folder; expected the \(what)")
        default: break
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, "cannot read \(what) (\(FileSystem.errorText()))")
        }
        do { return try parse([UInt8](data)) } catch {
            throw InputError(file: path, location: error.location, "malformed JSON: \(error.message)")
        }
    }
}
