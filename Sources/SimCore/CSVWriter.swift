import Foundation

/// Writes a CSV file through a byte buffer, formatting integers and times
/// digit by digit: a million-row requests.csv costs well under a second.
/// Values carry no locale, and doubles use Swift's shortest round-trip form,
/// so output is byte-stable. A failed write (disk full) is remembered and
/// thrown by `close()`, so the hot path needs no error handling.
public final class CSVWriter {
    public let path: String
    private let handle: FileHandle
    private var writeError: Error?
    private var buffer: [UInt8] = []
    private var atRowStart = true
    private let flushThreshold = 1 << 20

    public init(path: String, header: [String]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw CSVWriterError.cannotCreate(path, FileSystem.errorText()) }
        self.path = path
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        buffer.reserveCapacity(flushThreshold + 4096)
        writeRow(header)
    }

    /// A whole row of preformatted fields.
    public func writeRow(_ fields: [String]) {
        for f in fields { field(f) }
        endRow()
    }

    @inline(__always) private func separate() {
        if atRowStart { atRowStart = false } else { buffer.append(UInt8(ascii: ",")) }
    }

    /// Text, quoted (RFC 4180) when it holds a comma, a quote or a line break.
    public func field(_ text: String) {
        separate()
        if text.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13 }) {
            buffer.append(UInt8(ascii: "\""))
            for b in text.utf8 {
                if b == UInt8(ascii: "\"") { buffer.append(b) }
                buffer.append(b)
            }
            buffer.append(UInt8(ascii: "\""))
        } else {
            buffer.append(contentsOf: text.utf8)
        }
    }

    /// An empty field: a missing value, which pandas reads as NaN.
    public func emptyField() { separate() }

    public func field(_ value: Int) {
        separate()
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        appendDigits(UInt64(value.magnitude))
    }

    /// A time as exact decimal seconds ("1.5", "0.000000012").
    public func field(_ time: SimTime) {
        separate()
        let ns = time.nanoseconds
        if ns < 0 { buffer.append(UInt8(ascii: "-")) }
        appendDigits(ns.magnitude / 1_000_000_000)
        var frac = ns.magnitude % 1_000_000_000
        guard frac > 0 else { return }
        var width = 9
        while frac % 10 == 0 { frac /= 10; width -= 1 }
        // The point and the digits, leading zeros kept, formatted on the stack and appended at once.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 10) { out in
            out[0] = UInt8(ascii: ".")
            for i in stride(from: width, to: 0, by: -1) {
                out[i] = UInt8(ascii: "0") + UInt8(frac % 10)
                frac /= 10
            }
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: out[...width]))
        }
    }

    /// A number, or an empty field for NaN.
    public func field(_ value: Double) {
        separate()
        if !value.isNaN { buffer.append(contentsOf: value.description.utf8) }
    }

    public func endRow() {
        buffer.append(UInt8(ascii: "\n"))
        atRowStart = true
        if buffer.count >= flushThreshold { flush() }
    }

    /// The decimal digits of `value`, formatted on the stack from the last and appended at once
    /// (appended a byte at a time, each checked the buffer's uniqueness and room).
    private func appendDigits(_ value: UInt64) {
        if value < 10 { return buffer.append(UInt8(ascii: "0") + UInt8(value)) }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var v = value, i = 20
            while v > 0 {
                i -= 1
                digits[i] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            }
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: digits[i...]))
        }
    }

    public func flush() {
        guard !buffer.isEmpty else { return }
        if writeError == nil {
            do { try handle.write(contentsOf: buffer) } catch { writeError = error }
        }
        buffer.removeAll(keepingCapacity: true)
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
