import Foundation

/// Reads a text file one line at a time in fixed-size chunks, so a trace of ten
/// million rows never sits in memory whole. Problems are InputErrors naming
/// the file (and the line, for a read that fails part way).
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
        switch FileSystem.kind(of: path) {
        case .missing: throw InputError(file: path, "cannot open file (no such file)")
        case .directory: throw InputError(file: path, "cannot open file (it is a folder, not a file)")
        default: break
        }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw InputError(file: path, "cannot open file (\(FileSystem.errorText()))") }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT != S_IFDIR else {
            close(fd)
            throw InputError(file: path, "cannot open file (it is a folder, not a file)")
        }
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    /// The next line without its line terminator (LF or CRLF), or nil at the end.
    public func next() throws -> String? {
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
            let chunk: Data?
            do { chunk = try handle.read(upToCount: chunkSize) } catch {
                throw InputError(file: path, location: "line \(lineNumber + 1)", "cannot read (\(FileSystem.describe(error)))")
            }
            if let chunk, !chunk.isEmpty { buffer.append(contentsOf: chunk) } else { atEnd = true }
        }
    }
}
