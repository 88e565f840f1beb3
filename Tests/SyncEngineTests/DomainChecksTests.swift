import DopsyncModel
import DopsyncStore
import Foundation
import SyncEngine
import Testing

/// Each check opens on seeded data and closes itself when the data is fixed.
@Suite("Checks across records raise conflicts and close them")
struct DomainChecksTests {
    let store: Store
    let key: LinkKey

    init() throws {
        store = try Store.inMemory()
        key = try LinkKey.loadOrCreate(path: FileManager.default.temporaryDirectory
            .appendingPathComponent("dopsync-\(UUID().uuidString).key").path)
    }

    static let t = try! Timestamp(iso: "2026-09-01T00:00:00Z")

    func certificate(_ region: String, _ number: String, snils: String?, balance: Int64 = 2_400_000,
                     status: CertificateStatus = .active) throws -> PageItem {
        .upsert(.certificate(Certificate(
            meta: SourceMeta(region: region, sourceID: number, updatedAt: Self.t, version: "1"), number: number,
            type: .financing,
            child: Child(sourceID: "c", lastName: "Иванова", firstName: "Мария", middleName: nil,
                         birthDate: try LocalDate(iso: "2015-03-14"), snils: try snils.map { try Snils($0) }),
            nominal: Kopecks(2_400_000), balance: Kopecks(balance), year: 2026, status: status,
            municipality: Municipality(oktmo: "52701000", name: nil), issuedAt: nil)), raw: "{}")
    }

    func program(_ id: String) -> PageItem {
        .upsert(.program(Program(
            meta: SourceMeta(region: "55", sourceID: id, updatedAt: Self.t, version: "1"), title: "П", description: "",
            provider: Provider(inn: "5504000000", ogrn: nil, name: "ООО", kind: .private), direction: .art,
            ageMin: 5, ageMax: 17, hoursTotal: nil, priceMonth: Kopecks(100_000), registry: .certified,
            municipality: Municipality(oktmo: "52701000", name: nil), format: .offline, status: .published,
            startsOn: nil, endsOn: nil)), raw: "{}")
    }

    func contract(_ id: String, certificate: String, program: String = "1", region: String = "55") throws -> PageItem {
        .upsert(.contract(Contract(
            meta: SourceMeta(region: region, sourceID: id, updatedAt: Self.t, version: "1"), certificateNumber: certificate,
            programSourceID: program, startsOn: try LocalDate(iso: "2026-09-01"), endsOn: try LocalDate(iso: "2027-05-31"),
            priceMonth: Kopecks(100_000), status: .active)), raw: "{}")
    }

    func charge(_ id: String, contract: String = "10", month: String = "2026-10", price: Int64 = 100_000,
                certificate: Int64 = 100_000, parent: Int64 = 0) throws -> PageItem {
        .upsert(.charge(Charge(
            meta: SourceMeta(region: "55", sourceID: id, updatedAt: Self.t, version: nil), contractSourceID: contract,
            month: try YearMonth(iso: month), price: Kopecks(price), certificatePart: Kopecks(certificate),
            parentPart: Kopecks(parent))), raw: "{}")
    }

    func apply(_ collection: CollectionName, _ items: [PageItem], region: String = "55") throws {
        _ = try store.apply(region: region, collection: collection, items: items, position: nil)
    }

    func check() throws -> [ConflictCandidate] {
        try DomainChecks.run(store: store, link: key, complete: ["55", "47"], held: ["55", "47"])
    }

    /// A consistent world: certificate 5500000001 with one contract and one charge.
    func seedConsistent() throws {
        try apply(.programs, [program("1")])
        try apply(.certificates, [try certificate("55", "5500000001", snils: "112-233-445 95", balance: 2_300_000)])
        try apply(.contracts, [try contract("10", certificate: "5500000001")])
        try apply(.charges, [try charge("100")])
    }

    @Test func aConsistentWorldRaisesNothing() throws {
        try seedConsistent()
        #expect(try check().isEmpty)
        #expect(try store.conflicts().isEmpty)
    }

