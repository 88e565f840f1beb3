import DopsyncModel
import DopsyncStore
import Foundation
import Reporting
import Testing

/// A small world whose figures are known by construction: each number below
/// is counted by hand from the records, not by the code under test.
struct SeededWorld {
    let store: Store
    let key: LinkKey

    static let snilsShared = "112-233-445 95"   // one child in both regions
    static let snilsOther = "001-001-998 77"

    init() throws {
        store = try Store.inMemory()
        key = try LinkKey.loadOrCreate(path: FileManager.default.temporaryDirectory
            .appendingPathComponent("dopsync-\(UUID().uuidString).key").path)
        let t = try Timestamp(iso: "2026-09-01T00:00:00Z")
        func meta(_ region: String, _ id: String, deleted: Bool = false) -> SourceMeta {
            SourceMeta(region: region, sourceID: id, updatedAt: t, version: "1", deleted: deleted)
        }
        func program(_ region: String, _ id: String, _ direction: Direction, _ status: ProgramStatus = .published,
                     deleted: Bool = false) throws -> PageItem {
            .upsert(.program(Program(meta: meta(region, id, deleted: deleted), title: "П", description: "",
                                     provider: Provider(inn: "5504000000", ogrn: nil, name: "ООО", kind: .private),
                                     direction: direction, ageMin: 5, ageMax: 17, hoursTotal: nil, priceMonth: Kopecks(100_000),
                                     registry: .certified, municipality: Municipality(oktmo: "52701000", name: nil),
                                     format: .offline, status: status, startsOn: nil, endsOn: nil)), raw: "{}")
        }
        func certificate(_ region: String, _ number: String, child: String, born: String, snils: String?,
                         status: CertificateStatus = .active, deleted: Bool = false) throws -> PageItem {
            .upsert(.certificate(Certificate(
                meta: meta(region, number, deleted: deleted), number: number, type: .financing,
                child: Child(sourceID: child, lastName: "Иванова", firstName: "Мария", middleName: nil,
                             birthDate: try LocalDate(iso: born), snils: try snils.map { try Snils($0) }),
                nominal: Kopecks(2_400_000), balance: Kopecks(2_400_000), year: 2026, status: status,
                municipality: Municipality(oktmo: "52701000", name: nil), issuedAt: nil)), raw: "{}")
        }
        func contract(_ region: String, _ id: String, _ number: String?, program: String, _ from: String, _ to: String,
                      status: ContractStatus = .active, deleted: Bool = false) throws -> PageItem {
            .upsert(.contract(Contract(meta: meta(region, id, deleted: deleted), certificateNumber: number,
                                       programSourceID: program, startsOn: try LocalDate(iso: from),
                                       endsOn: try LocalDate(iso: to), priceMonth: Kopecks(100_000), status: status)), raw: "{}")
        }
        func charge(_ region: String, _ id: String, _ month: String, _ cert: Int64, _ parent: Int64) throws -> PageItem {
            var m = meta(region, id)
            m.version = nil
            return .upsert(.charge(Charge(meta: m, contractSourceID: "1", month: try YearMonth(iso: month),
                                          price: Kopecks(cert + parent), certificatePart: Kopecks(cert),
                                          parentPart: Kopecks(parent))), raw: "{}")
        }
        // Omsk (55): programs 1 technical, 2 art, 3 art draft, 4 sport deleted.
        _ = try store.apply(region: "55", collection: .programs, items: [
            try program("55", "1", .technical), try program("55", "2", .art), try program("55", "3", .art, .draft),
            try program("55", "4", .sport, deleted: true),
        ], position: nil)
        // Children: A (age 11 on 2026-11-01, shared СНИЛС), B (age 5), C (age 17, suspended),
        // D (age 19, active, no contract), E holds a deleted certificate.
        _ = try store.apply(region: "55", collection: .certificates, items: [
            try certificate("55", "5500000001", child: "A", born: "2015-03-14", snils: Self.snilsShared),
            try certificate("55", "5500000002", child: "B", born: "2021-10-31", snils: nil),
            try certificate("55", "5500000003", child: "C", born: "2009-11-02", snils: nil, status: .suspended),
            try certificate("55", "5500000004", child: "D", born: "2007-01-01", snils: nil),
            try certificate("55", "5500000005", child: "E", born: "2015-01-01", snils: nil, deleted: true),
        ], position: nil)
        _ = try store.apply(region: "55", collection: .contracts, items: [
            try contract("55", "10", "5500000001", program: "1", "2026-09-01", "2027-05-31"),   // A technical
            try contract("55", "11", "5500000001", program: "2", "2026-09-01", "2027-05-31"),   // A art
            try contract("55", "12", "5500000002", program: "2", "2026-11-01", "2026-11-01"),   // B art, one day
            try contract("55", "13", "5500000003", program: "1", "2026-09-01", "2027-05-31"),   // C technical, suspended cert still counts
            try contract("55", "14", "5500000004", program: "1", "2026-11-02", "2027-05-31"),   // D not yet started
            try contract("55", "15", "5500000004", program: "2", "2026-09-01", "2027-05-31", status: .application),
            try contract("55", "16", "5500000005", program: "1", "2026-09-01", "2027-05-31"),   // deleted certificate
            try contract("55", "17", "5599999999", program: "1", "2026-09-01", "2027-05-31"),   // unknown certificate
            try contract("55", "18", "5500000002", program: "1", "2026-09-01", "2027-05-31", deleted: true),
        ], position: nil)
        _ = try store.apply(region: "55", collection: .charges, items: [
            try charge("55", "100", "2026-09", 100_000, 0), try charge("55", "101", "2026-09", 50_000, 50_000),
            try charge("55", "102", "2026-11", 100_000, 0), try charge("55", "103", "2026-12", 1, 1),
        ], position: nil)
        // Leningrad (47): the shared child A again (another id), and F without СНИЛС.
        _ = try store.apply(region: "47", collection: .programs, items: [try program("47", "1", .tourism)], position: nil)
        _ = try store.apply(region: "47", collection: .certificates, items: [
            try certificate("47", "4700000001", child: "900", born: "2015-03-14", snils: "11223344595"),
            try certificate("47", "4700000002", child: "901", born: "2017-06-01", snils: Self.snilsOther),
        ], position: nil)
        _ = try store.apply(region: "47", collection: .contracts, items: [
            try contract("47", "1", "4700000001", program: "1", "2026-09-01", "2027-05-31"),
            try contract("47", "2", "4700000002", program: "1", "2026-09-01", "2027-05-31"),
        ], position: nil)
    }
}

