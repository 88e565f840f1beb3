internal import DopsyncModel

/// Kemerovo's wire records (Электронная Школа 2.0 exchange, regions/kemerovo.md)
/// to the normalized model.
///
/// Times are local to Kemerovo (UTC+07:00) without an offset; money is
/// roubles with a decimal comma and two decimals; enumerations are written
/// out in Russian and map, in the order the page lists them, onto the
/// model's values. There is no version: `ModifiedAt` is the only marker of a
/// change, so `source_version` is always `nil`.
struct KemerovoMapping: Sendable {
    static let region = "42"
    static let offset = 7 * 3600

    init() {}

    /// The element that carries one record of a collection, also the
    /// `entity` of an export request.
    static func entity(_ collection: CollectionName) -> String {
        switch collection {
        case .programs: "Program"
        case .certificates: "Certificate"
        case .contracts: "Contract"
        case .charges: "Charge"
        }
    }

    /// The element holding a record's id (a certificate has only its number).
    static func idElement(_ collection: CollectionName) -> String {
        collection == .certificates ? "Number" : "Id"
    }

    /// Russian values zipped, in the page's order, with the model's cases in
    /// their declared order (normalized-model.md, "Mapping notes").
    static func table<T: CaseIterable>(_ russian: [String], _: T.Type) -> [String: T] {
        precondition(russian.count == T.allCases.count, "the page lists as many values as the model has")
        return Dictionary(uniqueKeysWithValues: zip(russian, T.allCases))
    }

    static let directions = table(["Техническая", "Естественнонаучная", "Физкультурно-спортивная", "Художественная",
                                   "Туристско-краеведческая", "Социально-гуманитарная"], Direction.self)
    static let kinds = table(["Государственная", "Муниципальная", "Частная", "ИП"], ProviderKind.self)
    static let registries = table(["Сертифицированная", "Значимая", "Муниципальная", "Платная"], Registry.self)
    static let formats = table(["Очная", "Дистанционная", "Смешанная"], ProgramFormat.self)
    static let programStatuses = table(["Черновик", "Опубликована", "В архиве"], ProgramStatus.self)
    static let certificateTypes = table(["Финансирования", "Учета"], CertificateType.self)
    static let certificateStatuses = table(["Действует", "Приостановлен", "Закрыт"], CertificateStatus.self)
    static let contractStatuses = table(["Заявка", "Действует", "Расторгнут", "Исполнен"], ContractStatus.self)

    /// The record's id as sent, when it can be read (also for a record that
    /// is otherwise bad, so that its quarantine entry and a full walk's
    /// sweep know it).
    func sourceID(_ node: XMLElementNode, collection: CollectionName) -> String? {
        try? WireElement(node).string(Self.idElement(collection))
    }

    /// The record's `ModifiedAt` in UTC, when it can be read; a walk moves on
    /// from it even past a record that is otherwise bad.
    func modifiedAt(_ node: XMLElementNode) -> Timestamp? {
        try? timestamp(WireElement(node), "ModifiedAt")
    }

    /// Decodes one record element: a record, or a quarantine entry with the
    /// reason. The exchange reports no deletions, so there are no tombstones.
    func decode(_ node: XMLElementNode, raw: String, collection: CollectionName) -> PageItem {
        let id = sourceID(node, collection: collection)
        do {
            let expected = Self.entity(collection)
            guard node.name == expected else {
                throw ValueError("expected a <\(expected)> element, found <\(node.name)>")
            }
            let e = WireElement(node)
            let record: Record
            switch collection {
            case .programs: record = .program(try program(e))
            case .certificates: record = .certificate(try certificate(e).checkedAgeAtIssue())
            case .contracts: record = .contract(try contract(e))
            case .charges: record = .charge(try charge(e))
            }
            return .upsert(record, raw: raw)
        } catch {
            return .quarantine(sourceID: id, raw: raw, reason: "\(error)")
        }
    }

    // MARK: Values

    /// `DD.MM.YYYY HH:MM:SS` at UTC+07:00.
    func timestamp(_ e: WireElement, _ name: String) throws(ValueError) -> Timestamp {
        let s = try e.string(name)
        return try e.located(e.childPath(name)) { () throws(ValueError) in
            try Timestamp(localDotted: s, offsetSeconds: Self.offset)
        }
    }

    /// A `DD.MM.YYYY` date from an element's text or an attribute.
    func date(_ text: String, path: String, personal: Bool = false) throws(ValueError) -> LocalDate {
        do {
            return try LocalDate(dotted: text)
        } catch {
            // A birth date is personal data: say what is wrong, not what it is.
            throw ValueError(personal ? "is not a date DD.MM.YYYY" : error.reason, path: path)
        }
    }

