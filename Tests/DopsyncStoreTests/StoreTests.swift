import DopsyncModel
import DopsyncStore
import Foundation
import Testing

func program(_ id: String, title: String = "Робототехника", version: Int = 1, region: String = "55") throws -> Record {
    .program(Program(
        meta: SourceMeta(region: region, sourceID: id, updatedAt: try Timestamp(iso: "2026-09-01T10:00:00Z"), version: String(version)),
        title: title, description: "", provider: Provider(inn: "5504000000", ogrn: nil, name: "ООО", kind: .private),
        direction: .technical, ageMin: 7, ageMax: 12, hoursTotal: 144, priceMonth: Kopecks(125_000), registry: .certified,
        municipality: Municipality(oktmo: "52701000", name: nil), format: .offline, status: .published,
        startsOn: nil, endsOn: nil))
}

func exported(_ store: Store, _ collection: CollectionName = .programs, region: String? = nil) throws -> [String] {
    var lines: [String] = []
    try store.export(collection, region: region) { lines.append($0) }
    return lines
}

@Suite("The store keeps records, positions and quarantine together")
struct StoreTests {
    @Test func countsCreatedUpdatedUnchanged() throws {
        let store = try Store.inMemory()
        var c = try store.apply(region: "55", collection: .programs,
                                items: [.upsert(try program("1"), raw: "{}"), .upsert(try program("2"), raw: "{}")], position: "p1")
        #expect(c.created == 2 && c.fetched == 2)
        c = try store.apply(region: "55", collection: .programs,
                            items: [.upsert(try program("1"), raw: "{}"), .upsert(try program("2", title: "Шахматы", version: 2), raw: "{}")],
                            position: "p2")
        #expect(c.unchanged == 1 && c.updated == 1 && c.created == 0)
        #expect(try store.position(region: "55", stream: "programs") == "p2")
        let lines = try exported(store)
        #expect(lines.count == 2)
        #expect(lines[1].contains(#""title":"Шахматы""#))
    }

    @Test func exportIsOrderedByRegionThenSourceIDAsText() throws {
        let store = try Store.inMemory()
        _ = try store.apply(region: "55", collection: .programs,
                            items: ["9", "10", "100"].map { .upsert(try! program($0), raw: "{}") }, position: nil)
        _ = try store.apply(region: "47", collection: .programs, items: [.upsert(try program("5", region: "47"), raw: "{}")], position: nil)
        let ids = try exported(store).map { try JSONParser.parse($0)["source_id"]! }
        #expect(ids == [.string("5"), .string("10"), .string("100"), .string("9")])
        #expect(try exported(store, region: "47").count == 1)
    }

    @Test func deletionKeepsTheLastFields() throws {
        let store = try Store.inMemory()
        _ = try store.apply(region: "55", collection: .programs, items: [.upsert(try program("1"), raw: "{}")], position: nil)
        let c = try store.apply(region: "55", collection: .programs, items: [
            .delete(sourceID: "1", updatedAt: try Timestamp(iso: "2026-10-05T05:00:00Z"), version: "4", raw: "{}"),
            .delete(sourceID: "2", updatedAt: nil, version: "1", raw: "{}"),
        ], position: nil)
        #expect(c.deleted == 1 && c.unchanged == 1)
        let lines = try exported(store)
        #expect(lines.count == 1)
        let json = try JSONParser.parse(lines[0])
        #expect(json["deleted"] == .bool(true))
        #expect(json["source_version"] == .string("4"))
        #expect(json["source_updated_at"] == .string("2026-10-05T05:00:00Z"))
        #expect(json["title"] == .string("Робототехника"))
    }

