import Foundation
import TestSupport
import Testing
@testable import SimCore

@Suite("Files and databases")
struct FileIOTests {
    private func temp(_ name: String) -> String {
        Scratch.path(name)
    }

    @Test func lineReaderStreamsAcrossChunkBoundaries() throws {
        let path = temp("lines.txt")
        let lines = (0..<1000).map { "line \($0) " + String(repeating: "x", count: $0 % 37) }
        try (lines.joined(separator: "\r\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let reader = try LineReader(path: path, chunkSize: 64)
        var got: [String] = []
        while let l = try reader.next() { got.append(l) }
        #expect(got == lines)
        #expect(reader.lineNumber == 1000)
    }

    @Test func csvWriterWritesHeaderAndRows() throws {
        let path = temp("out.csv")
        let w = try CSVWriter(path: path, header: ["a", "b"])
        w.field(1); w.field(0.5); w.endRow()
        w.field(-20); w.field(Double.nan); w.endRow()
        w.field(SimTime(nanoseconds: 1_500_000_000)); w.field(SimTime(nanoseconds: 12)); w.endRow()
        w.field(SimTime(nanoseconds: 3_000_000_000)); w.emptyField(); w.endRow()
        w.field(0); w.field("x"); w.endRow()
        try w.close()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "a,b\n1,0.5\n-20,\n1.5,0.000000012\n3,\n0,x\n")
    }

    /// Integers and times in every width, signs and extremes included, as Swift's own decimal
    /// forms give them (a time: its whole seconds, then its nanoseconds without trailing zeros).
    @Test func csvWriterFormatsNumbersExactly() throws {
        let path = temp("numbers.csv")
        let w = try CSVWriter(path: path, header: ["n", "t"])
        var expected = "n,t\n"
        var values: [Int64] = [0, 1, 9, 10, 99, 100, 1_000_000_007, 999_999_999, 1_000_000_000, 60_000_000_001,
                               Int64.max, Int64.min + 1]
        for k in 0..<63 { values.append(Int64(1) << k); values.append((Int64(1) << k) - 1) }
        for v in values + values.map({ -$0 }) {
            w.field(Int(v)); w.field(SimTime(nanoseconds: v)); w.endRow()
            var time = "\(v.magnitude / 1_000_000_000)"
            if v.magnitude % 1_000_000_000 > 0 {
                let nine = String("\(v.magnitude % 1_000_000_000 + 1_000_000_000)".dropFirst())
                time += "." + nine.replacingOccurrences(of: "0+$", with: "", options: .regularExpression)
            }
            expected += "\(v),\(v < 0 ? "-" : "")\(time)\n"
        }
        w.field(Int.min); w.endRow()
        expected += "\(Int.min)\n"
        try w.close()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == expected)
    }

    /// A double is written as its `description` (the writer takes it from `Double.write(to:)` as
    /// ASCII): extremes, integers, subnormals, latencies and seeded random bit patterns.
    @Test func csvWriterWritesDoublesAsTheirDescription() throws {
        let path = temp("doubles.csv")
        let w = try CSVWriter(path: path, header: ["x"])
        var values: [Double] = [0, -0.0, 1, -1, 0.5, 1e16, 1e17, 1e-5, 1e-4, 1.0 / 3, .pi, .infinity, -.infinity,
                                .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude, .ulpOfOne]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<20_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let bits = state ^ (state >> 29)
            values.append(Double(bitPattern: bits))
            values.append(Double(bits % 10_000_000_000) / 1e9 / Double(1 + bits % 1000))  // a TPOT's form
        }
        var expected = "x\n"
        for v in values where !v.isNaN {
            w.field(v); w.field(plain: "ok"); w.endRow()
            expected += "\(v.description),ok\n"
        }
        try w.close()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == expected)
    }

    /// Text is quoted only when it must be (RFC 4180), an empty text is an empty field, and a row
    /// longer than the writer's buffer is written whole.
    @Test func csvWriterQuotesTextAndTakesLongRows() throws {
        let path = temp("text.csv")
        let w = try CSVWriter(path: path, header: ["a", "b", "c"])
        w.field("a,b"); w.field("say \"hi\""); w.field(""); w.endRow()
        w.field("line\nbreak"); w.field("plain"); w.field("über"); w.endRow()
        let long = String(repeating: "0123456789", count: 300_000)
        w.field(long); w.field(long + ","); w.field(7); w.endRow()
        try w.close()
        let expected = "a,b,c\n\"a,b\",\"say \"\"hi\"\"\",\n\"line\nbreak\",plain,über\n\(long),\"\(long),\",7\n"
        #expect(try String(contentsOfFile: path, encoding: .utf8) == expected)
    }

    @Test func aFullDiskIsAnErrorNotACrash() throws {
        // /dev/full accepts the open and fails every write with ENOSPC.
        let w = try CSVWriter(path: "/dev/full", header: ["a"])
        for i in 0..<300_000 { w.field(i); w.endRow() }
        #expect(throws: CSVWriterError.self) { try w.close() }
        #expect(throws: CSVWriterError.self) { try CSVWriter(path: "/nonexistent/x.csv", header: ["a"]) }
    }

    @Test func aFolderIsNotReadAsLines() {
        for path in [".", "..", "/", FileManager.default.temporaryDirectory.path] {
            #expect(throws: InputError.self) { try LineReader(path: path) }
        }
    }

    @Test func sqliteRoundTripsRowsInOneTransaction() throws {
        let db = try SQLiteDatabase(path: temp("t.sqlite"))
        try db.execute("CREATE TABLE runs (id INTEGER, x REAL, name TEXT)")
        try db.insert("INSERT INTO runs VALUES (?, ?, ?)",
                      rows: (0..<100).map { [.integer(Int64($0)), .real(Double($0) / 2), .text("r\($0)")] })
        #expect(try db.scalar("SELECT SUM(x) FROM runs") == 2475)
        #expect(try db.scalar("SELECT COUNT(*) FROM runs WHERE name = 'r7'") == 1)
        #expect(throws: SQLiteError.self) { try db.execute("SELECT * FROM missing") }
    }
}

@Suite("File-system calls")
struct FileSystemTests {
    @Test func exchangeSwapsTwoFoldersInOneStep() throws {
        let base = Scratch.folder()
        for (name, content) in [("a", "old"), ("b", "new")] {
            try FileManager.default.createDirectory(at: base.appendingPathComponent(name), withIntermediateDirectories: true)
            try content.write(to: base.appendingPathComponent("\(name)/f"), atomically: false, encoding: .utf8)
        }
        // Where the file system cannot exchange, callers fall back to two renames; here it can.
        #expect(FileSystem.exchange(base.appendingPathComponent("a").path, base.appendingPathComponent("b").path))
        #expect(try String(contentsOf: base.appendingPathComponent("a/f"), encoding: .utf8) == "new")
        #expect(try String(contentsOf: base.appendingPathComponent("b/f"), encoding: .utf8) == "old")
        #expect(!FileSystem.exchange(base.appendingPathComponent("a").path, base.appendingPathComponent("missing").path))
    }

    @Test func kindsAndSameFile() throws {
        let base = FileManager.default.temporaryDirectory.path
        #expect(FileSystem.kind(of: base) == .directory)
        #expect(FileSystem.kind(of: "/dev/null") == .other)
        #expect(FileSystem.kind(of: base + "/no-such-\(UUID().uuidString)") == .missing)
        #expect(FileSystem.sameFile(base, base + "/."))
        #expect(FileSystem.processIsAlive(getpid()))
    }
}
