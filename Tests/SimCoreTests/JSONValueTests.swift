import Foundation
import Testing
@testable import SimCore

@Suite("Strict JSON")
struct JSONValueTests {
    @Test func readsEveryKindAndKeepsKeyOrder() throws {
        let v = try JSONValue.parse(#"{"b": [1, -2.5, 1e3, true, null], "a": "x\n\u00e9\ud83d\ude00", "c": {}}"#)
        #expect(v.members?.map(\.key) == ["b", "a", "c"])
        #expect(v["b"]?.elements?.map(\.canonicalText) == ["1", "-2.5", "1000", "true", "null"])
        #expect(v["a"]?.string == "x\né😀")
        #expect(v.canonicalText == #"{"a":"x\né😀","b":[1,-2.5,1000,true,null],"c":{}}"#)
    }

    @Test func numbersAreCanonicalAndExact() throws {
        #expect(try JSONValue.parse("2.0") == .number("2"))
        #expect(try JSONValue.parse("18446744073709551615").uint64 == UInt64.max)
        #expect(try JSONValue.parse("-9223372036854775808").int64 == Int64.min)
        #expect(try JSONValue.parse("0.1").double == 0.1)
        #expect(try JSONValue.parse("1e-320").double == 1e-320)
        #expect(try JSONValue.parse("2.5").int64 == nil)
        #expect(try JSONValue.parse("1e19").int64 == nil)
        // Every double reads back to the same bits.
        for x in [0.1, 1.0 / 3, 6.02214076e23, 5e-324, 1.7976931348623157e308] {
            #expect(try JSONValue.parse(x.description).double == x)
        }
    }

    @Test(arguments: [
        (#"{"a": 1, "a": 2}"#, 1, 10, "a", "duplicate field"),
        ("{\n  \"x\": {\"y\": 1e400}\n}", 2, 14, "x.y", "beyond the range of a double"),
        ("[1, 2,]", 1, 7, "[2]", "expected a value"),
        ("{\"a\": [true, nul]}", 1, 14, "a[1]", "expected a value"),
        ("", 1, 1, "", "empty file"),
        ("{} x", 1, 4, "", "end of the document"),
        (#"{"a": "\x"}"#, 1, 8, "a", "unknown escape"),
        ("{\"a\": 01}", 1, 7, "a", "start with 0"),
    ])
    func errorsNameLineColumnAndField(text: String, line: Int, column: Int, path: String, message: String) {
        do {
            _ = try JSONValue.parse(text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.line == line && error.column == column, "\(error)")
            #expect(error.path == path, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test func deepNestingIsRefusedNotACrash() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(String(repeating: "[", count: 100_000)) }
    }

    @Test func sha256MatchesTheStandardVectors() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // Fed in pieces of any size, the same digest.
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        var h = SHA256()
        var i = 0
        for size in [1, 63, 64, 65, 1000, 200_000] { h.update(Array(million[i..<i + size])); i += size }
        h.update(Array(million[i...]))
        #expect(h.hexDigest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
