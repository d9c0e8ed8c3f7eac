import Foundation
import PackagePlugin

/// Writes `BuildCommit.swift`, the git commit the build's sources come from (with `-dirty` when
/// tracked files differ from it, `unknown` outside a git checkout), so results can name the exact
/// code that produced them. It runs again whenever git's HEAD, index or log, or any source file
/// of the package changes.
@main
struct BuildCommit: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("BuildCommit.swift")
        let git = ["HEAD", "index", "logs/HEAD"].map { root.appendingPathComponent(".git/\($0)") }
            .filter { FileManager.default.fileExists(atPath: $0.path) }
        let sources = context.package.targets.compactMap { $0 as? SourceModuleTarget }
            .flatMap { $0.sourceFiles(withSuffix: "swift").map(\.url) }
        let script = """
            c=$(git -C "$1" rev-parse HEAD 2>/dev/null || echo unknown)
            if [ "$c" != unknown ] && [ -n "$(git -C "$1" status --porcelain --untracked-files=no 2>/dev/null)" ]; then c="$c-dirty"; fi
            printf '/// Generated at build time by the BuildCommit plugin.\\nextension SimRunVersion {\\n    public static let commit = "%s"\\n}\\n' "$c" > "$2"
            """
        return [.buildCommand(displayName: "Record the git commit of this build",
                              executable: URL(fileURLWithPath: "/bin/sh"),
                              arguments: ["-c", script, "sh", root.path, output.path],
                              inputFiles: git + sources, outputFiles: [output])]
    }
}
