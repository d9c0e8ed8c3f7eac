import Foundation
import SimCore

/// Reads a scenario file: JSON syntax, then unknown keys (against
/// ScenarioSchema), then types. Each failure is one InputError naming the
/// file and the field.
public enum ScenarioLoader {
    /// Whole-number fields read as UInt64 (every other one is an Int).
    private static let unsignedFields: Set<String> = ["seed"]

    /// - Parameter overrides: `path=value` settings applied on top of the file,
    ///   such as `scheduler.policy=past_future` or `workload.arrivals.clients=60`;
    ///   the value is read as JSON, or as a string when it is not JSON.
    static func load(_ path: String, overrides: [String] = []) throws -> Scenario {
        try decode(resolvedTree(path, overrides: overrides), file: path)
    }

    /// The scenario as JSON after overrides, checked against the schema: what a
    /// sweep hashes to recognise a run.
    public static func resolvedTree(_ path: String, overrides: [String] = []) throws -> JSONValue {
        var tree = try JSONValue.read(file: path, what: "scenario file")
        guard case .object = tree else {
            throw InputError(file: path, "expected a JSON object at the top level, found \(tree.kindName)")
        }
        for o in overrides { tree = try apply(o, to: tree, file: path) }
        try check(tree, schemaPath: "", shownPath: "", file: path)
        return tree
    }

    static func decode(_ tree: JSONValue, file: String) throws -> Scenario {
        do {
            return try JSONDecoder().decode(Scenario.self, from: Data(tree.canonicalText.utf8))
        } catch let error as DecodingError {
            throw describe(error, file: file)
        }
    }

    /// A scenario tree with `settings` (`a.b.c=value`) applied, checked against the schema.
    static func resolved(_ tree: JSONValue, settings: [String], file: String) throws -> JSONValue {
        var tree = tree
        for s in settings { tree = try apply(s, to: tree, file: file) }
        try check(tree, schemaPath: "", shownPath: "", file: file)
        return tree
    }

    /// The scenario with every file it names relative to `folder` instead of to the file `from`, so
    /// it runs from there (a search's best.json): traces, length tables, and models or engines named by path.
    public static func rebased(_ tree: JSONValue, from file: String, to folder: String) -> JSONValue {
        let base = URL(fileURLWithPath: file).deletingLastPathComponent().standardizedFileURL.path
        let there = URL(fileURLWithPath: folder).standardizedFileURL.pathComponents
        func moved(_ path: String) -> String {
            guard !path.hasPrefix("/") else { return path }
            let target = URL(fileURLWithPath: base).appendingPathComponent(path).standardizedFileURL.pathComponents
            let common = zip(there, target).prefix { $0 == $1 }.count
            return (Array(repeating: "..", count: there.count - common) + target[common...]).joined(separator: "/")
        }
        func isFile(_ value: String) -> Bool { value.hasSuffix(".json") || value.hasSuffix(".csv") || value.hasSuffix(".jsonl") || value.contains("/") }
        func walk(_ node: JSONValue, _ path: [String]) -> JSONValue {
            if let members = node.members {
                return .object(members.map { .init($0.key, walk($0.value, path + [$0.key])) })
            }
            if let list = node.elements { return .array(list.map { walk($0, path) }) }
            guard let text = node.string else { return node }
            let key = path.joined(separator: ".")
            let fileFields = ["workload.arrivals.path", "workload.lengths.from_trace", "workload.lengths.prompt.path",
                              "workload.lengths.output.path", "instances.model", "instances.engine"]
            return fileFields.contains(key) && isFile(text) ? .string(moved(text)) : node
        }
        return walk(tree, [])
    }

