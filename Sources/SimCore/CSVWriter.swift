import Foundation

/// Writes a CSV file through a large buffer. Values are formatted without locale
/// and with Swift's shortest round-trip representation, so output is byte-stable.
public final class CSVWriter {
    private let handle: FileHandle
    private var buffer = ""
    private let flushThreshold = 1 << 20

    public init(path: String, header: [String]) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path)
        else { throw CSVWriterError.cannotCreate(path) }
        self.handle = handle
        buffer.reserveCapacity(flushThreshold + 4096)
        writeRow(header)
    }

    public func writeRow(_ fields: [String]) {
        var first = true
        for f in fields {
            if !first { buffer.append(",") }
            first = false
            buffer.append(f)
        }
        buffer.append("\n")
        if buffer.utf8.count >= flushThreshold { flush() }
    }

    public func flush() {
        guard !buffer.isEmpty else { return }
        handle.write(Data(buffer.utf8))
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

/// Formats a number for CSV and JSON: empty for NaN (a missing value that pandas
/// reads as NaN), otherwise the shortest representation that round-trips.
@inlinable public func csvNumber(_ x: Double) -> String {
    x.isNaN ? "" : x.description
}
