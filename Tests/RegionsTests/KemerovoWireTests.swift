import DopsyncModel
import Foundation
@testable import Regions
import Testing

/// Kemerovo's answers as bytes: decoded by the encoding their prolog
/// declares, read record by record, each kept as its exact text.
@Suite("Kemerovo's exchange documents are read as the page says")
struct KemerovoWireTests {
    static let records = """
        <Program><Id>P-000123</Id><Name>Робототехника</Name>\
        <Organization inn="4205000000" ogrn="1024200000000" type="Частная">ООО «Роботы»</Organization>\
        <Direction>Техническая</Direction><Age from="7" to="12"/><Hours>144</Hours><MonthPrice>1250,00</MonthPrice>\
        <Registry>Сертифицированная</Registry><Municipality oktmo="32701000">Кемеровский городской округ</Municipality>\
        <Form>Очная</Form><Status>Опубликована</Status><Period start="01.09.2026" end="31.05.2027"/>\
        <ModifiedAt>01.09.2026 10:00:00</ModifiedAt></Program>
          <!-- a comment between records -->
        <Program><Id>P-000124</Id><Name>Шахматы</Name><MonthPrice>1250,505</MonthPrice>\
        <ModifiedAt>01.09.2026 10:00:05</ModifiedAt></Program>
        """

    static func page(encoding: String, total: Int = 2) -> String {
        "<?xml version=\"1.0\" encoding=\"\(encoding)\"?>\n"
            + "<ExportResponse entity=\"Program\" total=\"\(total)\" offset=\"0\" count=\"2\">\n\(records)\n</ExportResponse>\n"
    }

    /// A page of the two records with `record` between them.
    static func pageOfThree(between record: String) -> [UInt8] {
        let text = "<ExportResponse entity=\"Program\" total=\"3\" offset=\"0\" count=\"3\">\n"
            + records.replacingOccurrences(of: "  <!-- a comment between records -->", with: record)
            + "\n</ExportResponse>\n"
        return Array(text.utf8)
    }

    func read(_ bytes: [UInt8]) throws -> KemerovoExchange.ExportPage {
        try KemerovoExchange.parseExport(bytes, collection: .programs, mapping: KemerovoMapping())
    }

    @Test func aWindows1251AnswerIsDecodedByItsProlog() throws {
        let bytes = Array(Self.page(encoding: "windows-1251").data(using: .windowsCP1251)!)
        #expect(String(validating: bytes, as: UTF8.self) == nil, "the test's bytes are windows-1251")
        let page = try read(bytes)
        #expect(page.total == 2)
        #expect(page.items.count == 2)
        guard case let .upsert(.program(p), raw, _) = page.items[0] else { Issue.record("\(page.items[0])"); return }
        #expect(p.title == "Робототехника" && p.provider.name == "ООО «Роботы»")
        #expect(p.municipality.name == "Кемеровский городской округ")
        // The raw text is the record element exactly as sent, now in UTF-8.
        #expect(raw.hasPrefix("<Program><Id>P-000123</Id><Name>Робототехника</Name>") && raw.hasSuffix("</Program>"))
        guard case let .quarantine(id, raw2, reason) = page.items[1] else { Issue.record("\(page.items[1])"); return }
        #expect(id == "P-000124" && raw2.contains("Шахматы") && reason == "Organization: is missing")
        #expect(page.keys.map(\.key) == ["P-000123", "P-000124"])
        #expect(page.keys.map { $0.modifiedAt?.description } == ["2026-09-01T03:00:00Z", "2026-09-01T03:00:05Z"])
    }

    @Test func aUTF8AnswerGivesTheSameRecords() throws {
        let cp1251 = try read(Array(Self.page(encoding: "windows-1251").data(using: .windowsCP1251)!))
        let utf8 = try read(Array(Self.page(encoding: "UTF-8").utf8))
        #expect(utf8.keys == cp1251.keys)
        for (a, b) in zip(utf8.items, cp1251.items) {
            guard case let .upsert(ra, rawA, _) = a, case let .upsert(rb, rawB, _) = b else { continue }
            #expect(ra == rb && rawA == rawB)
        }
    }

    /// Windows-1251 bytes read as if they were UTF-8 would be garbage: the
    /// prolog is what tells, and a wrong claim is refused, not guessed at.
    @Test func bytesThatDoNotMatchTheDeclaredEncodingAreRefused() throws {
        let lying = Array(Self.page(encoding: "UTF-8").data(using: .windowsCP1251)!)
        #expect(throws: XMLSyntaxError.self) { try read(lying) }
        let koi8 = Array(Self.page(encoding: "koi8-r").utf8)
        let error = #expect(throws: XMLSyntaxError.self) { try read(koi8) }
        #expect(error?.reason.contains("koi8-r") == true)
    }