    /// Sets one `a.b.c=value` in the tree (`null` removes the field). A name may index a list:
    /// `instances[1].tp=2` sets the second instance group's TP (the index must exist).
    private static func apply(_ setting: String, to tree: JSONValue, file: String) throws -> JSONValue {
        func fail(_ message: String) -> InputError { InputError(file: file, location: "--set \(setting)", message) }
        guard let eq = setting.firstIndex(of: "=") else { throw fail("expected path=value") }
        let keys = setting[..<eq].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard keys.allSatisfy({ !$0.isEmpty }) else { throw fail("expected a dotted path of field names before '='") }
        let text = String(setting[setting.index(after: eq)...])
        let value: JSONValue
        do { value = try JSONValue.parse(text) } catch {
            // Plain words are strings; what starts like JSON must be valid JSON.
            guard let first = text.first, !"{[\"-0123456789".contains(first) else {
                throw fail("malformed JSON value: \(error.message)")
            }
            value = .string(text)
        }
        func set(_ node: JSONValue, _ rest: ArraySlice<String>) throws -> JSONValue {
            guard var members = node.members else { throw fail("expected an object along the path") }
            var key = rest.first!
            // `name[i]`: element i of the list `name`.
            var element: Int?
            if let open = key.firstIndex(of: "["), key.hasSuffix("]") {
                guard let i = Int(key[key.index(after: open)..<key.index(before: key.endIndex)]), i >= 0 else {
                    throw fail("expected a whole number ≥ 0 inside [] in '\(key)'")
                }
                element = i
                key = String(key[..<open])
            }
            let index = members.firstIndex { $0.key == key }
            let old = index.map { members[$0].value } ?? .object([])
            let new: JSONValue
            if let i = element {
                guard var list = old.elements else { throw fail("\(key) is not a list") }
                guard i < list.count else {
                    throw fail("\(key) has \(list.count) entr\(list.count == 1 ? "y" : "ies"); expected an index from 0 to \(list.count - 1), found \(i)")
                }
                list[i] = rest.count == 1 ? value : try set(list[i], rest.dropFirst())
                new = .array(list)
            } else if rest.count == 1, value == .null {
                // `field=null` removes the field: its default applies.
                if let index { members.remove(at: index) }
                return .object(members)
            } else {
                new = rest.count == 1 ? value : try set(old, rest.dropFirst())
            }
            if let index { members[index].value = new } else { members.append(.init(key, new)) }
            return .object(members)
        }
        return try set(tree, keys[...])
    }

    /// Unknown keys and wrong types, each named by its field path.
    private static func check(_ value: JSONValue, schemaPath: String, shownPath: String, file: String) throws {
        func fail(_ message: String) -> InputError { InputError(file: file, location: shownPath, message) }
        if let field = ScenarioSchema.field(schemaPath) {
            let type = field.type
            if type.hasPrefix("integer") {
                let whole = unsignedFields.contains(schemaPath) ? value.uint64 != nil : value.int64 != nil
                guard whole else {
                    let range = unsignedFields.contains(schemaPath) ? "from 0 to \(UInt64.max)" : "within ±9.2e18"
                    throw fail("expected a whole number \(range), found \(value.shortText)")
                }
            } else if type.hasPrefix("number") || type.hasPrefix("0 or number") {
                guard value.double != nil else { throw fail("expected a number, found \(value.shortText)") }
            } else if type == "string" {
                guard value.string != nil else { throw fail("expected a string, found \(value.shortText)") }
            } else if type == "boolean" {
                guard value.bool != nil else { throw fail("expected true or false, found \(value.shortText)") }
            } else if type == "array" {
                guard value.elements != nil else { throw fail("expected an array, found \(value.shortText)") }
            } else if type == "object" {
                guard value.members != nil else { throw fail("expected an object, found \(value.shortText)") }
            }
        }
        if let members = value.members {
            let allowed = ScenarioSchema.keys(under: schemaPath)
            // Sorted so that the first reported problem does not depend on file order.
            for m in members.sorted(by: { $0.key < $1.key }) {
                let shown = shownPath.isEmpty ? m.key : "\(shownPath).\(m.key)"
                guard allowed.contains(m.key) else {
                    let known = allowed.sorted().joined(separator: ", ")
                    throw InputError(file: file, location: shown, "unknown field; expected one of: \(known)")
                }
                try check(m.value, schemaPath: schemaPath.isEmpty ? m.key : "\(schemaPath).\(m.key)", shownPath: shown,
                          file: file)
            }
        } else if let elements = value.elements {
            for (i, element) in elements.enumerated() {
                try check(element, schemaPath: schemaPath + "[]", shownPath: "\(shownPath)[\(i)]", file: file)
            }
        }
    }

    private static func describe(_ error: DecodingError, file: String) -> InputError {
        func path(_ codingPath: [CodingKey]) -> String {
            var s = ""
            for key in codingPath {
                if let i = key.intValue { s += "[\(i)]" } else { s += s.isEmpty ? key.stringValue : ".\(key.stringValue)" }
            }
            return s
        }
        switch error {
        case let .typeMismatch(type, context):
            return InputError(file: file, location: path(context.codingPath), "expected \(typeName(type))")
        case let .valueNotFound(type, context):
            return InputError(file: file, location: path(context.codingPath), "expected \(typeName(type)), found null")
        case let .keyNotFound(key, context):
            return InputError(file: file, location: path(context.codingPath + [key]), "required field is missing")
        case let .dataCorrupted(context):
            return InputError(file: file, location: path(context.codingPath), "expected \(context.debugDescription)")
        @unknown default:
            return InputError(file: file, "invalid scenario")
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type, is UInt64.Type: "a whole number"
        case is Double.Type: "a number"
        case is [Any].Type: "an array"
        default: "an object"
        }
    }
}
