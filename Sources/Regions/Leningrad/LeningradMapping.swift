public import DopsyncModel

/// Leningrad's wire records to the normalized model (regions/leningrad.md).
///
/// Times are Moscow local time without an offset (UTC+03:00), money whole
/// kopecks, dates `DD.MM.YYYY`, charge periods `MM.YYYY`, codes integers or
/// Russian abbreviations. A record with `"is_deleted": 1` carries all its
/// fields and becomes a deleted record with them. Certificates are named by
/// their internal `id`; a contract names its certificate by that id, which it
/// hands to the store as `certificateRef`.
public struct LeningradMapping: Sendable {
    /// The region's code in records.
    public static let region = "47"
    /// Moscow time, UTC+03:00, all year.
    public static let offset = 3 * 3600

    public init() {}

    static let orgTypes: [Int: ProviderKind] = [1: .state, 2: .municipal, 3: .private, 4: .individual]
    static let focuses: [Int: Direction] = [1: .technical, 2: .natural_science, 3: .sport, 4: .art, 5: .tourism, 6: .social]
    static let registers: [String: Registry] = ["ПФ": .certified, "ЗН": .significant, "МУН": .municipal, "ПЛ": .paid]
    static let states: [String: ProgramStatus] = ["new": .draft, "active": .published, "closed": .archived]
    static let certificateKinds: [String: CertificateType] = ["ПФ": .financing, "УЧ": .accounting]
    static let contractStatuses: [Int: ContractStatus] = [0: .application, 1: .active, 2: .terminated, 3: .completed]

    /// The record's `updated_at` in UTC, when it can be read; the walk moves
    /// on by it even past a record that is quarantined.
    func updatedAt(_ value: JSONValue) -> Timestamp? {
        guard case let .string(s)? = value["updated_at"] else { return nil }
        return try? Timestamp(localISO: s, offsetSeconds: Self.offset)
    }

    /// Decodes one wire record: a record (deleted ones included), or a
    /// quarantine entry with the reason, naming the field.
    public func decode(_ value: JSONValue, raw: String, collection: CollectionName) -> PageItem {
        var id: String? = nil
        do {
            let o = try WireObject(value)
            id = try? o.id("id")
            switch collection {
            case .programs: return .upsert(.program(try program(o)), raw: raw)
            case .certificates: return .upsert(.certificate(try certificate(o).checkedAgeAtIssue()), raw: raw)
            case .contracts:
                let (contract, certificateID) = try self.contract(o)
                return .upsert(.contract(contract), raw: raw, certificateRef: certificateID)
            case .charges: return .upsert(.charge(try charge(o)), raw: raw)
            }
        } catch {
            return .quarantine(sourceID: id, raw: raw, reason: "\(error)")
        }
    }

    // MARK: Fields

    func timestamp(_ o: WireObject, _ key: String) throws(ValueError) -> Timestamp {
        let s = try o.string(key)
        return try o.located(key) { () throws(ValueError) in try Timestamp(localISO: s, offsetSeconds: Self.offset) }
    }

    /// A `DD.MM.YYYY` date.
    func date(_ o: WireObject, _ key: String) throws(ValueError) -> LocalDate {
        let s = try o.string(key)
        return try o.located(key) { () throws(ValueError) in try LocalDate(dotted: s) }
    }

    /// A `0 | 1` flag.
    func flag(_ o: WireObject, _ key: String) throws(ValueError) -> Bool {
        switch try o.int(key) {
        case 0: return false
        case 1: return true
        case let n: throw ValueError("\(n) is neither 0 nor 1", path: key)
        }
    }

    /// A value of `table` by its integer wire code.
    func code<T>(_ o: WireObject, _ key: String, _ table: [Int: T]) throws(ValueError) -> T {
        let n = try o.int(key)
        guard let v = table[n] else {
            throw ValueError("unknown code \(n) (expected one of \(table.keys.sorted().map(String.init).joined(separator: ", ")))",
                             path: key)
        }
        return v
    }

    func digits(_ o: WireObject, _ key: String, lengths: [Int], what: String) throws(ValueError) -> String {
        let s = try o.string(key)
        return try o.located(key) { () throws(ValueError) in try WireRules.digits(s, lengths: lengths, what: what) }
    }

    /// An amount of kopecks that may not be negative (prices, nominals, balances).
    func amount(_ o: WireObject, _ key: String) throws(ValueError) -> Kopecks {
        let amount = try o.kopecks(key)
        return try o.located(key) { () throws(ValueError) in try WireRules.nonNegative(amount, what: "the amount") }
    }

