import DopsyncModel
import Testing

@Suite("JSON keeps numbers as text and records as sent")
struct JSONTests {
    @Test func numbersStayText() throws {
        let v = try JSONParser.parse(#"{"a":1250.10,"b":-0.5e2,"c":[true,null,"x\u0041\n"]}"#)
        #expect(v["a"] == .number("1250.10"))
        #expect(v["b"] == .number("-0.5e2"))
        #expect(v["c"] == .array([.bool(true), .null, .string("xA\n")]))
        #expect(v.serialized() == #"{"a":1250.10,"b":-0.5e2,"c":[true,null,"xA\n"]}"#)
    }

    @Test func pageKeepsRawItems() throws {
        let text = #"{"data":[ {"id":1, "t":"Робо"} ,{"id":2}],"meta":{"next_cursor":null,"total":2}}"#
        let page = try JSONParser.parsePage(Array(text.utf8), arrayKey: "data")
        #expect(page.items.map(\.raw) == [#"{"id":1, "t":"Робо"}"#, #"{"id":2}"#])
        #expect(page.envelope.value(atPath: "meta.total") == .number("2"))
    }

    @Test(arguments: [#"{"data":[{"id":1},{"id""#, #"{"a":01}"#, #"{"a":1,}"#, #"[1 2]"#, #"{"a":"\x"}"#, "", #"{"a":1} x"#])
    func rejectsBrokenText(text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
    }

    @Test func cutShortPageIsAnError() {
        let text = #"{"data":[{"id":1},{"id":2"#
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parsePage(Array(text.utf8), arrayKey: "data") }
    }
}
