import DopsyncModel
import DopsyncStore
import DopsyncTesting
import Foundation
import Gateway
import Testing
import Transport

/// A valid СНИЛС from its first nine digits.
func snils(_ nine: String) -> Snils {
    let digits = nine.compactMap { $0.wholeNumberValue.map(UInt8.init) }
    let check = Snils.checksum(digits)
    return try! Snils(nine + (check < 10 ? "0" : "") + String(check))
}

/// A child the world holds a certificate of: the personal data no federal
/// answer may carry.
struct SeededChild {
    let region: String
    let number: String
    let id: String
    let last: String
    let first: String
    let middle: String?
    let born: String
    let snils: Snils?

    /// Every text that would betray the child, quoted as JSON or CSV would hold it.
    var secrets: [String] {
        var s = ["\"\(last)\"", "\"\(first)\"", "\(last) \(first)", born]
        if let middle { s.append("\"\(middle)\"") }
        if let snils { s += [snils.formatted, snils.digits] }
        return s
    }
}

/// Two configured regions with programs, children, contracts, a charge, a
/// quarantined record and conflicts, served in-process on a free port.
struct World {
    static let regions = [GatewayRegion(name: "omsk", code: "55"), GatewayRegion(name: "leningrad", code: "47")]
    static let shared = snils("112233445")
    static let children = [
        SeededChild(region: "55", number: "5500000001", id: "A", last: "Жукова", first: "Ярослава", middle: "Игоревна",
                    born: "2014-02-03", snils: shared),
        SeededChild(region: "55", number: "5500000002", id: "B", last: "Абдуллаев", first: "Рустам", middle: "Гасан оглы",
                    born: "2018-07-19", snils: nil),
        SeededChild(region: "47", number: "4700000001", id: "900", last: "Жукова", first: "Ярослава", middle: "Игоревна",
                    born: "2014-02-03", snils: shared),
        SeededChild(region: "47", number: "4700000002", id: "901", last: "Тихонов", first: "Елисей", middle: "Маркович",
                    born: "2012-12-12", snils: snils("987654321")),
    ]
    /// What the quarantined certificate's raw text holds.
    static let quarantinedSecrets = ["Сидорова", "Дарина", "2013-05-06", "123-456-789 00"]

    let store: Store
    let served: ServedGateway
    var client: GatewayClient { served.client }

    static func start(store: Store? = nil, seed: Bool = true) async throws -> World {
        let store = try store ?? Store.inMemory()
        if seed { try Self.seed(store) }
        return World(store: store, served: try await ServedGateway.start(store: store, regions: regions))
    }

    func stop() async { await served.stop() }

    /// A fresh token of `role`.
    func token(_ role: APIRole, name: String? = nil) throws -> String {
        try #require(try store.createToken(name: name ?? "\(role.rawValue)-\(UUID().uuidString.prefix(8))", role: role, by: "test")).token
    }

    static let stamp = try! Timestamp(iso: "2026-09-01T00:00:00Z")

    static func program(_ region: String, _ id: String, _ direction: Direction, title: String = "Робототехника",
                        status: ProgramStatus = .published, version: Int = 1) -> Record {
        .program(Program(
            meta: SourceMeta(region: region, sourceID: id, updatedAt: stamp, version: String(version)),
            title: title, description: "Занятия в группах", provider: Provider(inn: "5504000000", ogrn: nil,
                                                                               name: "ООО «Кванториум»", kind: .private),
            direction: direction, ageMin: 5, ageMax: 17, hoursTotal: 144, priceMonth: Kopecks(100_000),
            registry: .certified, municipality: Municipality(oktmo: "52701000", name: "Омск"), format: .offline,
            status: status, startsOn: try! LocalDate(iso: "2026-09-01"), endsOn: try! LocalDate(iso: "2027-05-31")))
    }

    static func seed(_ store: Store) throws {
        let meta = { (region: String, id: String) in SourceMeta(region: region, sourceID: id, updatedAt: stamp, version: "1") }
        _ = try store.apply(region: "55", collection: .programs, items: [
            .upsert(program("55", "1", .technical), raw: "{}"), .upsert(program("55", "2", .art, title: "Живопись"), raw: "{}"),
            .upsert(program("55", "3", .sport, title: "Футбол", status: .draft), raw: "{}"),
        ], position: nil)
        _ = try store.apply(region: "47", collection: .programs, items: [.upsert(program("47", "1", .tourism, title: "Туризм"), raw: "{}")],
                            position: nil)
        for child in children {
            let certificate = Record.certificate(Certificate(
                meta: meta(child.region, child.number), number: child.number, type: .financing,
                child: Child(sourceID: child.id, lastName: child.last, firstName: child.first, middleName: child.middle,
                             birthDate: try LocalDate(iso: child.born), snils: child.snils),
                nominal: Kopecks(2_400_000), balance: Kopecks(2_300_000), year: 2026, status: .active,
                municipality: Municipality(oktmo: "52701000", name: nil), issuedAt: stamp))
            _ = try store.apply(region: child.region, collection: .certificates, items: [.upsert(certificate, raw: "{}")], position: nil)
        }
        func contract(_ region: String, _ id: String, _ number: String, program: String) throws -> PageItem {
            .upsert(.contract(Contract(meta: meta(region, id), certificateNumber: number, programSourceID: program,
                                       startsOn: try LocalDate(iso: "2026-09-01"), endsOn: try LocalDate(iso: "2027-05-31"),
                                       priceMonth: Kopecks(100_000), status: .active)), raw: "{}")
        }
        _ = try store.apply(region: "55", collection: .contracts, items: [
            try contract("55", "10", "5500000001", program: "1"), try contract("55", "11", "5500000002", program: "2"),
        ], position: nil)
        _ = try store.apply(region: "47", collection: .contracts, items: [
            try contract("47", "1", "4700000001", program: "1"), try contract("47", "2", "4700000002", program: "1"),
        ], position: nil)
        var chargeMeta = meta("55", "100")
        chargeMeta.version = nil
        _ = try store.apply(region: "55", collection: .charges, items: [
            .upsert(.charge(Charge(meta: chargeMeta, contractSourceID: "10", month: try YearMonth(iso: "2026-09"),
                                   price: Kopecks(100_000), certificatePart: Kopecks(100_000), parentPart: Kopecks(0))), raw: "{}"),
        ], position: nil)
        _ = try store.apply(region: "55", collection: .certificates, items: [
            .quarantine(sourceID: "5500000009",
                        raw: #"{"number":"5500000009","fio":"Сидорова Дарина Олеговна","birth":"2013-05-06","snils":"123-456-789 00"}"#,
                        reason: "snils: checksum fails"),
        ], position: nil)
        _ = try store.reconcileConflicts(kinds: ["balance_mismatch", "broken_reference"], found: [
            ConflictCandidate(kind: "balance_mismatch", dedupKey: "55/5500000001", region: "55", collection: .certificates,
                              sourceID: "5500000001", summary: "balance 23000.00 ≠ nominal 24000.00 − charged 1000.00",
                              detail: .object([("balance_kopecks", .int(2_300_000))])),
            ConflictCandidate(kind: "broken_reference", dedupKey: "contracts/47/2", region: "47", collection: .contracts,
                              sourceID: "2", summary: "contract 2 names program 7, which the region does not have"),
        ], scope: ["55", "47"], closeReason: { _ in "gone" })
        try store.notePullStarted(region: "55")
        try store.notePullEnded(region: "55", error: nil)
    }
}

extension HTTPResponse {
    /// The error code of a JSON error body.
    var errorCode: String? { json?["error"]?["code"]?.string }
}