    @Test func duplicateCertificateAcrossRegions() throws {
        try seedConsistent()
        try apply(.certificates, [try certificate("47", "4700000001", snils: "11223344595")], region: "47")
        let opened = try check()
        #expect(opened.map(\.kind) == ["duplicate_certificate"])
        #expect(opened[0].summary.contains("47/4700000001") && opened[0].summary.contains("55/5500000001"))
        #expect(!opened[0].summary.contains("112-233") && !opened[0].detail.serialized().contains("112-233"))
        #expect(try check().isEmpty, "an open conflict is not opened twice")
        // Closing the second certificate removes the cause.
        try apply(.certificates, [try certificate("47", "4700000001", snils: "11223344595", status: .closed)], region: "47")
        _ = try check()
        #expect(try store.conflicts().isEmpty)
        let closed = try store.conflicts(includeClosed: true)
        #expect(closed.count == 1 && closed[0].closeReason?.contains("no longer") == true)
    }

    @Test func invalidCharges() throws {
        try seedConsistent()
        try apply(.charges, [try charge("101", month: "2026-09", price: 100_000, certificate: 60_000, parent: 30_000),
                             try charge("102", month: "2026-10", certificate: 0, parent: 100_000)])
        let opened = try check()
        let kinds = opened.filter { $0.kind == "invalid_charge" }
        #expect(kinds.count == 2)   // 101 does not add up; 100 and 102 share a month
        #expect(opened.contains { $0.summary.contains("has 2 charges for 2026-10") })

        // The region corrects one charge and withdraws the other: both close.
        try apply(.charges, [try charge("101", month: "2026-09", price: 100_000, certificate: 70_000, parent: 30_000),
                             .delete(sourceID: "102", updatedAt: Self.t, version: nil, raw: "{}")])
        _ = try check()
        #expect(try store.conflicts().filter { $0.kind == "invalid_charge" }.isEmpty)
        let closed = try store.conflicts(includeClosed: true).filter { $0.kind == "invalid_charge" }
        #expect(closed.count == 2 && closed.allSatisfy { $0.closeReason?.contains("resolved by newer data") == true })
    }

    @Test func balanceMismatchOpensAndCloses() throws {
        try seedConsistent()
        try apply(.certificates, [try certificate("55", "5500000001", snils: "112-233-445 95", balance: 2_400_000)])
        let opened = try check()
        #expect(opened.map(\.kind) == ["balance_mismatch"])
        try apply(.certificates, [try certificate("55", "5500000001", snils: "112-233-445 95", balance: 2_300_000)])
        #expect(try check().isEmpty)
        #expect(try store.conflicts().isEmpty)
    }

    @Test func brokenReferencesOnlyAfterACompletePass() throws {
        try seedConsistent()
        try apply(.contracts, [try contract("11", certificate: "5599999999", program: "77")])
        try apply(.charges, [try charge("103", contract: "99")])
        let partial = try DomainChecks.run(store: store, link: key, complete: [], held: ["55"])
        #expect(partial.isEmpty)
        let opened = try check().filter { $0.kind == "broken_reference" }
        #expect(opened.count == 2)
        #expect(opened.contains { $0.summary.contains("certificate 5599999999") && $0.summary.contains("program 77") })
        #expect(opened.contains { $0.summary.contains("contract 99") })

        // The records named arrive: the references close themselves.
        try apply(.programs, [program("77")])
        try apply(.certificates, [try certificate("55", "5599999999", snils: nil, balance: 2_400_000)])
        try apply(.contracts, [try contract("99", certificate: "5500000001")])
        _ = try check()
        #expect(try store.conflicts().filter { $0.kind == "broken_reference" }.isEmpty)
        #expect(try store.conflicts(includeClosed: true).filter { $0.kind == "broken_reference" }.count == 2)
    }

    /// A region whose pass failed after storing some pages, then a sync of
    /// another region alone, then a complete sync: the pages of the failed
    /// pass are judged for references once the region completes.
    @Test func changesOfAFailedPassAreJudgedAfterTheNextCompletePass() throws {
        try seedConsistent()
        _ = try check()
        try apply(.contracts, [try contract("11", certificate: "4799999999", region: "47")], region: "47")
        let both: Set<String> = ["55", "47"]
        // The pass of 47 fails; then a sync of 55 alone completes.
        _ = try DomainChecks.run(store: store, link: key, complete: ["55"], held: both)
        _ = try DomainChecks.run(store: store, link: key, complete: ["55"], held: both, synced: ["55"])
        #expect(try store.conflicts().filter { $0.kind == "broken_reference" }.isEmpty)
        // 47 completes with nothing new: its contract is judged now.
        let opened = try DomainChecks.run(store: store, link: key, complete: both, held: both)
        #expect(opened.contains { $0.kind == "broken_reference" && $0.region == "47" && $0.sourceID == "11" }, "\(opened)")
    }
}
