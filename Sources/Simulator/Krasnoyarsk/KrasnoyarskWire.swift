internal import DopsyncModel
internal import Foundation
internal import Synchronization

/// How Krasnoyarsk writes its records (regions/krasnoyarsk.md), and the wire
/// facts the normalized model drops: a program's provider `legal_form` and
/// its further `directions`, and each certificate's UUID by number (contracts
/// name their certificate by UUID). Thread-safe; called with the world locked.
final class KrasnoyarskWire: Sendable {
    /// A program's wire fields that the normalized record does not keep.
    struct ProgramExtras: Sendable, Equatable {
        var legalForm: String
        /// The first is the main direction.
        var directions: [String]
    }

    private let extras = Mutex<[String: ProgramExtras]>([:])
    private let certificateIDs = Mutex<[String: String]>([:])

    static let directionCodes: [Direction: String] = [
        .technical: "technical", .natural_science: "natural_science", .sport: "physical_sport",
        .art: "artistic", .tourism: "tourist_local_history", .social: "social_humanitarian",
    ]
    static let legalForms: [String: ProviderKind] = [
        "gov": .state, "mun": .municipal, "ip": .individual, "llc": .private, "ano": .private, "other": .private,
    ]
    static let certificateStatuses: [CertificateStatus: String] = [.active: "active", .suspended: "paused", .closed: "closed"]
    static let contractStatuses: [ContractStatus: String] = [
        .application: "requested", .active: "active", .terminated: "terminated", .completed: "completed",
    ]

    /// A deterministic random-looking UUID (version 4 form) for record
    /// `index` of a kind, so that a seed gives the same ids.
    static func uuid(_ kind: UInt64, _ index: Int) -> String {
        var random = SeededRandom(seed: kind << 40 ^ UInt64(index))
        func hex(_ v: UInt64) -> [Character] {
            let s = String(v, radix: 16)
            return Array(String(repeating: "0", count: 16 - s.count) + s)
        }
        var h = hex(random.next()) + hex(random.next())
        h[12] = "4"
        h[16] = ["8", "9", "a", "b"][Int(random.next() % 4)]
        let s = String(h)
        func part(_ from: Int, _ count: Int) -> Substring { s.dropFirst(from).prefix(count) }
        return "\(part(0, 8))-\(part(8, 4))-\(part(12, 4))-\(part(16, 4))-\(part(20, 12))"
    }

    /// Fits a record to what this wire can say: no description, and a
    /// program is online or not (no `mixed`).
    static func adapt(_ record: inout Record) {
        guard case var .program(p) = record else { return }
        p.description = ""
        if p.format == .mixed { p.format = .offline }
        record = .program(p)
    }

    /// Remembers what a changed entry adds to the wire facts.
    func note(_ entry: SimEntry) {
        if case let .certificate(c) = entry.record {
            certificateIDs.withLock { $0[c.number] = entry.sourceID }
        }
    }

    /// Sets a program's wire-only fields (from a `PUT`).
    func setExtras(_ id: String, _ value: ProgramExtras) { extras.withLock { $0[id] = value } }

