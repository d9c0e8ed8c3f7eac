import Foundation
import SimCore

/// Reads a scenario file: JSON syntax, then unknown keys (against
/// ScenarioSchema), then types. Each failure is one InputError naming the
/// file and the field.
enum ScenarioLoader {
    /// - Parameter overrides: `path=value` settings applied on top of the file,
    ///   such as `scheduler.policy=past_future` or `workload.arrivals.clients=60`;
    ///   the value is read as JSON, or as a string when it is not JSON.
    static func load(_ path: String, overrides: [String] = []) throws -> Scenario {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, "cannot read scenario file (missing or unreadable)")
        }
        var tree: Any
        do { tree = try JSONSerialization.jsonObject(with: data) } catch {
            throw InputError(file: path, "malformed JSON: \(jsonSyntaxMessage(error))")
        }
        guard tree is [String: Any] else { throw InputError(file: path, "expected a JSON object at the top level") }
        for o in overrides { tree = try apply(o, to: tree, file: path) }
        try rejectUnknownKeys(tree, schemaPath: "", shownPath: "", file: path)
        do {
            return try JSONDecoder().decode(Scenario.self, from: JSONSerialization.data(withJSONObject: tree))
        } catch let error as DecodingError {
            throw describe(error, file: path)
        }
    }

    /// Sets one `a.b.c=value` in the tree (objects only; arrays are not addressable).
    private static func apply(_ setting: String, to tree: Any, file: String) throws -> Any {
        guard let eq = setting.firstIndex(of: "="), eq != setting.startIndex else {
            throw InputError(file: file, location: "--set \(setting)", "expected path=value")
        }
        let keys = setting[..<eq].split(separator: ".").map(String.init)
        let text = String(setting[setting.index(after: eq)...])
        let value = (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)) ?? text
        func set(_ node: Any, _ rest: ArraySlice<String>) throws -> Any {
            guard var object = node as? [String: Any] else {
                throw InputError(file: file, location: "--set \(setting)", "expected an object along the path")
            }
            let key = rest.first!
            object[key] = rest.count == 1 ? value : try set(object[key] ?? [String: Any](), rest.dropFirst())
            return object
        }
        return try set(tree, keys[...])
    }

    private static func jsonSyntaxMessage(_ error: Error) -> String {
        let ns = error as NSError
        return (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
    }

    private static func rejectUnknownKeys(_ value: Any, schemaPath: String, shownPath: String, file: String) throws {
        if let object = value as? [String: Any] {
            let allowed = ScenarioSchema.keys(under: schemaPath)
            // Sorted so that the first reported problem does not depend on hash order.
            for key in object.keys.sorted() {
                let shown = shownPath.isEmpty ? key : "\(shownPath).\(key)"
                guard allowed.contains(key) else {
                    let known = allowed.sorted().joined(separator: ", ")
                    throw InputError(file: file, location: shown, "unknown field; expected one of: \(known)")
                }
                let sub = schemaPath.isEmpty ? key : "\(schemaPath).\(key)"
                // Foundation's decoder reports a fraction given for an integer without
                // its path, so whole-number fields are checked here.
                if ScenarioSchema.field(sub)?.type.hasPrefix("integer") == true, let n = object[key] as? NSNumber,
                   !(n is Bool), n.doubleValue != n.doubleValue.rounded() {
                    throw InputError(file: file, location: shown, "expected a whole number, found \(n)")
                }
                try rejectUnknownKeys(object[key]!, schemaPath: sub, shownPath: shown, file: file)
            }
        } else if let array = value as? [Any] {
            for (i, element) in array.enumerated() {
                try rejectUnknownKeys(element, schemaPath: schemaPath + "[]", shownPath: "\(shownPath)[\(i)]", file: file)
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
