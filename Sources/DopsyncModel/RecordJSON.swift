// The normalized records as exported: one JSON object a line, keys in the
// order normalized-model.md gives, absent values as null.

extension Record {
    /// The record as its export line's JSON object.
    public var json: JSONValue {
        switch self {
        case let .program(p): p.json
        case let .certificate(c): c.json
        case let .contract(c): c.json
        case let .charge(c): c.json
        }
    }

    /// Reads a record of `collection` back from its normalized JSON.
    ///
    /// - Throws: `ValueError` naming the field that does not fit the model.
    public init(json: JSONValue, collection: CollectionName) throws(ValueError) {
        let r = JSONFields(json)
        switch collection {
        case .programs: self = .program(try Program(r))
        case .certificates: self = .certificate(try Certificate(r))
        case .contracts: self = .contract(try Contract(r))
        case .charges: self = .charge(try Charge(r))
        }
    }
}

extension Municipality {
    var json: JSONValue { .object([("oktmo", .string(oktmo)), ("name", .string(name))]) }
}

extension Program {
    public var json: JSONValue {
        .object([
            ("region", .string(meta.region)),
            ("source_id", .string(meta.sourceID)),
            ("title", .string(title)),
            ("description", .string(description)),
            ("provider", .object([
                ("inn", .string(provider.inn)),
                ("ogrn", .string(provider.ogrn)),
                ("name", .string(provider.name)),
                ("kind", .string(provider.kind.rawValue)),
            ])),
            ("direction", .string(direction.rawValue)),
            ("age_min", .int(ageMin)),
            ("age_max", .int(ageMax)),
            ("hours_total", .int(hoursTotal)),
            ("price_month_kopecks", .int(priceMonth.value)),
            ("registry", .string(registry.rawValue)),
            ("municipality", municipality.json),
            ("format", .string(format.rawValue)),
            ("status", .string(status.rawValue)),
            ("starts_on", .string(startsOn?.description)),
            ("ends_on", .string(endsOn?.description)),
            ("source_updated_at", .string(meta.updatedAt?.description)),
            ("source_version", .string(meta.version)),
            ("deleted", .bool(meta.deleted)),
        ])
    }

    init(_ r: JSONFields) throws(ValueError) {
        let p = try r.object("provider")
        let m = try r.object("municipality")
        self.init(
            meta: try r.meta(),
            title: try r.string("title"),
            description: try r.string("description"),
            provider: Provider(inn: try p.string("inn"), ogrn: try p.optionalString("ogrn"),
                               name: try p.string("name"), kind: try p.enumeration("kind")),
            direction: try r.enumeration("direction"),
            ageMin: try r.int("age_min"), ageMax: try r.int("age_max"),
            hoursTotal: try r.optionalInt("hours_total"),
            priceMonth: Kopecks(Int64(try r.int("price_month_kopecks"))),
            registry: try r.enumeration("registry"),
            municipality: Municipality(oktmo: try m.string("oktmo"), name: try m.optionalString("name")),
            format: try r.enumeration("format"), status: try r.enumeration("status"),
            startsOn: try r.optionalDate("starts_on"), endsOn: try r.optionalDate("ends_on"))
    }
}

extension Certificate {
    public var json: JSONValue {
        .object([
            ("region", .string(meta.region)),
            ("source_id", .string(meta.sourceID)),
            ("number", .string(number)),
            ("type", .string(type.rawValue)),
            ("child", .object([
                ("source_id", .string(child.sourceID)),
                ("last_name", .string(child.lastName)),
                ("first_name", .string(child.firstName)),
                ("middle_name", .string(child.middleName)),
                ("birth_date", .string(child.birthDate.description)),
                ("snils", .string(child.snils?.formatted)),
            ])),
            ("nominal_kopecks", .int(nominal.value)),
            ("balance_kopecks", .int(balance.value)),
            ("year", .int(year)),
            ("status", .string(status.rawValue)),
            ("municipality", municipality.json),
            ("issued_at", .string(issuedAt?.description)),
            ("source_updated_at", .string(meta.updatedAt?.description)),
            ("source_version", .string(meta.version)),
            ("deleted", .bool(meta.deleted)),
        ])
    }

    init(_ r: JSONFields) throws(ValueError) {
        let c = try r.object("child")
        let m = try r.object("municipality")
        let snils: Snils? = try c.optionalString("snils").map { (s: String) throws(ValueError) in try Snils(s) }
        self.init(
            meta: try r.meta(),
            number: try r.string("number"),
            type: try r.enumeration("type"),
            child: Child(sourceID: try c.string("source_id"), lastName: try c.string("last_name"),
                         firstName: try c.string("first_name"), middleName: try c.optionalString("middle_name"),
                         birthDate: try c.date("birth_date"), snils: snils),
            nominal: Kopecks(Int64(try r.int("nominal_kopecks"))),
            balance: Kopecks(Int64(try r.int("balance_kopecks"))),
            year: try r.int("year"), status: try r.enumeration("status"),
            municipality: Municipality(oktmo: try m.string("oktmo"), name: try m.optionalString("name")),
            issuedAt: try r.optionalTimestamp("issued_at"))
    }
}