@Suite("The coverage report counts what its definition says")
struct CoverageTests {
    @Test func figuresKnownByConstruction() throws {
        let world = try SeededWorld()
        let r = try CoverageReport.compute(store: world.store, asOf: try LocalDate(iso: "2026-11-01"),
                                           regions: ["55", "47", "24"], link: world.key)
        #expect(r.regions.map(\.region) == ["24", "47", "55"])
        let empty = r.regions[0]
        #expect(empty.childrenEnrolled == 0 && empty.chargesByMonth.isEmpty)

        let omsk = r.regions[2]
        #expect(omsk.certificatesActive == 3)          // 1, 2, 4 (3 suspended, 5 deleted)
        #expect(omsk.childrenWithCertificate == 3)     // A, B, D
        #expect(omsk.childrenEnrolled == 3)            // A, B, C
        #expect(omsk.childrenEnrolledByAge == ["5-9": 1, "10-14": 1, "15-17": 1, "other": 0])
        #expect(omsk.childrenEnrolledByDirection[.technical] == 2)   // A, C
        #expect(omsk.childrenEnrolledByDirection[.art] == 2)         // A, B
        #expect(omsk.childrenEnrolledByDirection[.sport] == 0)
        #expect(omsk.programsPublishedByDirection[.technical] == 1)
        #expect(omsk.programsPublishedByDirection[.art] == 1)
        #expect(omsk.programsPublishedByDirection[.sport] == 0)
        #expect(omsk.chargesByMonth.map { "\($0.month) \($0.certificateKopecks) \($0.parentKopecks)" }
                == ["2026-09 150000 50000", "2026-11 100000 0"])

