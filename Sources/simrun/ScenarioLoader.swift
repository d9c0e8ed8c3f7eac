import Foundation
import SimCore

/// Reads a scenario file: JSON syntax, then unknown keys (against
/// ScenarioSchema), then types. Each failure is one InputError naming the
/// file and the field.
enum ScenarioLoader {
    static func load(_ path: String) throws -> Scenario {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, "cannot read scenario file (missing or unreadable)")
        }
        let tree: Any
        do { tree = try JSONSerialization.jsonObject(with: data) } catch {
            throw InputError(file: path, "malformed JSON: \(jsonSyntaxMessage(error))")
        }
        guard tree is [String: Any] else { throw InputError(file: path, "expected a JSON object at the top level") }
        try rejectUnknownKeys(tree, schemaPath: "", shownPath: "", file: path)
        do {
            return try JSONDecoder().decode(Scenario.self, from: data)
        } catch let error as DecodingError {
            throw describe(error, file: path)
        }
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