extension Contract {
    public var json: JSONValue {
        .object([
            ("region", .string(meta.region)),
            ("source_id", .string(meta.sourceID)),
            ("certificate_number", .string(certificateNumber)),
            ("program_source_id", .string(programSourceID)),
            ("starts_on", .string(startsOn.description)),
            ("ends_on", .string(endsOn.description)),
            ("price_month_kopecks", .int(priceMonth.value)),
            ("status", .string(status.rawValue)),
            ("source_updated_at", .string(meta.updatedAt?.description)),
            ("source_version", .string(meta.version)),
            ("deleted", .bool(meta.deleted)),
        ])
    }

    init(_ r: JSONFields) throws(ValueError) {
        self.init(
            meta: try r.meta(),
            certificateNumber: try r.optionalString("certificate_number"),
            programSourceID: try r.string("program_source_id"),
            startsOn: try r.date("starts_on"), endsOn: try r.date("ends_on"),
            priceMonth: Kopecks(Int64(try r.int("price_month_kopecks"))),
            status: try r.enumeration("status"))
    }
}

extension Charge {
    public var json: JSONValue {
        .object([
            ("region", .string(meta.region)),
            ("source_id", .string(meta.sourceID)),
            ("contract_source_id", .string(contractSourceID)),
            ("month", .string(month.description)),
            ("price_kopecks", .int(price.value)),
            ("certificate_part_kopecks", .int(certificatePart.value)),
            ("parent_part_kopecks", .int(parentPart.value)),
            ("source_updated_at", .string(meta.updatedAt?.description)),
        ])
    }

    init(_ r: JSONFields) throws(ValueError) {
        self.init(
            meta: try r.meta(hasVersion: false),
            contractSourceID: try r.string("contract_source_id"),
            month: try YearMonth(iso: try r.string("month")),
            price: Kopecks(Int64(try r.int("price_kopecks"))),
            certificatePart: Kopecks(Int64(try r.int("certificate_part_kopecks"))),
            parentPart: Kopecks(Int64(try r.int("parent_part_kopecks"))))
    }
}

/// Typed, located reads of an object's members, for the normalized form.
struct JSONFields {
    let value: JSONValue
    let path: String?

    init(_ value: JSONValue, path: String? = nil) { self.value = value; self.path = path }

    private func fail(_ key: String, _ reason: String) -> ValueError {
        ValueError(reason, path: path.map { "\($0).\(key)" } ?? key)
    }

    func object(_ key: String) throws(ValueError) -> JSONFields {
        guard let v = value[key], case .object = v else { throw fail(key, "expected an object") }
        return JSONFields(v, path: path.map { "\($0).\(key)" } ?? key)
    }

    func optionalString(_ key: String) throws(ValueError) -> String? {
        switch value[key] {
        case nil, .null?: return nil
        case let .string(s)?: return s
        default: throw fail(key, "expected a string")
        }
    }

    func string(_ key: String) throws(ValueError) -> String {
        guard let s = try optionalString(key) else { throw fail(key, "is missing") }
        return s
    }

    func optionalInt(_ key: String) throws(ValueError) -> Int? {
        switch value[key] {
        case nil, .null?: return nil
        case let .number(n)?:
            guard let i = Int(n) else { throw fail(key, "\"\(n)\" is not an integer") }
            return i
        default: throw fail(key, "expected an integer")
        }
    }

    func int(_ key: String) throws(ValueError) -> Int {
        guard let i = try optionalInt(key) else { throw fail(key, "is missing") }
        return i
    }

    func enumeration<E: RawRepresentable & CaseIterable>(_ key: String) throws(ValueError) -> E where E.RawValue == String {
        do { return try E(normalized: try string(key)) } catch { throw error.path == nil ? fail(key, error.reason) : error }
    }

    func date(_ key: String) throws(ValueError) -> LocalDate {
        do { return try LocalDate(iso: try string(key)) } catch { throw error.path == nil ? fail(key, error.reason) : error }
    }

    func optionalDate(_ key: String) throws(ValueError) -> LocalDate? {
        guard let s = try optionalString(key) else { return nil }
        do { return try LocalDate(iso: s) } catch { throw fail(key, error.reason) }
    }

    func optionalTimestamp(_ key: String) throws(ValueError) -> Timestamp? {
        guard let s = try optionalString(key) else { return nil }
        do { return try Timestamp(iso: s) } catch { throw fail(key, error.reason) }
    }

    func meta(hasVersion: Bool = true) throws(ValueError) -> SourceMeta {
        var deleted = false
        if hasVersion, case let .bool(b)? = value["deleted"] { deleted = b }
        return SourceMeta(region: try string("region"), sourceID: try string("source_id"),
                          updatedAt: try optionalTimestamp("source_updated_at"),
                          version: hasVersion ? try optionalString("source_version") : nil,
                          deleted: deleted)
    }
}
