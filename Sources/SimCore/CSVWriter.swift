import Foundation

/// Writes a CSV file through a byte buffer, formatting integers and times
/// two digits at a time: a million-row requests.csv costs well under a second.
/// Values carry no locale, and doubles use Swift's shortest round-trip form,
/// so output is byte-stable. A failed write (disk full) is remembered and
/// thrown by `close()`, so the hot path needs no error handling.
///
/// The buffer is memory the writer owns: an array checked its uniqueness and
/// room at every field, a third of the time of writing a large run's rows.
public final class CSVWriter {
    public let path: String
    private let handle: FileHandle
    private var writeError: Error?
    private var bytes: UnsafeMutablePointer<UInt8>
    private var count = 0, capacity: Int
    private var atRowStart = true
    private let flushThreshold = 1 << 20
    /// Read unchecked through pointers: static arrays cost a lazy-initialisation check and a bounds
    /// check at every read, a sixth of a large run's requests.csv.
    private let tables: DigitTables

    public init(path: String, header: [String]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw CSVWriterError.cannotCreate(path, FileSystem.errorText()) }
        self.path = path
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        capacity = flushThreshold + 4096
        bytes = .allocate(capacity: capacity)
        tables = DigitTables()
        writeRow(header)
    }

    deinit {
        bytes.deallocate()
        tables.deallocate()
    }

    /// A whole row of preformatted fields.
    public func writeRow(_ fields: [String]) {
        for f in fields { field(f) }
        endRow()
    }

    /// Room for `n` more bytes.
    @inline(__always) private func reserve(_ n: Int) {
        if count + n > capacity { grow(to: count + n) }
    }

    private func grow(to n: Int) {
        let size = max(n, 2 * capacity)
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: size)
        grown.initialize(from: bytes, count: count)
        bytes.deallocate()
        (bytes, capacity) = (grown, size)
    }

    /// Appends `b` (room reserved).
    @inline(__always) private func put(_ b: UInt8) {
        bytes[count] = b
        count += 1
    }

    /// The separator before a field (room for it and `n` more bytes reserved).
    @inline(__always) private func separate(reserving n: Int) {
        reserve(n + 1)
        if atRowStart { atRowStart = false } else { put(UInt8(ascii: ",")) }
    }

    /// Whether a field holding `byte` is quoted (RFC 4180): a comma, a quote or a line break.
    @inline(__always) private static func needsQuotes(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\"") || byte == 10 || byte == 13
    }

    /// Text, quoted (RFC 4180) when it holds a comma, a quote or a line break.
    public func field(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            if !utf8.contains(where: Self.needsQuotes) {
                return field(ascii: utf8)
            }
            separate(reserving: 2 * utf8.count + 2)
            put(UInt8(ascii: "\""))
            for b in utf8 {
                if b == UInt8(ascii: "\"") { put(b) }
                put(b)
            }
            put(UInt8(ascii: "\""))
        }
    }

    /// An empty field: a missing value, which pandas reads as NaN.
    public func emptyField() { separate(reserving: 0) }

    public func field(_ value: Int) {
        separate(reserving: 20)
        if value < 0 { put(UInt8(ascii: "-")) }
        let magnitude = UInt64(value.magnitude)
        putDigits(magnitude, count: decimalDigits(magnitude))
    }

    /// A time as exact decimal seconds ("1.5", "0.000000012").
    public func field(_ time: SimTime) {
        separate(reserving: 31)
        let ns = time.nanoseconds
        if ns < 0 { put(UInt8(ascii: "-")) }
        let seconds = ns.magnitude / 1_000_000_000, frac = ns.magnitude % 1_000_000_000
        putDigits(seconds, count: decimalDigits(seconds))
        guard frac > 0 else { return }
        // The point and all nine digits, then the trailing zeros taken back (a digit is not zero).
        put(UInt8(ascii: "."))
        putDigits(frac, count: 9)
        while bytes[count - 1] == UInt8(ascii: "0") { count -= 1 }
    }

    /// A number, or an empty field for NaN: Swift's shortest round-trip form, which `Double` hands
    /// to a stream as ASCII (see `_writeASCII`), where `description` built a string per number.
    public func field(_ value: Double) {
        separate(reserving: 0)
        guard !value.isNaN else { return }
        var stream = FieldStream(writer: self)
        value.write(to: &stream)
    }

    /// What `Double.write(to:)` writes through: the field begun (a number needs no quotes).
    private struct FieldStream: TextOutputStream {
        let writer: CSVWriter
        mutating func write(_ string: String) {
            var string = string
            string.withUTF8 { writer.append(ascii: $0) }
        }
        mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) { writer.append(ascii: buffer) }
    }

    /// Text known to need no quotes (no comma, quote or line break: checked in debug builds).
    public func field(plain text: StaticString) {
        let ascii = UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        assert(!ascii.contains(where: Self.needsQuotes))
        field(ascii: ascii)
    }

    /// Text that needs no quotes (no comma, quote or line break).
    private func field(ascii: UnsafeBufferPointer<UInt8>) {
        separate(reserving: 0)
        append(ascii: ascii)
    }

    /// Appends `ascii` to the field begun.
    private func append(ascii: UnsafeBufferPointer<UInt8>) {
        reserve(ascii.count)
        if let text = ascii.baseAddress { (bytes + count).initialize(from: text, count: ascii.count) }
        count += ascii.count
    }

    public func endRow() {
        reserve(1)
        put(UInt8(ascii: "\n"))
        atRowStart = true
        if count >= flushThreshold { flush() }
    }

    /// The last `digits` decimal digits of `value` (leading zeros where it has fewer), two at a
    /// time from the last (room reserved). A division per digit, and a count of them, had cost
    /// as much as the rest of a large run's requests.csv.
    @inline(__always) private func putDigits(_ value: UInt64, count digits: Int) {
        var v = value, at = bytes + count + digits, left = digits
        while left >= 2 {
            let (q, r) = v.quotientAndRemainder(dividingBy: 100)
            at -= 2
            UnsafeMutableRawPointer(at).storeBytes(of: tables.digitPairs[Int(r)], as: UInt16.self)
            v = q
            left -= 2
        }
        if left == 1 { (at - 1).pointee = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: v % 10) }
        count += digits
    }

    /// How many decimal digits `v` has (one for zero): from its bit length, as log₁₀ 2 ≈ 1233 / 4096
    /// gives the count or one less, and a power of ten tells which.
    @inline(__always) private func decimalDigits(_ v: UInt64) -> Int {
        let guess = ((64 - (v | 1).leadingZeroBitCount) * 1233) >> 12
        return guess + (v | 1 >= tables.powersOfTen[guess] ? 1 : 0)
    }

    public func flush() {
        guard count > 0 else { return }
        if writeError == nil {
            do { try handle.write(contentsOf: UnsafeRawBufferPointer(start: bytes, count: count)) } catch { writeError = error }
        }
        count = 0
    }

    /// Writes what is buffered and closes the file; throws the first failed write.
    public func close() throws {
        flush()
        // Some file systems report a full disk only when the data reaches it.
        if writeError == nil {
            do { try handle.synchronize() } catch { writeError = error }
        }
        try? handle.close()
        if let writeError { throw CSVWriterError.writeFailed(path, FileSystem.describe(writeError)) }
    }
}