    func meta(_ o: WireObject, id: String) throws(ValueError) -> SourceMeta {
        SourceMeta(region: Self.region, sourceID: id, updatedAt: try timestamp(o, "updated_at"),
                   version: try o.integerID("version"), deleted: try flag(o, "is_deleted"))
    }

    /// Only the ОКТМО code travels; the municipality's name is not sent.
    func municipality(_ o: WireObject) throws(ValueError) -> Municipality {
        Municipality(oktmo: try digits(o, "oktmo", lengths: [8], what: "ОКТМО"), name: nil)
    }

    // MARK: Records

    func program(_ o: WireObject) throws(ValueError) -> Program {
        Program(
            meta: try meta(o, id: try o.integerID("id")),
            title: try o.string("name"),
            description: "",
            provider: Provider(
                inn: try digits(o, "org_inn", lengths: [10, 12], what: "ИНН"),
                ogrn: try digits(o, "org_ogrn", lengths: [13, 15], what: "ОГРН"),
                name: try o.string("org_name"),
                kind: try code(o, "org_type", Self.orgTypes)),
            direction: try code(o, "focus", Self.focuses),
            ageMin: try o.int("age_min"), ageMax: try o.int("age_max"),
            hoursTotal: try o.int("hours"),
            priceMonth: try amount(o, "month_price"),
            registry: try o.code("register", Self.registers),
            municipality: try municipality(o),
            format: try flag(o, "is_online") ? .online : .offline,
            status: try o.code("state", Self.states),
            startsOn: try date(o, "date_start"), endsOn: try date(o, "date_end"))
    }

    func certificate(_ o: WireObject) throws(ValueError) -> Certificate {
        let number = try o.string("cert_number")
        let fio = normalizeName(try o.string("fio"))
        let name = try o.located("fio") { () throws(ValueError) in try splitFullName(fio) }
        let snils: Snils? = try o.optionalString("snils").map { (s: String) throws(ValueError) in
            try o.located("snils") { () throws(ValueError) in
                // The page's form is eleven digits; the other form is not this region's.
                guard s.utf8.count == 11 else { throw ValueError("СНИЛС is not eleven digits without separators") }
                return try Snils(s)
            }
        }
        // closed_at set means closed, whatever `blocked` says; else blocked 1 is suspended.
        let blocked = try flag(o, "blocked")
        let closed = o.has("closed_at") ? try timestamp(o, "closed_at") : nil
        return Certificate(
            meta: try meta(o, id: try o.integerID("id")),
            number: try o.located("cert_number") { () throws(ValueError) in
                try WireRules.certificateNumber(number, region: Self.region)
            },
            type: try o.code("cert_kind", Self.certificateKinds),
            child: Child(sourceID: try o.integerID("child_id"), lastName: name.last, firstName: name.first,
                         middleName: name.middle, birthDate: try o.personal("birthday", expected: "a date DD.MM.YYYY") { () throws(ValueError) in
                             try date(o, "birthday")
                         }, snils: snils),
            nominal: try amount(o, "nominal"),
            balance: try amount(o, "balance"),
            year: try o.int("period"),
            status: closed != nil ? .closed : blocked ? .suspended : .active,
            municipality: try municipality(o),
            issuedAt: try timestamp(o, "created_at"))
    }

    /// The contract, and the internal id of its certificate, which the store
    /// resolves to the certificate's number (`certificate_number` is `nil` here).
    func contract(_ o: WireObject) throws(ValueError) -> (Contract, String) {
        let certificateID = try o.integerID("certificate_id")
        let contract = Contract(
            meta: try meta(o, id: try o.integerID("id")),
            certificateNumber: nil,
            programSourceID: try o.integerID("program_id"),
            startsOn: try date(o, "date_start"), endsOn: try date(o, "date_end"),
            priceMonth: try amount(o, "month_price"),
            status: try code(o, "status", Self.contractStatuses))
        return (contract, certificateID)
    }

    /// A charge. Its parts are taken as sent, negative ones too: a charge
    /// that does not add up is kept and raises `invalid_charge`.
    func charge(_ o: WireObject) throws(ValueError) -> Charge {
        let period = try o.string("period")
        var meta = try meta(o, id: try o.integerID("id"))
        // Charges are immutable: their version (always 1) is not part of the model.
        _ = try o.integerID("version")
        meta.version = nil
        return Charge(
            meta: meta,
            contractSourceID: try o.integerID("contract_id"),
            month: try o.located("period") { () throws(ValueError) in try YearMonth(dotted: period) },
            price: try o.kopecks("price"),
            certificatePart: try o.kopecks("from_certificate"),
            parentPart: try o.kopecks("from_parent"))
    }
}
