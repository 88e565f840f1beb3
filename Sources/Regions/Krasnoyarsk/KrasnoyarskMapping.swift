public import DopsyncModel

/// Krasnoyarsk's wire records to the normalized model (regions/krasnoyarsk.md).
///
/// The same record shape comes in two envelopes: a snapshot item (the bare
/// record, no version) and a change of the feed (`seq`, `collection`, `id`,
/// `op`, and for an `upsert` its `etag` and the record as `doc`). Money is a
/// JSON number read from its text; times are UTC with `Z`.
public struct KrasnoyarskMapping: Sendable {
    public static let region = "24"

    public init() {}

    static let directions: [String: Direction] = [
        "technical": .technical, "natural_science": .natural_science, "physical_sport": .sport,
        "artistic": .art, "tourist_local_history": .tourism, "social_humanitarian": .social,
    ]
    static let legalForms: [String: ProviderKind] = [
        "gov": .state, "mun": .municipal, "ip": .individual, "llc": .private, "ano": .private, "other": .private,
    ]
    static let registries = Dictionary(uniqueKeysWithValues: Registry.allCases.map { ($0.rawValue, $0) })
    static let programStatuses = Dictionary(uniqueKeysWithValues: ProgramStatus.allCases.map { ($0.rawValue, $0) })
    static let kinds: [String: CertificateType] = ["pf": .financing, "uch": .accounting]
    static let certificateStatuses: [String: CertificateStatus] = ["active": .active, "paused": .suspended, "closed": .closed]
    static let contractStatuses: [String: ContractStatus] = [
        "requested": .application, "active": .active, "terminated": .terminated, "completed": .completed,
    ]

    /// One change of the feed as read: the collection it names (`nil` when
    /// it names none the gateway keeps), the record's id when readable, and
    /// what to store.
    public struct Change: Sendable {
        public var collection: CollectionName?
        public var sourceID: String?
        public var item: PageItem
    }

    /// Decodes a snapshot item of `collection`: a record without a version
    /// (snapshots carry no ETags), or a quarantine entry with the reason.
    public func item(_ value: JSONValue, raw: String, collection: CollectionName) -> PageItem {
        var id: String? = nil
        do {
            let o = try WireObject(value)
            id = try? o.string("id")
            let (record, certificateRef) = try self.record(o, collection: collection)
            return .upsert(record, raw: raw, certificateRef: certificateRef)
        } catch {
            return .quarantine(sourceID: id, raw: raw, reason: "\(error)")
        }
    }

    /// Decodes one change of the feed. A `delete` carries no fields: the
    /// store keeps the record's last ones (and keeps nothing of a record it
    /// never held). An `upsert`'s version is its ETag without the quotes.
    public func change(_ value: JSONValue, raw: String) -> Change {
        var change = Change(collection: nil, sourceID: nil, item: .quarantine(sourceID: nil, raw: raw, reason: ""))
        do {
            let o = try WireObject(value)
            let name = try o.string("collection")
            guard let collection = CollectionName(rawValue: name) else {
                throw ValueError("unknown collection \"\(name)\"", path: "collection")
            }
            change.collection = collection
            change.sourceID = try? o.string("id")
            let id = try uuid(o, "id")
            switch try o.string("op") {
            case "delete":
                change.item = .delete(sourceID: id, updatedAt: nil, version: nil, raw: raw)
            case "upsert":
                let etag = try entityTag(o, "etag")
                let decoded = try self.record(try o.object("doc"), collection: collection)
                var record = decoded.0
                guard record.meta.sourceID == id else {
                    throw ValueError("\"\(record.meta.sourceID)\" is not the change's id \"\(id)\"", path: "doc.id")
                }
                if collection != .charges { record.meta.version = etag }
                change.item = .upsert(record, raw: raw, certificateRef: decoded.certificateRef)
            case let op:
                throw ValueError("unknown op \"\(op)\" (expected upsert or delete)", path: "op")
            }
        } catch {
            change.item = .quarantine(sourceID: change.sourceID, raw: raw, reason: "\(error)")
        }
        return change
    }

    /// A record of `collection` and, for a contract, the certificate's id for
    /// the store to resolve into its number.
    func record(_ o: WireObject, collection: CollectionName) throws(ValueError) -> (Record, certificateRef: String?) {
        switch collection {
        case .programs: return (.program(try program(o)), nil)
        case .certificates: return (.certificate(try certificate(o).checkedAgeAtIssue()), nil)
        case .contracts:
            let certificate = try uuid(o, "certificate_id")
            return (.contract(try contract(o)), certificate)
        case .charges: return (.charge(try charge(o)), nil)
        }
    }

    /// An identifier: a UUID (`8-4-4-4-12` hexadecimal digits), as sent.
    func uuid(_ o: WireObject, _ key: String) throws(ValueError) -> String {
        let s = try o.string(key)
        let groups = s.split(separator: "-", omittingEmptySubsequences: false)
        guard groups.map(\.utf8.count) == [8, 4, 4, 4, 12],
              groups.allSatisfy({ $0.utf8.allSatisfy { $0.isHexDigit } }) else {
            throw o.fail(key, "\"\(s)\" is not a UUID")
        }
        return s
    }

