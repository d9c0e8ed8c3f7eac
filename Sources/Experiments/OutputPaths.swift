import Foundation
import SimCore

/// A run failed for a reason other than its input (a write failed on a full disk,
/// a folder vanished mid-run, an invariant broke): exit status 1 with this one
/// line, and nothing half-written left.
public struct RunError: Error, CustomStringConvertible {
    public let path: String
    public let message: String
    public init(path: String, message: String) { self.path = path; self.message = message }
    public var description: String { "\(path): \(message)" }
}

/// The folder a run writes into. simrun writes a folder only when it is missing,
/// empty, or one simrun wrote before (it holds the marker file and nothing that
/// simrun does not write); everything else is refused before the run starts. The
/// new results are built in a hidden staging folder beside the target and
/// swapped in at once, so the old results stay whole until the new ones are.
public struct ResultsFolder {
    static let marker = ".simrun-results"
    /// What a results folder may hold: a run's outputs and the plots `simrun plot` draws beside them.
    static let ownFiles: Set<String> = [marker, "summary.json", "requests.csv", "timeseries.csv", "provenance.json", "iterations.csv", "search.csv", "best.json",
                                        "best-colocated.json", "best-disaggregated.json", "ttft-cdf.svg",
                                        "tpot-cdf.svg", "e2el-cdf.svg", "queue-over-time.svg", "kv-over-time.svg",
                                        "instances-over-time.svg"]

    /// As the user gave it, for messages.
    public let shown: String
    public let target: String
    let staging: String
    private let option: String
    private let createdFolders: [String]

    /// Checks the target and makes the staging folder (and any missing parent
    /// folders), so a bad path fails before anything is simulated.
    public init(_ path: String, option: String = "--out") throws {
        shown = path
        self.option = option
        target = URL(fileURLWithPath: path).standardizedFileURL.path
        let parent = (target as NSString).deletingLastPathComponent
        let name = (target as NSString).lastPathComponent
        func fail(_ message: String) -> InputError { InputError(file: path, location: option, message) }
        try Self.checkReplaceable(target, fail: fail)
        createdFolders = try Self.makeParents(parent, fail: fail)
        Self.removeAbandonedStaging(in: parent, name: name)
        staging = parent + "/.\(name).partial-\(getpid())"
        guard mkdir(staging, 0o755) == 0 else {
            let text = FileSystem.errorText()
            Self.removeEmpty(createdFolders)
            throw fail("cannot write beside it (\(text))")
        }
        do {
            try Data("This folder was written by simrun; a later run with the same --out replaces it.\n".utf8)
                .write(to: URL(fileURLWithPath: staging + "/" + Self.marker))
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            Self.removeEmpty(createdFolders)
            throw fail("cannot write beside it (\(FileSystem.describe(error)))")
        }
    }

    /// A file inside the staging folder.
    public func path(_ file: String) -> String { staging + "/" + file }

    /// Puts the staged results in place of the target, then removes the old results.
    public func commit() throws {
        try Self.checkReplaceable(target) { InputError(file: shown, location: option, $0) }
        if FileSystem.kind(of: target) == .missing {
            guard rename(staging, target) == 0 else { throw RunError(path: shown, message: FileSystem.errorText()) }
            return
        }
        if FileSystem.exchange(staging, target) {
            try? FileManager.default.removeItem(atPath: staging)
            return
        }
        // No exchange on this file system: move the old folder aside for the moment of the swap.
        let aside = (target as NSString).deletingLastPathComponent + "/.\((target as NSString).lastPathComponent).old-\(getpid())"
        guard rename(target, aside) == 0 else { throw RunError(path: shown, message: FileSystem.errorText()) }
        guard rename(staging, target) == 0 else {
            let text = FileSystem.errorText()
            _ = rename(aside, target)
            throw RunError(path: shown, message: text)
        }
        try? FileManager.default.removeItem(atPath: aside)
    }

    /// Removes the staging folder and the parent folders this run created.
    public func abandon() {
        try? FileManager.default.removeItem(atPath: staging)
        Self.removeEmpty(createdFolders)
    }

