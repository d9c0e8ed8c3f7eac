import Foundation

/// Writes a CSV file through a byte buffer, formatting integers and times
/// digit by digit: a million-row requests.csv costs well under a second.
/// Values carry no locale, and doubles use Swift's shortest round-trip form,
/// so output is byte-stable.
public final class CSVWriter {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var atRowStart = true
    private let flushThreshold = 1 << 20

    public init(path: String, header: [String]) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path)
        else { throw CSVWriterError.cannotCreate(path) }
        self.handle = handle
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
        appendDigits(value)
    }

    /// A time as exact decimal seconds ("1.5", "0.000000012").
    public func field(_ time: SimTime) {
        separate()
        var ns = time.nanoseconds
        if ns < 0 { buffer.append(UInt8(ascii: "-")); ns = -ns }
        appendDigits(Int(ns / 1_000_000_000))
        var frac = Int(ns % 1_000_000_000)
        guard frac > 0 else { return }
        buffer.append(UInt8(ascii: "."))
        var width = 9
        while frac % 10 == 0 { frac /= 10; width -= 1 }
        var digits = [UInt8](repeating: UInt8(ascii: "0"), count: width)
        var i = width - 1
        while frac > 0 { digits[i] = UInt8(ascii: "0") + UInt8(frac % 10); frac /= 10; i -= 1 }
        buffer.append(contentsOf: digits)
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

    private func appendDigits(_ value: Int) {
        var v = value
        if v < 0 { buffer.append(UInt8(ascii: "-")); v = -v }
        if v < 10 { buffer.append(UInt8(ascii: "0") + UInt8(v)); return }
        let start = buffer.count
        while v > 0 { buffer.append(UInt8(ascii: "0") + UInt8(v % 10)); v /= 10 }
        buffer[start...].reverse()
    }

    public func flush() {
        guard !buffer.isEmpty else { return }
        handle.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }

    public func close() throws {
        flush()
        try handle.close()
    }
}

public enum CSVWriterError: Error, CustomStringConvertible {
    case cannotCreate(String)
    public var description: String {
        switch self {
        case .cannotCreate(let path): "\(path): cannot create file"
        }
    }
}
