public import DopsyncModel

/// Omsk's wire records to the normalized model (regions/omsk.md).
public struct OmskMapping: Sendable {
    public static let region = "55"
    static let offset = 6 * 3600

    public init() {}

    static let directions: [String: Direction] = [
        "tech": .technical, "natsci": .natural_science, "sport": .sport, "art": .art,
        "tourism": .tourism, "social": .social,
    ]
    static let kinds = Dictionary(uniqueKeysWithValues: ProviderKind.allCases.map { ($0.rawValue, $0) })
    static let registries = Dictionary(uniqueKeysWithValues: Registry.allCases.map { ($0.rawValue, $0) })
    static let formats = Dictionary(uniqueKeysWithValues: ProgramFormat.allCases.map { ($0.rawValue, $0) })
    static let programStatuses = Dictionary(uniqueKeysWithValues: ProgramStatus.allCases.map { ($0.rawValue, $0) })
    static let certificateTypes = Dictionary(uniqueKeysWithValues: CertificateType.allCases.map { ($0.rawValue, $0) })
    static let certificateStatuses = Dictionary(uniqueKeysWithValues: CertificateStatus.allCases.map { ($0.rawValue, $0) })
    static let contractStatuses = Dictionary(uniqueKeysWithValues: ContractStatus.allCases.map { ($0.rawValue, $0) })
    /// A program's ages, inclusive, as the page bounds them.
    static let ages = 3...18

    /// The record's `updatedAt` normalized to UTC text, when it can be read;
    /// used to move the walk's watermark even past a quarantined record.
    func updatedAt(_ value: JSONValue) -> String? {
        guard case let .string(s)? = value["updatedAt"], let t = try? Timestamp(iso: s) else { return nil }
        return t.iso(offsetSeconds: Self.offset)
    }

    /// Decodes one wire record: a record, a tombstone, or a quarantine entry
    /// with the reason.
    public func decode(_ value: JSONValue, raw: String, collection: CollectionName) -> PageItem {
        var id: String? = nil
        do {
            let o = try WireObject(value)
            id = try? o.id(collection == .certificates && !o.has("id") ? "number" : "id")
            if o.has("deleted"), try o.bool("deleted") {
                guard let id else { throw ValueError("tombstone has no id") }
                return .delete(sourceID: id, updatedAt: try o.timestamp("updatedAt"),
                               version: try o.integerID("version"), raw: raw)
            }
            let record: Record
            switch collection {
            case .programs: record = .program(try program(o))
            case .certificates: record = .certificate(try certificate(o).checkedAgeAtIssue())
            case .contracts: record = .contract(try contract(o))
            case .charges: record = .charge(try charge(o))
            }
            return .upsert(record, raw: raw)
        } catch {
            return .quarantine(sourceID: id, raw: raw, reason: "\(error)")
        }
    }

    func meta(_ o: WireObject, id: String) throws(ValueError) -> SourceMeta {
        SourceMeta(region: Self.region, sourceID: id, updatedAt: try o.timestamp("updatedAt"),
                   version: try o.integerID("version"))
    }

    func program(_ o: WireObject) throws(ValueError) -> Program {
        let p = try o.object("provider")
        return Program(
            meta: try meta(o, id: try o.integerID("id")),
            title: try o.string("title"),
            description: try o.optionalString("description") ?? "",
            provider: Provider(
                inn: try p.inn(), ogrn: try p.ogrn(),
                name: try p.string("name"),
                kind: try p.code("kind", Self.kinds)),
            direction: try o.code("direction", Self.directions),
            ageMin: try o.int("ageFrom", in: Self.ages), ageMax: try o.int("ageTo", in: Self.ages),
            hoursTotal: try o.int("hoursTotal"),
            priceMonth: try WireRules.nonNegative(try o.roubles("pricePerMonth"), what: "pricePerMonth"),
            registry: try o.code("registry", Self.registries),
            municipality: try o.municipality(),
            format: try o.code("format", Self.formats),
            status: try o.code("status", Self.programStatuses),
            startsOn: try o.date("startDate"), endsOn: try o.date("endDate"))
    }

    func certificate(_ o: WireObject) throws(ValueError) -> Certificate {
        let number = try o.string("number")
        let c = try o.object("child")
        let middle = try c.optionalString("middleName").map(normalizeName)
        return Certificate(
            meta: try meta(o, id: number),
            number: try o.located("number") { () throws(ValueError) in try WireRules.certificateNumber(number, region: Self.region) },
            type: try o.code("type", Self.certificateTypes),
            child: Child(sourceID: try c.integerID("id"),
                         lastName: normalizeName(try c.string("lastName")),
                         firstName: normalizeName(try c.string("firstName")),
                         middleName: middle?.isEmpty == true ? nil : middle,
                         birthDate: try c.birthDate("birthDate"), snils: try c.optionalSnils()),
            nominal: try WireRules.nonNegative(try o.roubles("nominal"), what: "nominal"),
            balance: try WireRules.nonNegative(try o.roubles("balance"), what: "balance"),
            year: try o.int("year"),
            status: try o.code("status", Self.certificateStatuses),
            municipality: try o.municipality(),
            issuedAt: try o.timestamp("issuedAt"))
    }

    func contract(_ o: WireObject) throws(ValueError) -> Contract {
        let number = try o.string("certificateNumber")
        return Contract(
            meta: try meta(o, id: try o.integerID("id")),
            certificateNumber: try o.located("certificateNumber") { () throws(ValueError) in
                try WireRules.certificateNumber(number, region: Self.region)
            },
            programSourceID: try o.integerID("programId"),
            startsOn: try o.date("startDate"), endsOn: try o.date("endDate"),
            priceMonth: try WireRules.nonNegative(try o.roubles("pricePerMonth"), what: "pricePerMonth"),
            status: try o.code("status", Self.contractStatuses))
    }

    func charge(_ o: WireObject) throws(ValueError) -> Charge {
        let month = try o.string("month")
        var meta = try meta(o, id: try o.integerID("id"))
        meta.version = nil
        return Charge(
            meta: meta,
            contractSourceID: try o.integerID("contractId"),
            month: try o.located("month") { () throws(ValueError) in try YearMonth(iso: month) },
            price: try o.roubles("price"),
            certificatePart: try o.roubles("certificatePart"),
            parentPart: try o.roubles("parentPart"))
    }
}
