import Foundation
import PackagePlugin

/// Writes `BuildCommit.swift`, the git commit the build's sources come from (with `-dirty` when
/// tracked files differ from it, `unknown` outside a git checkout), so results can name the exact
/// code that produced them. The file is rewritten only when its content changes.
@main
struct BuildCommit: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let out = context.pluginWorkDirectoryURL.appendingPathComponent("Generated")
        let script = """
            set -u
            mkdir -p "$2"
            c=$(git -C "$1" rev-parse HEAD 2>/dev/null || echo unknown)
            if [ "$c" != unknown ] && [ -n "$(git -C "$1" status --porcelain --untracked-files=no 2>/dev/null)" ]; then c="$c-dirty"; fi
            printf '/// Generated at build time by the BuildCommit plugin.\\nextension SimRunVersion {\\n    public static let commit = "%s"\\n}\\n' "$c" > "$2/BuildCommit.swift.new"
            if cmp -s "$2/BuildCommit.swift.new" "$2/BuildCommit.swift"; then rm "$2/BuildCommit.swift.new"; else mv "$2/BuildCommit.swift.new" "$2/BuildCommit.swift"; fi
            """
        return [.prebuildCommand(displayName: "Record the git commit of this build",
                                 executable: URL(fileURLWithPath: "/bin/sh"),
                                 arguments: ["-c", script, "sh", context.package.directoryURL.path, out.path],
                                 outputFilesDirectory: out)]
    }
}
