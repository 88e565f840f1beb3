import DopsyncModel
import Testing

@Suite("Money is parsed exactly from every wire form")
struct KopecksTests {
    @Test(arguments: [
        ("1250.00", 125_000), ("1250,50", 125_050), ("1250.5", 125_050), ("0.00", 0), ("0", 0),
        ("-3.07", -307), ("1250", 125_000), ("1.2505e3", 125_050), ("125050e-2", 125_050), ("0.1", 10),
        ("1250.5e-1", 12_505), ("99999999.99", 9_999_999_999),
    ])
    func roubles(text: String, kopecks: Int64) throws {
        #expect(try Kopecks(roubles: text).value == kopecks)
    }

    @Test(arguments: ["1250.505", "12,5o", "", "1.", ".5", "1e", "--1", "1 250", "0.001", "1250.500", "1250.55e-1", "NaN", "1,2,3"])
    func invalidRoubles(text: String) {
        #expect(throws: ValueError.self) { try Kopecks(roubles: text) }
    }

    @Test func kopecksIntegers() throws {
        #expect(try Kopecks(kopecksText: "125000").value == 125_000)
        #expect(throws: ValueError.self) { try Kopecks(kopecksText: "1250.5") }
        #expect(throws: ValueError.self) { try Kopecks(kopecksText: "99999999999999999999") }
    }

    @Test func writesRoubles() {
        #expect(Kopecks(125_050).roubles(separator: ",") == "1250,50")
        #expect(Kopecks(5).description == "0.05")
        #expect(Kopecks(-307).description == "-3.07")
    }

    @Test func errorQuotesTheText() {
        #expect(throws: ValueError("\"12,5o\" is not an amount of roubles with at most two decimals")) {
            try Kopecks(roubles: "12,5o")
        }
    }
}

@Suite("СНИЛС in both wire forms, with its checksum")
struct SnilsTests {
    @Test func bothForms() throws {
        #expect(try Snils("11223344595").formatted == "112-233-445 95")
        #expect(try Snils("112-233-445 95").digits == "11223344595")
    }

    @Test func checksumFails() {
        #expect(throws: ValueError("СНИЛС checksum does not match")) { try Snils("112-233-445 96") }
    }

    @Test func sumOfHundredIsWrittenZero() throws {
        // 0·9+0·8+1·7+0·6+0·5+2·4+0·3+4·2+3·1... pick digits whose weighted sum is 101 → 00.
        // 9 digits 000 000 0BC: choose a number whose sum mod 101 == 100 or 0.
        var found = 0
        for n in 1_002_000..<1_100_000 {
            let d = String(n).leftPadded(9).utf8.map { $0 - 48 }
            if Snils.checksum(d) == 0 {
                let text = String(n).leftPadded(9) + "00"
                _ = try Snils(text)
                found += 1
                if found > 3 { break }
            }
        }
        #expect(found > 0)
    }

    @Test func oldNumbersCarryNoChecksum() throws {
        #expect(try Snils("001-001-998 77").digits == "00100199877")
        #expect(throws: ValueError.self) { try Snils("001-001-999 77") }
    }

    @Test(arguments: ["1122334459", "112-233-44595", "112 233 445 95", "11223344a95", "112-233-445-95"])
    func badForms(text: String) {
        #expect(throws: ValueError.self) { try Snils(text) }
    }

    @Test func errorsNeverQuoteTheNumber() {
        do {
            _ = try Snils("112-233-445 96")
            Issue.record("expected a failure")
        } catch {
            #expect(!error.description.contains("112"))
        }
    }
}

@Suite("Dates and times: fixed offsets in, UTC out")
struct TimeTests {
    @Test func isoWithOffset() throws {
        #expect(try Timestamp(iso: "2026-09-01T16:00:00+06:00").description == "2026-09-01T10:00:00Z")
        #expect(try Timestamp(iso: "2026-09-01T03:00:00Z").description == "2026-09-01T03:00:00Z")
        #expect(try Timestamp(iso: "2026-01-01T01:00:00.250+03:00").description == "2025-12-31T22:00:00Z")
    }

    @Test func localTimes() throws {
        #expect(try Timestamp(localISO: "2026-09-01 13:00:00", offsetSeconds: 3 * 3600).description == "2026-09-01T10:00:00Z")
        #expect(try Timestamp(localDotted: "01.09.2026 05:00:00", offsetSeconds: 7 * 3600).description == "2026-08-31T22:00:00Z")
    }

    @Test func writesAtOffsets() throws {
        let t = try Timestamp(iso: "2026-08-31T22:00:00Z")
        #expect(t.iso(offsetSeconds: 6 * 3600) == "2026-09-01T04:00:00+06:00")
        #expect(t.localDotted(offsetSeconds: 7 * 3600) == "01.09.2026 05:00:00")
        #expect(t.localISO(offsetSeconds: 3 * 3600) == "2026-09-01 01:00:00")
    }

    @Test(arguments: ["2026-09-01T16:00:00", "2026-02-30T10:00:00Z", "2026-09-01 16:00:00Z", "2026-09-01T24:00:00Z", "2026-9-01T10:00:00Z"])
    func badTimes(text: String) {
        #expect(throws: ValueError.self) { try Timestamp(iso: text) }
    }

    @Test func dates() throws {
        #expect(try LocalDate(dotted: "29.02.2024").description == "2024-02-29")
        #expect(throws: ValueError.self) { try LocalDate(dotted: "29.02.2026") }
        #expect(throws: ValueError.self) { try LocalDate(iso: "2026-13-01") }
        #expect(try YearMonth(dotted: "10.2026").description == "2026-10")
        let d = try LocalDate(iso: "2026-11-01")
        #expect(d.years(since: try LocalDate(iso: "2015-11-02")) == 10)
        #expect(d.years(since: try LocalDate(iso: "2015-11-01")) == 11)
        #expect(LocalDate(daysSinceEpoch: d.daysSinceEpoch) == d)
    }
}

@Suite("Names split by the model's rule")
struct NameTests {
    @Test func split() throws {
        let a = try splitFullName("  Мамедов  Али Гасан оглы ")
        #expect(a.last == "Мамедов" && a.first == "Али" && a.middle == "Гасан оглы")
        let b = try splitFullName("Петрова-Водкина Анна")
        #expect(b.last == "Петрова-Водкина" && b.first == "Анна" && b.middle == nil)
        #expect(throws: ValueError.self) { try splitFullName("Иванов") }
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
