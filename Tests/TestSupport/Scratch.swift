import Foundation

/// Where tests write their files: a folder of this test process's own under the temporary folder,
/// removed when the process exits, so that a test run leaves nothing behind (it once left some
/// six hundred files and folders per run).
public enum Scratch {
    private static let rootPath = FileManager.default.temporaryDirectory
        .appendingPathComponent("simrun-tests-\(getpid())").path

    private static let root: URL = {
        try? FileManager.default.createDirectory(atPath: rootPath, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: Scratch.rootPath) }
        return URL(fileURLWithPath: rootPath, isDirectory: true)
    }()

    /// A path no other test uses, ending in `name` (nothing is created there).
    public static func path(_ name: String) -> String {
        root.appendingPathComponent("\(UUID().uuidString)-\(name)").path
    }

    /// A new empty folder no other test uses.
    public static func folder() -> URL {
        let url = root.appendingPathComponent(UUID().uuidString, isDirectory: true)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
