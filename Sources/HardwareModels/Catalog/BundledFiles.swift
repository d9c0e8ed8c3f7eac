import Foundation
import SimCore

/// The JSON files of a folder in this module's resources, in name order: the
/// catalogs of accelerators, engines and models are made of them.
enum BundledFiles {
    /// Each file read and converted; a file that fails is left out (tests check that every file loads).
    static func load<T>(_ folder: String, _ make: (JSONValue, String) throws -> T) -> [T] {
        guard let url = Bundle.module.url(forResource: folder, withExtension: nil),
              let files = try? FileManager.default.contentsOfDirectory(atPath: url.path)
        else { return [] }
        return files.filter { $0.hasSuffix(".json") && $0 != "index.json" }.sorted().compactMap { f in
            let path = url.appendingPathComponent(f).path
            return (try? JSONValue.read(file: path, what: folder)).flatMap { try? make($0, path) }
        }
    }
}
