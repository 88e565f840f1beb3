import DopsyncModel
import DopsyncStore
import Foundation
import Testing

@Suite("The change feed orders records by their last change of exported content")
struct ChangeFeedTests {
    func ids(_ page: ChangePage) throws -> [String] {
        try page.items.map { item in
            let json = try JSONParser.parse(item.line)
            guard case let .string(region)? = json["region"], case let .string(id)? = json["source_id"] else { return "?" }
            return "\(region)/\(id)"
        }
    }

    @Test func changesComeAfterEverythingReadBefore() throws {
        let store = try Store.inMemory()
        _ = try store.apply(region: "55", collection: .programs,
                            items: ["1", "2", "3"].map { .upsert(try! program($0), raw: "{}") }, position: nil)
        let first = try store.changes(.programs, after: 0, limit: 10)
        #expect(try ids(first) == ["55/1", "55/2", "55/3"])
        #expect(!first.hasMore)
        let cursor = first.items.last!.sequence

        // A re-read changes nothing; an update and a deletion move their records to the end.
        _ = try store.apply(region: "55", collection: .programs, items: [
            .upsert(try program("1"), raw: "{}"),
            .upsert(try program("3", title: "Шахматы", version: 2), raw: "{}"),
            .delete(sourceID: "2", updatedAt: nil, version: "2", raw: "{}"),
        ], position: nil)
        let next = try store.changes(.programs, after: cursor, limit: 10)
        #expect(try ids(next) == ["55/3", "55/2"])
        #expect(next.items[0].line.contains("Шахматы"))
        #expect(next.items[1].line.contains(#""deleted":true"#))
        #expect(try store.changes(.programs, after: next.items.last!.sequence, limit: 10).items.isEmpty)
    }

    @Test func pagesSayWhetherMoreFollow() throws {
        let store = try Store.inMemory()
        _ = try store.apply(region: "55", collection: .programs,
                            items: (1...5).map { .upsert(try! program(String($0)), raw: "{}") }, position: nil)
        let page = try store.changes(.programs, after: 0, limit: 2)
        #expect(page.items.count == 2 && page.hasMore)
        let last = try store.changes(.programs, after: 0, limit: 5)
        #expect(last.items.count == 5 && !last.hasMore)
        // Other collections do not appear in the programs feed.
        #expect(try store.changes(.contracts, after: 0, limit: 5).items.isEmpty)
    }

    @Test func aResolvedCertificateNumberIsAChangeOfTheContract() throws {
        let store = try Store.inMemory()
        let contract = Record.contract(Contract(
            meta: SourceMeta(region: "47", sourceID: "9", updatedAt: nil, version: "1"), certificateNumber: nil,
            programSourceID: "1", startsOn: try LocalDate(iso: "2026-09-01"), endsOn: try LocalDate(iso: "2027-05-31"),
            priceMonth: Kopecks(100_000), status: .active))
        _ = try store.apply(region: "47", collection: .contracts, items: [.upsert(contract, raw: "{}", certificateRef: "31")],
                            position: nil)
        let before = try store.changes(.contracts, after: 0, limit: 10).items.last!.sequence
        let certificate = Record.certificate(Certificate(
            meta: SourceMeta(region: "47", sourceID: "31", updatedAt: nil, version: "1"), number: "4700000031",
            type: .financing,
            child: Child(sourceID: "c", lastName: "Иванова", firstName: "Мария", middleName: nil,
                         birthDate: try LocalDate(iso: "2015-03-14"), snils: nil),
            nominal: Kopecks(0), balance: Kopecks(0), year: 2026, status: .active,
            municipality: Municipality(oktmo: "41601000", name: nil), issuedAt: nil))
        _ = try store.apply(region: "47", collection: .certificates, items: [.upsert(certificate, raw: "{}")], position: nil)
        let after = try store.changes(.contracts, after: before, limit: 10)
        #expect(after.items.count == 1)
        #expect(after.items[0].line.contains(#""certificate_number":"4700000031""#))
    }

    @Test func changedSinceFiltersByTheGatewaysTimeOfChange() throws {
        let store = try Store.inMemory()
        _ = try store.apply(region: "55", collection: .programs, items: [.upsert(try program("1"), raw: "{}")], position: nil)
        let past = Timestamp(seconds: Int64(Date().timeIntervalSince1970) - 3600)
        let future = Timestamp(seconds: Int64(Date().timeIntervalSince1970) + 3600)
        #expect(try store.changes(.programs, after: 0, changedSince: past, limit: 10).items.count == 1)
        #expect(try store.changes(.programs, after: 0, changedSince: future, limit: 10).items.isEmpty)
    }
}

@Suite("API tokens are kept as hashes and can be revoked")
struct TokenStoreTests {
    @Test func onlyTheHashIsKept() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dopsync-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try Store(path: path)
        let issued = try #require(try store.createToken(name: "federal-pull", role: .federal, by: "test"))
        #expect(issued.token.hasPrefix("dps_") && issued.token.count > 40)
        var bytes = Data()
        for suffix in ["", "-wal"] { bytes += FileManager.default.contents(atPath: path + suffix) ?? Data() }
        #expect(bytes.range(of: Data(issued.token.utf8)) == nil)
        #expect(bytes.range(of: Data("federal-pull".utf8)) != nil)
        #expect(try store.authenticate(token: issued.token)?.role == .federal)
        #expect(try store.authenticate(token: issued.token + "x") == nil)
    }

    @Test func revokedTokensStopAtOnceAndFreeTheirName() throws {
        let store = try Store.inMemory()
        let first = try #require(try store.createToken(name: "ops", role: .operator, by: "test"))
        #expect(try store.createToken(name: "ops", role: .admin, by: "test") == nil)
        #expect(try store.revokeToken(name: "ops", by: "test"))
        #expect(try !store.revokeToken(name: "ops", by: "test"))
        #expect(try store.authenticate(token: first.token) == nil)
        let second = try #require(try store.createToken(name: "ops", role: .operator, by: "test"))
        #expect(try store.authenticate(token: second.token)?.name == "ops")
        let listed = try store.tokens()
        #expect(listed.map(\.name) == ["ops", "ops"])
        #expect(listed[0].revokedAt != nil && listed[1].revokedAt == nil)
    }

    @Test func namesAreChecked() throws {
        let store = try Store.inMemory()
        #expect(throws: StoreError.self) { _ = try store.createToken(name: "a b", role: .federal, by: "test") }
        #expect(throws: StoreError.self) { _ = try store.createToken(name: "", role: .federal, by: "test") }
    }
}