        let leningrad = r.regions[1]
        #expect(leningrad.childrenEnrolled == 2 && leningrad.childrenWithCertificate == 2)
        #expect(leningrad.childrenEnrolledByAge["10-14"] == 1 && leningrad.childrenEnrolledByAge["5-9"] == 1)

        // A counts once nationally through the СНИЛС link.
        #expect(r.nationalChildrenEnrolled == 4)         // A, B, C, F
        #expect(r.nationalChildrenWithCertificate == 4)  // A, B, D, F
    }

    /// A record whose latest version was quarantined counts nowhere, though
    /// the store keeps (and exports) its last good version.
    @Test func recordsWhoseLatestVersionIsQuarantinedCountNowhere() throws {
        let world = try SeededWorld()
        _ = try world.store.apply(region: "55", collection: .certificates, items: [
            .quarantine(sourceID: "5500000004", raw: "{}", reason: "child.snils: the checksum does not hold"),
        ], position: nil)
        _ = try world.store.apply(region: "55", collection: .contracts, items: [
            .quarantine(sourceID: "11", raw: "{}", reason: "pricePerMonth: more than two decimals"),
            .quarantine(sourceID: "999", raw: "{}", reason: "never held"),
        ], position: nil)
        let r = try CoverageReport.compute(store: world.store, asOf: try LocalDate(iso: "2026-11-01"),
                                           regions: ["55", "47"], link: world.key)
        let omsk = r.regions[1]
        #expect(omsk.certificatesActive == 2)                        // 1, 2 (4's latest is quarantined)
        #expect(omsk.childrenWithCertificate == 2)                   // A, B
        #expect(omsk.childrenEnrolled == 3)                          // A (through 10), B, C
        #expect(omsk.childrenEnrolledByDirection[.art] == 1)         // B (11 is quarantined)
        #expect(omsk.childrenEnrolledByDirection[.technical] == 2)   // A, C
        var exported: [String] = []
        try world.store.export(.certificates) { exported.append($0) }
        #expect(exported.contains { $0.contains("\"source_id\":\"5500000004\"") })
    }

    @Test func jsonHasEveryKeyInOrderAndNoPersonalData() throws {
        let world = try SeededWorld()
        let r = try CoverageReport.compute(store: world.store, asOf: try LocalDate(iso: "2026-11-01"),
                                           regions: ["55"], link: world.key)
        let text = r.json.serialized()
        #expect(text.hasPrefix(#"{"as_of":"2026-11-01","regions":[{"region":"55","certificates_active":3,"children_with_certificate":3,"children_enrolled":3,"children_enrolled_by_age":{"5-9":1,"10-14":1,"15-17":1,"other":0},"children_enrolled_by_direction":{"technical":2,"natural_science":0,"sport":0,"art":2,"tourism":0,"social":0}"#))
        #expect(text.hasSuffix(#""national":{"children_enrolled":3,"children_with_certificate":3}}"#))
        for secret in ["Иванова", "Мария", "2015-03-14", "112-233-445", "11223344595"] {
            #expect(!text.contains(secret))
            #expect(!r.csv.contains(secret))
        }
    }

    @Test func csvHasOneFigureARow() throws {
        let world = try SeededWorld()
        let r = try CoverageReport.compute(store: world.store, asOf: try LocalDate(iso: "2026-11-01"),
                                           regions: ["55"], link: world.key)
        let rows = r.csv.split(separator: "\n")
        #expect(rows.first == "region,metric,key,value")
        #expect(rows.contains("55,children_enrolled_by_age,15-17,1"))
        #expect(rows.contains("national,children_enrolled,,3"))
    }
}