    /// A program's `legal_form` and `directions`: as last written, or derived
    /// from the record (some generated programs have a second direction).
    func programExtras(_ p: Program) -> ProgramExtras {
        if let kept = extras.withLock({ $0[p.meta.sourceID] }),
           Self.legalForms[kept.legalForm] == p.provider.kind, kept.directions.first == Self.directionCodes[p.direction] {
            return kept
        }
        let legalForm = switch p.provider.kind {
        case .state: "gov"
        case .municipal: "mun"
        case .individual: "ip"
        case .private: p.provider.name.hasPrefix("ООО") ? "llc" : p.provider.name.hasPrefix("АНО") ? "ano" : "other"
        }
        let all = Direction.allCases
        let main = all.firstIndex(of: p.direction)!
        var directions = [Self.directionCodes[p.direction]!]
        let h = p.meta.sourceID.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xFFFF }
        if h % 3 == 0 { directions.append(Self.directionCodes[all[(main + 1 + h % 5) % 6]]!) }
        return ProgramExtras(legalForm: legalForm, directions: directions)
    }

    /// Money as a JSON number the way a backend writes it: `1250.5`, `1250`.
    static func money(_ k: Kopecks) -> JSONValue {
        var text = k.roubles(separator: ".")
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return .number(text)
    }

    static func municipality(_ m: Municipality) -> JSONValue {
        .object([("oktmo", .string(m.oktmo)), ("name", .string(m.name))])
    }

    /// The wire form of a live entry (a snapshot item, a change's `doc`, the
    /// body of `GET /v3/{collection}/{id}`), with its defect written in.
    func render(_ e: SimEntry) -> JSONValue {
        let modified: (String, JSONValue) = ("modified_at", .string(e.updatedAt.description))
        switch e.record {
        case let .program(p):
            let extras = programExtras(p)
            let price = e.defect == .threeDecimals ? .number(p.priceMonth.roubles(separator: ".") + "5") : Self.money(p.priceMonth)
            return .object([
                ("id", .string(p.meta.sourceID)), ("title", .string(p.title)),
                ("provider", .object([("inn", .string(p.provider.inn)), ("ogrn", .string(p.provider.ogrn)),
                                      ("name", .string(p.provider.name)), ("legal_form", .string(extras.legalForm))])),
                ("directions", .array(extras.directions.map { .string($0) })),
                ("age", .object([("min", .int(p.ageMin)), ("max", .int(p.ageMax))])),
                ("hours", .int(p.hoursTotal)), ("price_month", price), ("registry", .string(p.registry.rawValue)),
                ("municipality", Self.municipality(p.municipality)), ("online", .bool(p.format == .online)),
                ("status", .string(p.status.rawValue)),
                ("starts_on", .string(p.startsOn?.description)), ("ends_on", .string(p.endsOn?.description)),
                modified,
            ])
        case let .certificate(c):
            let name = [c.child.lastName, c.child.firstName, c.child.middleName].compactMap { $0 }.joined(separator: " ")
            let snils: JSONValue = e.defect == .badSnils ? .string(Defect.brokenSnils(c.child.snils))
                : .string(c.child.snils?.formatted)
            return .object([
                ("id", .string(c.meta.sourceID)), ("number", .string(c.number)),
                ("kind", .string(c.type == .financing ? "pf" : "uch")),
                ("child", .object([("id", .string(c.child.sourceID)), ("full_name", .string(name)),
                                   ("birth_date", .string(c.child.birthDate.description)), ("snils", snils)])),
                ("nominal", Self.money(c.nominal)), ("balance", Self.money(c.balance)), ("year", .int(c.year)),
                ("status", .string(Self.certificateStatuses[c.status]!)),
                ("municipality", Self.municipality(c.municipality)),
                ("issued_at", .string(c.issuedAt?.description)), modified,
            ])
        case let .contract(c):
            let certificate = c.certificateNumber.flatMap { n in certificateIDs.withLock { $0[n] } }
            return .object([
                ("id", .string(c.meta.sourceID)), ("certificate_id", .string(certificate)),
                ("program_id", .string(c.programSourceID)),
                ("starts_on", .string(c.startsOn.description)), ("ends_on", .string(c.endsOn.description)),
                ("price_month", Self.money(c.priceMonth)),
                ("status", .string(e.defect == .unknownCode ? "pending" : Self.contractStatuses[c.status]!)), modified,
            ])
        case let .charge(c):
            return .object([
                ("id", .string(c.meta.sourceID)), ("contract_id", .string(c.contractSourceID)),
                ("month", .string(e.defect == .wrongDateForm ? c.month.dotted : c.month.description)),
                ("price", Self.money(c.price)), ("certificate_part", Self.money(c.certificatePart)),
                ("parent_part", Self.money(c.parentPart)), modified,
            ])
        }
    }
}