    /// A body cut short, a wrong root or another entity is no page: the
    /// client fetches it again rather than taking part of it.
    @Test func anAnswerThatIsNotAWholePageIsRefused() throws {
        let whole = Array(Self.page(encoding: "UTF-8").utf8)
        for cut in [whole.count * 2 / 3, whole.count - 20, 60] {
            #expect(throws: XMLSyntaxError.self, "cut at \(cut)") { try read(Array(whole.prefix(cut))) }
        }
        #expect(throws: XMLSyntaxError.self) { try read(Array("<Fault code=\"ES2-403\">Нет</Fault>".utf8)) }
        #expect(throws: XMLSyntaxError.self) {
            try KemerovoExchange.parseExport(whole, collection: .charges, mapping: KemerovoMapping())
        }
        let doctype = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e \"boom\">]><ExportResponse entity=\"Program\" total=\"0\" offset=\"0\" count=\"0\"/>"
        #expect(throws: XMLSyntaxError.self) { try read(Array(doctype.utf8)) }
        let empty = try read(Array("<ExportResponse entity=\"Program\" total=\"0\" offset=\"0\" count=\"0\"/>".utf8))
        #expect(empty.items.isEmpty && empty.total == 0)
    }

    /// A record that is not well formed (a stray `&`, a tag that does not
    /// match) is quarantined with its text; the records around it are read.
    @Test func aRecordThatIsNotWellFormedIsQuarantinedAndThePageGoesOn() throws {
        let broken = [
            "<Program><Id>P-000125</Id><Name>Роботы & Co</Name><ModifiedAt>01.09.2026 10:00:01</ModifiedAt></Program>",
            "<Program><Id>P-000126</Id><Name>Шахматы</Nam><ModifiedAt>01.09.2026 10:00:02</ModifiedAt></Program>",
        ]
        for record in broken {
            let page = try read(Self.pageOfThree(between: record))
            #expect(page.items.count == 3, "\(record)")
            guard case .upsert = page.items[0], case let .quarantine(id, raw, reason) = page.items[1] else {
                Issue.record("\(page.items)"); continue
            }
            #expect(raw == record)
            #expect(id == (record.contains("P-000125") ? "P-000125" : "P-000126"))
            #expect(reason.hasPrefix("not well-formed XML: "), "\(reason)")
            #expect(page.keys.map(\.key) == ["P-000123", id ?? "", "P-000124"])
            // The third record is read as usual (it lacks fields: quarantined by the mapping).
            guard case let .quarantine(third, _, why) = page.items[2] else { Issue.record("\(page.items[2])"); continue }
            #expect(third == "P-000124" && !why.contains("well-formed"), "\(why)")
        }
    }

    /// A record whose own end tag is broken would take the next record with
    /// it: the answer is refused (fetched again) instead.
    @Test func aBrokenRecordThatCannotBePassedOverAloneRefusesTheAnswer() throws {
        let record = "<Program><Id>P-000125</Id><Name>Роботы</Name></Programm>"
        #expect(throws: XMLSyntaxError.self) { try read(Self.pageOfThree(between: record)) }
    }

    /// A broken record whose id cannot be read is quarantined without one,
    /// and the page says so (a full walk then deletes nothing); an end tag
    /// with white space before its `>` is an end tag.
    @Test func aBrokenRecordWithoutAReadableIdIsQuarantinedAndCounted() throws {
        let unidentified = try read(Self.pageOfThree(between: "<Program><Id>P&1</Id><Name>Роботы</Name></Program>"))
        #expect(unidentified.items.count == 3 && unidentified.unidentified == 1)
        guard case let .quarantine(id, _, _) = unidentified.items[1] else { Issue.record("\(unidentified.items[1])"); return }
        #expect(id == nil)
        let spaced = try read(Self.pageOfThree(between: "<Program><Id>P-000127</Id><Name>A & B</Name></Program >"))
        #expect(spaced.items.count == 3 && spaced.unidentified == 0)
        guard case let .quarantine(named, _, _) = spaced.items[1] else { Issue.record("\(spaced.items[1])"); return }
        #expect(named == "P-000127")
    }

    @Test func charactersAndEntitiesAreResolved() throws {
        let text = "<Program><Name>&lt;A&gt; &amp; &quot;B&quot; &apos;C&apos; &#1046;&#x416; <![CDATA[<D>]]></Name></Program>"
        var parser = XMLPullParser(Array(text.utf8))
        guard case let .start(name, attributes, _, _)? = try parser.next() else { Issue.record("no start"); return }
        let node = try parser.readElement(name: name, attributes: attributes)
        #expect(node.children[0].text == "<A> & \"B\" 'C' ЖЖ <D>")
        #expect(throws: XMLSyntaxError.self) {
            var p = XMLPullParser(Array("<a>&nbsp;</a>".utf8))
            while try p.next() != nil {}
        }
    }

    @Test func aFaultBodyGivesItsCodeAndText() {
        let body = Array("<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<Fault code=\"ES2-403\">Клиент не зарегистрирован</Fault>"
            .data(using: .windowsCP1251)!)
        let fault = KemerovoExchange.fault(body)
        #expect(fault?.code == "ES2-403" && fault?.text == "Клиент не зарегистрирован")
        #expect(KemerovoExchange.fault(Array("<html>Bad Gateway</html>".utf8)) == nil)
    }

    @Test func requestsAreUTF8WithTheTimeInKemerovo() throws {
        let request = KemerovoExchange.exportRequest(entity: "Certificate", changedSince: try Timestamp(iso: "2026-09-01T03:00:00Z"),
                                                     offset: 0, count: 1000)
        #expect(request == """
            <?xml version="1.0" encoding="UTF-8"?>
            <ExportRequest entity="Certificate" changedSince="01.09.2026 10:00:00" offset="0" count="1000"/>

            """)
    }
}

/// The keyset walk's moves, page by page (see `KemerovoWalk`).
@Suite("Kemerovo's walk never relies on an offset that may have shifted")
struct KemerovoWalkTests {
    typealias Key = KemerovoExchange.RecordKey

    func keys(_ seconds: [Int64], from first: Int = 0) -> [Key] {
        seconds.enumerated().map { Key(key: "P-\(first + $0.offset)", modifiedAt: Timestamp(seconds: $0.element)) }
    }

    @Test func itMovesOnFromTheNewestTimeOfEachPageAtOffsetZero() throws {
        var walk = KemerovoWalk(id: "w", full: true, since: nil)
        #expect(try walk.advance(past: keys([10, 11, 12, 12]), pageSize: 4) == .more)
        #expect(walk.since == 12 && walk.offset == 0 && walk.overlap == nil)
        #expect(try walk.advance(past: keys([12, 12, 13]), pageSize: 4) == .complete)
        #expect(walk.newest == 13 && walk.pages == 2)
    }

    @Test func aWholePageInOneSecondIsSteppedWithAnOverlap() throws {
        var walk = KemerovoWalk(id: "w", full: false, since: 50)
        #expect(try walk.advance(past: keys([50, 50, 50, 50]), pageSize: 4) == .more)
        #expect(walk.since == 50 && walk.offset == 3 && walk.overlap == "P-3")
        // The next page begins with the overlap: the offset held.
        #expect(try walk.advance(past: keys([50, 50, 50, 50], from: 3), pageSize: 4) == .more)
        #expect(walk.offset == 6 && walk.overlap == "P-6")
        #expect(try walk.advance(past: keys([50, 51], from: 6), pageSize: 4) == .complete)
    }

    @Test func aShiftedSecondIsReadAgainFromItsStart() throws {
        var walk = KemerovoWalk(id: "w", full: true, since: 50)
        _ = try walk.advance(past: keys([50, 50, 50, 50]), pageSize: 4)
        // P-1 changed and left the second: the page at offset 3 begins one record late.
        #expect(try walk.advance(past: keys([50, 50, 50, 50], from: 4), pageSize: 4) == .more)
        #expect(walk.since == 50 && walk.offset == 0 && walk.overlap == nil && walk.restarts == 1)
        // A short page after a shift is not the end either.
        _ = try walk.advance(past: keys([50, 50, 50, 50]), pageSize: 4)
        #expect(try walk.advance(past: keys([50], from: 7), pageSize: 4) == .more)
        #expect(walk.offset == 0)
    }

    @Test func aSecondThatNeverSettlesStopsTheWalk() throws {
        var walk = KemerovoWalk(id: "w", full: true, since: 50)
        _ = try walk.advance(past: keys([50, 50, 50, 50]), pageSize: 4)
        let error = #expect(throws: KemerovoWalk.Unsettled.self) {
            for _ in 0...KemerovoWalk.maxRestarts {
                _ = try walk.advance(past: keys([50, 50, 50, 50], from: 9), pageSize: 4)
                _ = try walk.advance(past: keys([50, 50, 50, 50]), pageSize: 4)
            }
        }
        #expect(error?.description.contains("01.01.1970 07:00:50") == true)
    }

    @Test func recordsWithoutATimeStillMoveTheWalk() throws {
        var walk = KemerovoWalk(id: "w", full: true, since: nil)
        let unreadable = (0..<4).map { Key(key: "raw \($0)", modifiedAt: nil) }
        #expect(try walk.advance(past: unreadable, pageSize: 4) == .more)
        #expect(walk.since == nil && walk.offset == 3 && walk.overlap == "raw 3")
    }

    @Test func thePositionRoundTrips() throws {
        var walk = KemerovoWalk(id: "w", full: true, since: 42)
        _ = try walk.advance(past: keys([42, 42]), pageSize: 2)
        let position = KemerovoPosition(watermark: 40, walk: walk)
        let text = KemerovoAdapter.encode(position)
        // Times are readable in `dopsync status`.
        #expect(text.contains("\"watermark\":\"1970-01-01T00:00:40Z\"") && text.contains("\"since\":\"1970-01-01T00:00:42Z\""))
        #expect(try JSONDecoder().decode(KemerovoPosition.self, from: Data(text.utf8)) == position)
        // A walk that may not sweep stays so across a kill; positions saved
        // before the flag existed read as sweepable.
        var unsure = position
        unsure.walk?.unsweepable = true
        let saved = KemerovoAdapter.encode(unsure)
        #expect(try JSONDecoder().decode(KemerovoPosition.self, from: Data(saved.utf8)).walk?.unsweepable == true)
        #expect(!text.contains("unsweepable"))
    }
}