    @Test func quarantineIsKeptOnceAndClearedByAGoodVersion() throws {
        let store = try Store.inMemory()
        for _ in 0..<2 {
            let c = try store.apply(region: "55", collection: .programs,
                                    items: [.quarantine(sourceID: "7", raw: #"{"id":7}"#, reason: "title: is missing")], position: nil)
            #expect(c.quarantined == 1)
        }
        let entries = try store.quarantined()
        #expect(entries.count == 1)
        #expect(entries[0].raw == #"{"id":7}"# && entries[0].reason == "title: is missing")
        _ = try store.apply(region: "55", collection: .programs, items: [.upsert(try program("7"), raw: "{}")], position: nil)
        #expect(try store.quarantined().isEmpty)
    }

    @Test func aBadVersionNeverReplacesAGoodRecord() throws {
        let store = try Store.inMemory()
        _ = try store.apply(region: "55", collection: .programs, items: [.upsert(try program("7"), raw: "{}")], position: nil)
        _ = try store.apply(region: "55", collection: .programs,
                            items: [.quarantine(sourceID: "7", raw: "{}", reason: "bad")], position: nil)
        #expect(try exported(store).count == 1)
        #expect(try store.quarantined().count == 1)
    }

    @Test func positionsBelongToTheirStream() throws {
        let store = try Store.inMemory()
        _ = try store.apply(region: "24", collection: .programs, items: [], stream: "feed", position: "1042")
        #expect(try store.position(region: "24", stream: "feed") == "1042")
        #expect(try store.position(region: "24", stream: "programs") == nil)
    }

    @Test func storeFileSurvivesReopening() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dopsync-\(UUID().uuidString).sqlite").path
        do {
            let store = try Store(path: path)
            _ = try store.apply(region: "55", collection: .programs, items: [.upsert(try program("1"), raw: "{}")], position: "p")
        }
        let again = try Store(path: path)
        #expect(try exported(again).count == 1)
        #expect(try again.position(region: "55", stream: "programs") == "p")
    }

    @Test func recordsReadBack() throws {
        let store = try Store.inMemory()
        let p = try program("1")
        _ = try store.apply(region: "55", collection: .programs, items: [.upsert(p, raw: "{}")], position: nil)
        #expect(try store.record(region: "55", collection: .programs, sourceID: "1") == p)
    }

    @Test func linkKeyIsCreatedPrivate() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dopsync-\(UUID().uuidString).key").path
        let key = try LinkKey.loadOrCreate(path: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let again = try LinkKey.loadOrCreate(path: path)
        #expect(key.link(snilsDigits: "11223344595") == again.link(snilsDigits: "11223344595"))
        #expect(!key.link(snilsDigits: "11223344595").contains("11223344595"))
    }

    func contract(_ id: String, certificate: String? = nil) throws -> Record {
        .contract(Contract(
            meta: SourceMeta(region: "47", sourceID: id, updatedAt: try Timestamp(iso: "2026-09-01T10:00:00Z"), version: "1"),
            certificateNumber: certificate, programSourceID: "1", startsOn: try LocalDate(iso: "2026-09-01"),
            endsOn: try LocalDate(iso: "2027-05-31"), priceMonth: Kopecks(100_000), status: .active))
    }

    func certificate(_ id: String, number: String) throws -> Record {
        .certificate(Certificate(
            meta: SourceMeta(region: "47", sourceID: id, updatedAt: try Timestamp(iso: "2026-09-01T10:00:00Z"), version: "1"),
            number: number, type: .financing,
            child: Child(sourceID: "c1", lastName: "Иванова", firstName: "Мария", middleName: nil,
                         birthDate: try LocalDate(iso: "2015-03-14"), snils: nil),
            nominal: Kopecks(2_400_000), balance: Kopecks(2_400_000), year: 2026, status: .active,
            municipality: Municipality(oktmo: "41601000", name: nil), issuedAt: nil))
    }

    @Test func aContractSeenBeforeItsCertificateWaitsForIt() throws {
        let store = try Store.inMemory()
        _ = try store.apply(region: "47", collection: .contracts,
                            items: [.upsert(try contract("9"), raw: "{}", certificateRef: "31")], position: nil)
        #expect(try exported(store, .contracts)[0].contains(#""certificate_number":null"#))
        _ = try store.apply(region: "47", collection: .certificates,
                            items: [.upsert(try certificate("31", number: "4700000031"), raw: "{}")], position: nil)
        #expect(try exported(store, .contracts)[0].contains(#""certificate_number":"4700000031""#))
        // Read again, the same contract is unchanged, and a new one resolves at once.
        let c = try store.apply(region: "47", collection: .contracts, items: [
            .upsert(try contract("9"), raw: "{}", certificateRef: "31"),
            .upsert(try contract("10"), raw: "{}", certificateRef: "31"),
        ], position: nil)
        #expect(c.unchanged == 1 && c.created == 1)
        #expect(try exported(store, .contracts)[0].contains(#""certificate_number":"4700000031""#))
    }

    @Test func aCompleteWalkDeletesWhatItNoLongerLists() throws {
        let store = try Store.inMemory()
        _ = try store.apply(region: "55", collection: .programs,
                            items: ["1", "2", "3"].map { .upsert(try! program($0), raw: "{}") }, position: nil)
        // A walk that never finishes deletes nothing.
        _ = try store.apply(region: "55", collection: .programs, items: [.upsert(try program("1"), raw: "{}")],
                            position: nil, sweep: .mark(walk: "w1"))
        #expect(try exported(store).allSatisfy { $0.contains(#""deleted":false"#) })
        // A complete one deletes the records it did not list, keeping their fields;
        // a listed record that was quarantined is not absent.
        _ = try store.apply(region: "55", collection: .programs, items: [.upsert(try program("1"), raw: "{}")],
                            position: nil, sweep: .mark(walk: "w2"))
        let c = try store.apply(region: "55", collection: .programs,
                                items: [.quarantine(sourceID: "3", raw: "{}", reason: "bad")],
                                position: nil, sweep: .finish(walk: "w2"))
        #expect(c.deleted == 1)
        let lines = try exported(store)
        #expect(lines[0].contains(#""deleted":false"#))
        #expect(lines[1].contains(#""deleted":true"#) && lines[1].contains(#""source_version":"1""#))
        #expect(lines[2].contains(#""deleted":false"#))
    }

    /// A change feed page mixes collections: its records of every collection
    /// and the feed's position are stored in one transaction, and a contract
    /// whose certificate is in the same page gets its number.
    @Test func aPageOfSeveralCollectionsCommitsWithItsPosition() throws {
        let store = try Store.inMemory()
        let counts = try store.apply(region: "47", groups: [
            (collection: .certificates, items: [.upsert(try certificate("31", number: "4700000031"), raw: "{}")]),
            (collection: .contracts, items: [
                .upsert(try contract("9"), raw: "{}", certificateRef: "31"),
                .delete(sourceID: "8", updatedAt: nil, version: nil, raw: "{}"),
            ]),
        ], stream: "feed", position: "1043")
        #expect(counts[.certificates]?.created == 1)
        #expect(counts[.contracts]?.created == 1 && counts[.contracts]?.fetched == 2)
        #expect(counts[.contracts]?.unchanged == 1, "a delete of a record never held is not kept")
        #expect(try store.position(region: "47", stream: "feed") == "1043")
        #expect(try exported(store, .contracts).count == 1)
        #expect(try exported(store, .contracts)[0].contains(#""certificate_number":"4700000031""#))
        #expect(try exported(store, .certificates).count == 1)
    }

    /// The checks' lookups take many values at once and answer each with
    /// the live records that match it, whatever the number of values.
    @Test func lookupsByManyValuesFindTheLiveRecordsOfEach() throws {
        let store = try Store.inMemory()
        _ = try store.apply(region: "47", collection: .certificates, items: (1...600).map {
            .upsert(try! certificate(String($0), number: "47\($0 % 300)"), raw: "{}")
        }, position: nil)
        // A contract that moves to another certificate leaves no trace of the old one.
        _ = try store.apply(region: "47", collection: .contracts,
                            items: [.upsert(try contract("9", certificate: "471"), raw: "{}")], position: nil)
        _ = try store.apply(region: "47", collection: .contracts,
                            items: [.upsert(try contract("9", certificate: "472"), raw: "{}")], position: nil)
        _ = try store.apply(region: "47", collection: .certificates,
                            items: [.delete(sourceID: "1", updatedAt: nil, version: nil, raw: "{}")], position: nil)
        let wanted = (0..<300).map { "47\($0)" } + ["none"]
        let found = try store.reading { reader in
            var found: [String: Set<String>] = [:]
            try reader.lookup(.certificates, by: "number", among: wanted, region: "47", ["number"]) { matched, region, id, values in
                #expect(region == "47" && values == [matched])
                found[matched, default: []].insert(id)
            }
            return found
        }
        #expect(found.count == 300 && found["none"] == nil)
        #expect(found["471"] == ["301"], "the deleted certificate 1 is not found")
        #expect(found["4712"] == ["12", "312"])

        let byKey = try store.reading { reader in
            var ids: [String] = []
            try reader.lookup(.certificates, by: nil, among: ["1", "2", "601"], region: "47", []) { _, _, id, _ in ids.append(id) }
            return ids
        }
        #expect(byKey == ["2"])
        let naming = try store.reading { reader in
            var ids: [String] = []
            for number in ["471", "472"] {
                try reader.lookup(.contracts, by: "certificate_number", among: [number], region: "47", []) { _, _, id, _ in
                    ids.append("\(number):\(id)")
                }
            }
            return ids
        }
        #expect(naming == ["472:9"])
        #expect(throws: StoreError.self) {
            try store.reading { try $0.lookup(.certificates, by: "year", among: ["2026"], region: "47", []) { _, _, _, _ in } }
        }
        #expect(throws: StoreError.self, "a number is looked up within a region") {
            try store.reading { try $0.lookup(.certificates, by: "number", among: ["471"], region: nil, []) { _, _, _, _ in } }
        }
    }

    /// After a page of new records the next page is inserted first; a record
    /// already held on that page (a page shift sends it again, changed) is
    /// still updated, not lost or counted as created.
    @Test func aPageAfterNewRecordsStillUpdatesTheHeldOnes() throws {
        let store = try Store.inMemory()
        var c = try store.apply(region: "55", collection: .programs,
                                items: (1...10).map { .upsert(try! program(String($0)), raw: "{}") }, position: "p1")
        #expect(c.created == 10)
        c = try store.apply(region: "55", collection: .programs, items: [
            .upsert(try program("3", title: "Шахматы", version: 2), raw: "{}"),
            .upsert(try program("4"), raw: "{}"),
        ] + (11...20).map { .upsert(try! program(String($0)), raw: "{}") }, position: "p2")
        #expect(c.created == 10 && c.updated == 1 && c.unchanged == 1)
        let lines = try exported(store)
        #expect(lines.count == 20)
        #expect(lines.filter { $0.contains(#""title":"Шахматы""#) }.count == 1)
    }
}