    /// A strong entity tag, `"7"`, as its opaque text `7`.
    func entityTag(_ o: WireObject, _ key: String) throws(ValueError) -> String {
        let s = try o.string(key)
        let inner = s.utf8.dropFirst().dropLast()
        guard s.utf8.count >= 3, s.utf8.first == UInt8(ascii: "\""), s.utf8.last == UInt8(ascii: "\""),
              !inner.contains(UInt8(ascii: "\"")) else {
            throw o.fail(key, "\(s) is not a quoted entity tag such as \"\\\"7\\\"\"")
        }
        return String(decoding: inner, as: UTF8.self)
    }

    /// Money: a JSON number of roubles with at most two decimals, read from
    /// its text (a string is not the documented form).
    func money(_ o: WireObject, _ key: String) throws(ValueError) -> Kopecks {
        switch o.raw(key) {
        case .number?, nil: return try o.roubles(key)
        default: throw o.fail(key, "expected a JSON number of roubles")
        }
    }

    func meta(_ o: WireObject) throws(ValueError) -> SourceMeta {
        SourceMeta(region: Self.region, sourceID: try uuid(o, "id"), updatedAt: try o.timestamp("modified_at"), version: nil)
    }

    /// The main direction: the first of `directions`; every code must be known.
    func mainDirection(_ o: WireObject) throws(ValueError) -> Direction {
        guard let value = o.raw("directions") else { throw o.fail("directions", "is missing") }
        guard case let .array(codes) = value else { throw o.fail("directions", "expected an array of strings") }
        guard !codes.isEmpty else { throw o.fail("directions", "is empty") }
        var main: Direction? = nil
        for (i, code) in codes.enumerated() {
            guard case let .string(s) = code, let d = Self.directions[s] else {
                let shown = if case let .string(s) = code { "\"\(s)\"" } else { "a non-string" }
                throw o.fail("directions[\(i)]", "unknown code \(shown) (expected one of \(Self.directions.keys.sorted().joined(separator: ", ")))")
            }
            if main == nil { main = d }
        }
        return main!
    }

    func program(_ o: WireObject) throws(ValueError) -> Program {
        let p = try o.object("provider")
        let age = try o.object("age")
        return Program(
            meta: try meta(o),
            title: try o.string("title"),
            description: "",
            provider: Provider(inn: try p.inn(), ogrn: try p.ogrn(), name: try p.string("name"),
                               kind: try p.code("legal_form", Self.legalForms)),
            direction: try mainDirection(o),
            ageMin: try age.int("min"), ageMax: try age.int("max"),
            hoursTotal: try o.int("hours"),
            priceMonth: try WireRules.nonNegative(try money(o, "price_month"), what: "price_month"),
            registry: try o.code("registry", Self.registries),
            municipality: try o.municipality(),
            format: try o.bool("online") ? .online : .offline,
            status: try o.code("status", Self.programStatuses),
            startsOn: try o.date("starts_on"), endsOn: try o.date("ends_on"))
    }

    func certificate(_ o: WireObject) throws(ValueError) -> Certificate {
        let number = try o.string("number")
        let c = try o.object("child")
        let fullName = try c.string("full_name")
        let name = try c.located("full_name") { () throws(ValueError) in try splitFullName(fullName) }
        return Certificate(
            meta: try meta(o),
            number: try o.located("number") { () throws(ValueError) in
                try WireRules.certificateNumber(number, region: Self.region)
            },
            type: try o.code("kind", Self.kinds),
            child: Child(sourceID: try uuid(c, "id"), lastName: name.last, firstName: name.first, middleName: name.middle,
                         birthDate: try c.birthDate("birth_date"), snils: try c.optionalSnils()),
            nominal: try WireRules.nonNegative(try money(o, "nominal"), what: "nominal"),
            balance: try WireRules.nonNegative(try money(o, "balance"), what: "balance"),
            year: try o.int("year"),
            status: try o.code("status", Self.certificateStatuses),
            municipality: try o.municipality(),
            issuedAt: try o.timestamp("issued_at"))
    }

    /// A contract; its certificate number stays `nil` for the store to fill
    /// from the certificate's id.
    func contract(_ o: WireObject) throws(ValueError) -> Contract {
        Contract(
            meta: try meta(o),
            certificateNumber: nil,
            programSourceID: try uuid(o, "program_id"),
            startsOn: try o.date("starts_on"), endsOn: try o.date("ends_on"),
            priceMonth: try WireRules.nonNegative(try money(o, "price_month"), what: "price_month"),
            status: try o.code("status", Self.contractStatuses))
    }

    /// A charge. Negative parts or parts that do not add up are kept: they
    /// raise an `invalid_charge` conflict rather than a quarantine.
    func charge(_ o: WireObject) throws(ValueError) -> Charge {
        let month = try o.string("month")
        return Charge(
            meta: try meta(o),
            contractSourceID: try uuid(o, "contract_id"),
            month: try o.located("month") { () throws(ValueError) in try YearMonth(iso: month) },
            price: try money(o, "price"),
            certificatePart: try money(o, "certificate_part"),
            parentPart: try money(o, "parent_part"))
    }
}

fileprivate extension UInt8 {
    var isHexDigit: Bool {
        (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self)
    }
}