/// What formatting numbers reads: "00" … "99" (two bytes each, as they lie in memory) and 10⁰ … 10¹⁹.
private struct DigitTables {
    let digitPairs: UnsafeMutablePointer<UInt16> = .allocate(capacity: 100)
    let powersOfTen: UnsafeMutablePointer<UInt64> = .allocate(capacity: 20)

    init() {
        for n in 0..<100 {
            let tens = UInt16(UInt8(ascii: "0") + UInt8(n / 10)), ones = UInt16(UInt8(ascii: "0") + UInt8(n % 10))
            digitPairs[n] = UInt16(littleEndian: tens | ones << 8)
        }
        var p: UInt64 = 1
        for k in 0..<20 { powersOfTen[k] = p; if k < 19 { p *= 10 } }
    }

    func deallocate() {
        digitPairs.deallocate()
        powersOfTen.deallocate()
    }
}

public enum CSVWriterError: Error, CustomStringConvertible {
    case cannotCreate(String, String)
    case writeFailed(String, String)
    public var description: String {
        switch self {
        case .cannotCreate(let path, let why): "\(path): cannot create file (\(why))"
        case .writeFailed(let path, let why): "\(path): write failed (\(why))"
        }
    }

    public var path: String {
        switch self {
        case .cannotCreate(let path, _), .writeFailed(let path, _): path
        }
    }

    /// The message without the path: "write failed (No space left on device)".
    public var reason: String {
        switch self {
        case .cannotCreate(_, let why): "cannot create file (\(why))"
        case .writeFailed(_, let why): "write failed (\(why))"
        }
    }
}