    /// Roubles with a decimal comma and two decimals (`1250,50`), exact.
    func roubles(_ e: WireElement, _ name: String) throws(ValueError) -> Kopecks {
        let s = try e.string(name)
        return try e.located(e.childPath(name)) { () throws(ValueError) in
            let amount = try Kopecks(roubles: s)
            let b = Array(s.utf8)
            let digitsOnly = { (part: ArraySlice<UInt8>) in !part.isEmpty && part.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
            let unsigned = b.first == UInt8(ascii: "-") ? b.dropFirst() : b[...]
            guard let comma = unsigned.firstIndex(of: UInt8(ascii: ",")), digitsOnly(unsigned[..<comma]),
                  unsigned.distance(from: comma, to: unsigned.endIndex) == 3, digitsOnly(unsigned[(comma + 1)...]) else {
                throw ValueError("\"\(s)\" is not roubles with a decimal comma and two decimals (1250,50)")
            }
            return amount
        }
    }

    func nonNegativeRoubles(_ e: WireElement, _ name: String) throws(ValueError) -> Kopecks {
        try WireRules.nonNegative(try roubles(e, name), what: e.childPath(name))
    }

    func municipality(_ e: WireElement) throws(ValueError) -> Municipality {
        let m = try e.child("Municipality")
        let oktmo = try m.attribute("oktmo")
        return Municipality(
            oktmo: try m.located(m.attributePath("oktmo")) { () throws(ValueError) in
                try WireRules.digits(oktmo, lengths: [8], what: "ОКТМО")
            },
            name: m.text.isEmpty ? nil : m.text)
    }

    func meta(_ e: WireElement, id: String) throws(ValueError) -> SourceMeta {
        SourceMeta(region: Self.region, sourceID: id, updatedAt: try timestamp(e, "ModifiedAt"), version: nil)
    }

    func certificateNumber(_ e: WireElement, _ name: String) throws(ValueError) -> String {
        let number = try e.string(name)
        return try e.located(e.childPath(name)) { () throws(ValueError) in
            try WireRules.certificateNumber(number, region: Self.region)
        }
    }

    // MARK: Records

    func program(_ e: WireElement) throws(ValueError) -> Program {
        let o = try e.child("Organization")
        let inn = try o.attribute("inn"), ogrn = try o.attribute("ogrn")
        guard !o.text.isEmpty else { throw ValueError("is empty (the organization's name)", path: "Organization") }
        let age = try e.child("Age")
        let period = try e.child("Period")
        let ageMin = try age.intAttribute("from"), ageMax = try age.intAttribute("to")
        guard ageMin <= ageMax else { throw ValueError("from \(ageMin) is above to \(ageMax)", path: "Age") }
        return Program(
            meta: try meta(e, id: try e.string("Id")),
            title: try e.string("Name"),
            description: "",
            provider: Provider(
                inn: try o.located(o.attributePath("inn")) { () throws(ValueError) in
                    try WireRules.digits(inn, lengths: [10, 12], what: "ИНН")
                },
                ogrn: try o.located(o.attributePath("ogrn")) { () throws(ValueError) in
                    try WireRules.digits(ogrn, lengths: [13, 15], what: "ОГРН")
                },
                name: o.text,
                kind: try o.codeAttribute("type", Self.kinds)),
            direction: try e.code("Direction", Self.directions),
            ageMin: ageMin, ageMax: ageMax,
            hoursTotal: try e.int("Hours"),
            priceMonth: try nonNegativeRoubles(e, "MonthPrice"),
            registry: try e.code("Registry", Self.registries),
            municipality: try municipality(e),
            format: try e.code("Form", Self.formats),
            status: try e.code("Status", Self.programStatuses),
            startsOn: try date(try period.attribute("start"), path: period.attributePath("start")),
            endsOn: try date(try period.attribute("end"), path: period.attributePath("end")))
    }

    func certificate(_ e: WireElement) throws(ValueError) -> Certificate {
        let number = try certificateNumber(e, "Number")
        let c = try e.child("Child")
        let snils: Snils? = try c.optionalString("Snils").map { (s: String) throws(ValueError) in
            try c.located(c.childPath("Snils")) { () throws(ValueError) in try Snils(s) }
        }
        let birth = try c.string("BirthDate")
        return Certificate(
            meta: try meta(e, id: number),
            number: number,
            type: try e.code("Kind", Self.certificateTypes),
            child: Child(sourceID: try c.attribute("id"),
                         lastName: normalizeName(try c.string("LastName")),
                         firstName: normalizeName(try c.string("FirstName")),
                         middleName: try c.optionalString("MiddleName").map(normalizeName),
                         birthDate: try date(birth, path: c.childPath("BirthDate"), personal: true),
                         snils: snils),
            nominal: try nonNegativeRoubles(e, "Nominal"),
            balance: try nonNegativeRoubles(e, "Balance"),
            year: try e.int("Year"),
            status: try e.code("Status", Self.certificateStatuses),
            municipality: try municipality(e),
            issuedAt: try timestamp(e, "IssuedAt"))
    }

    func contract(_ e: WireElement) throws(ValueError) -> Contract {
        Contract(
            meta: try meta(e, id: try e.string("Id")),
            certificateNumber: try certificateNumber(e, "CertificateNumber"),
            programSourceID: try e.string("ProgramId"),
            startsOn: try date(try e.string("Start"), path: "Start"),
            endsOn: try date(try e.string("End"), path: "End"),
            priceMonth: try nonNegativeRoubles(e, "MonthPrice"),
            status: try e.code("Status", Self.contractStatuses))
    }

    func charge(_ e: WireElement) throws(ValueError) -> Charge {
        let month = try e.string("Month")
        return Charge(
            meta: try meta(e, id: try e.string("Id")),
            contractSourceID: try e.string("ContractId"),
            month: try e.located("Month") { () throws(ValueError) in try YearMonth(dotted: month) },
            price: try roubles(e, "Price"),
            certificatePart: try roubles(e, "FromCertificate"),
            parentPart: try roubles(e, "FromParent"))
    }
}
