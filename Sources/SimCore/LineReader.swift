import Foundation

/// Reads a text file one line at a time in fixed-size chunks, so a trace of ten
/// million rows never sits in memory whole.
public final class LineReader {
    public let path: String
    /// The 1-based number of the line last returned.
    public private(set) var lineNumber = 0
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    private let chunkSize: Int

    public init(path: String, chunkSize: Int = 1 << 20) throws {
        self.path = path
        self.chunkSize = chunkSize
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw LineReaderError.cannotOpen(path)
        }
        self.handle = handle
    }

    deinit { try? handle.close() }

    /// The next line without its line terminator (LF or CRLF), or nil at the end.
    public func next() -> String? {
        while true {
            if let nl = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = nl
                if end > start, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                start = nl + 1
                lineNumber += 1
                return line
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                let line = String(decoding: buffer[start...], as: UTF8.self)
                start = buffer.count
                lineNumber += 1
                return line
            }
            buffer.removeFirst(start)
            start = 0
            let chunk = handle.readData(ofLength: chunkSize)
            if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}

public enum LineReaderError: Error, CustomStringConvertible {
    case cannotOpen(String)
    public var description: String {
        switch self {
        case .cannotOpen(let path): "\(path): cannot open file (missing or unreadable)"
        }
    }
}