    private static func checkReplaceable(_ target: String, fail: (String) -> InputError) throws {
        switch FileSystem.kind(of: target) {
        case .missing:
            return
        case .symbolicLink:
            throw fail("is a symbolic link; choose a new folder or one simrun wrote")
        case .file, .other:
            throw fail("is a file, not a results folder; simrun never replaces a file")
        case .directory:
            guard let contents = try? FileManager.default.contentsOfDirectory(atPath: target) else {
                throw fail("cannot read this folder")
            }
            guard !contents.isEmpty else { return }
            guard contents.contains(marker) else {
                throw fail("is a folder simrun did not write (it has no \(marker)); choose a new or empty folder")
            }
            if let foreign = contents.sorted().first(where: { !ownFiles.contains($0) }) {
                throw fail("holds '\(foreign)', which simrun did not write; move it away or choose another folder")
            }
        }
    }

    /// Creates the missing folders above the target; returns them, deepest first.
    private static func makeParents(_ parent: String, fail: (String) -> InputError) throws -> [String] {
        let missing = try missingFolders(above: parent + "/x", fail: fail)
        var created: [String] = []
        for folder in missing.reversed() {
            guard mkdir(folder, 0o755) == 0 else {
                let text = FileSystem.errorText()
                removeEmpty(created.reversed())
                throw fail("cannot create folder '\(folder)' (\(text))")
            }
            created.append(folder)
        }
        return created.reversed()
    }

    /// The folders above `path` that do not exist yet, deepest first; the nearest one that exists must be a folder.
    static func missingFolders(above path: String, fail: (String) -> InputError) throws -> [String] {
        var missing: [String] = []
        var p = (path as NSString).deletingLastPathComponent
        while FileSystem.kind(of: p) == .missing, p != "/" {
            missing.append(p)
            p = (p as NSString).deletingLastPathComponent
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: p, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw fail("'\(p)' is not a folder")
        }
        return missing
    }

    /// Staging folders of runs that were killed: only those with simrun's marker, whose process is gone.
    private static func removeAbandonedStaging(in parent: String, name: String) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return }
        for entry in entries {
            for prefix in [".\(name).partial-", ".\(name).old-"] where entry.hasPrefix(prefix) {
                guard let pid = Int32(entry.dropFirst(prefix.count)), pid != getpid(), !FileSystem.processIsAlive(pid)
                else { continue }
                let folder = parent + "/" + entry
                if FileSystem.kind(of: folder + "/" + marker) == .file { try? FileManager.default.removeItem(atPath: folder) }
            }
        }
    }

    private static func removeEmpty<S: Sequence<String>>(_ folders: S) {
        for f in folders { rmdir(f) }
    }
}

/// A single output file (a CSV export, a plot, a fitted profile): written through
/// a temporary file and a rename, and only over a file that simrun wrote.
public enum OutputFile {
    /// Refuses a path that is one of the inputs, a folder, or a file simrun did not write.
    /// - Parameter isOurs: recognises a file of this kind that simrun wrote, from its bytes.
    public static func check(_ path: String, option: String, inputs: [String], kind: String,
                      isOurs: (Data) -> Bool) throws {
        func fail(_ message: String) -> InputError { InputError(file: path, location: option, message) }
        for input in inputs where FileSystem.sameFile(path, input) || standardized(path) == standardized(input) {
            throw fail("is also an input (\(input)); refusing to overwrite it")
        }
        switch FileSystem.kind(of: path) {
        case .missing:
            break
        case .directory:
            throw fail("is a folder; expected a file path")
        case .symbolicLink, .other:
            throw fail("is not a regular file; choose another path")
        case .file:
            guard let data = FileManager.default.contents(atPath: path), isOurs(data) else {
                throw fail("exists and is not a \(kind) written by simrun; remove it or choose another path")
            }
        }
        _ = try ResultsFolder.missingFolders(above: standardized(path), fail: fail)
    }

    /// Calls `body` with a temporary path beside `path`, then renames the result into place.
    public static func replace(_ path: String, _ body: (String) throws -> Void) throws {
        let url = URL(fileURLWithPath: standardized(path))
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw RunError(path: path, message: "cannot create its folder (\(FileSystem.describe(error)))")
        }
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial-\(getpid())").path
        do {
            try body(tmp)
            guard rename(tmp, url.path) == 0 else { throw RunError(path: path, message: FileSystem.errorText()) }
        } catch {
            unlink(tmp)
            if error is RunError || error is InputError { throw error }
            throw RunError(path: path, message: FileSystem.describe(error))
        }
    }

    public static func write(_ data: Data, to path: String) throws {
        try replace(path) { tmp in try data.write(to: URL(fileURLWithPath: tmp)) }
    }

    private static func standardized(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }
}
