import SimCore

/// A measured-timings CSV read whole, with each problem reported by file, line
/// and reason: a missing column, a value that is not a number, a negative time.
struct ProfileTable {
    let path: String
    private let columns: [String: Int]
    private(set) var rows: [[Substring]] = []
    /// 1-based file line of each row.
    private(set) var lines: [Int] = []

    init(path: String, required: [String]) throws {
        self.path = path
        let reader = try LineReader(path: path)
        guard let header = try reader.next() else { throw InputError(file: path, "profile is empty") }
        let names = header.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var columns: [String: Int] = [:]
        for (i, n) in names.enumerated() where columns[n] == nil { columns[n] = i }
        let missing = required.filter { columns[$0] == nil }
        guard missing.isEmpty else {
            throw InputError(file: path, location: "line 1", "missing column\(missing.count > 1 ? "s" : "") "
                             + missing.joined(separator: ", "))
        }
        self.columns = columns
        while let line = try reader.next() {
            if line.isEmpty { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == names.count else {
                throw InputError(file: path, location: "line \(reader.lineNumber)",
                                 "expected \(names.count) fields, found \(fields.count)")
            }
            rows.append(fields)
            lines.append(reader.lineNumber)
        }
        guard !rows.isEmpty else { throw InputError(file: path, "profile has no data rows") }
    }

    func text(_ row: Int, _ column: String) -> Substring { rows[row][columns[column]!] }

    /// A finite number; `nonNegative` rejects negative values (times, sizes).
    func number(_ row: Int, _ column: String, nonNegative: Bool = true) throws -> Double {
        let t = text(row, column)
        guard let v = Double(t), v.isFinite else {
            throw InputError(file: path, location: "line \(lines[row])", "\(column): expected a number, found '\(t)'")
        }
        guard !nonNegative || v >= 0 else {
            throw InputError(file: path, location: "line \(lines[row])", "\(column): expected a value ≥ 0, found \(v)")
        }
        return v
    }
}
