public import DopsyncModel
public import DopsyncStore

/// The federal coverage report of normalized-model.md, for one date.
///
/// Counts only live records: deleted ones count nowhere, nor do quarantined
/// ones (a record whose latest version is in quarantine is left out with
/// it, though the store keeps its last good version). Children are counted per region by their id in
/// that region, and once nationally where their СНИЛС links them (compared as
/// keyed hashes). The report carries no personal data.
public struct CoverageReport: Sendable, Equatable {
    public struct MonthCharges: Sendable, Equatable {
        public var month: YearMonth
        public var certificateKopecks: Int64
        public var parentKopecks: Int64
    }

    public struct Region: Sendable, Equatable {
        public var region: String
        public var certificatesActive = 0
        public var childrenWithCertificate = 0
        public var childrenEnrolled = 0
        /// Keys `5-9`, `10-14`, `15-17`, `other`.
        public var childrenEnrolledByAge: [String: Int] = ["5-9": 0, "10-14": 0, "15-17": 0, "other": 0]
        public var childrenEnrolledByDirection: [Direction: Int] = Dictionary(uniqueKeysWithValues: Direction.allCases.map { ($0, 0) })
        public var programsPublishedByDirection: [Direction: Int] = Dictionary(uniqueKeysWithValues: Direction.allCases.map { ($0, 0) })
        public var chargesByMonth: [MonthCharges] = []

        public init(region: String) { self.region = region }
    }

    public var asOf: LocalDate
    public var regions: [Region]
    public var nationalChildrenEnrolled = 0
    public var nationalChildrenWithCertificate = 0

    static let ageBands = ["5-9", "10-14", "15-17", "other"]

    static func ageBand(_ age: Int) -> String {
        switch age {
        case 5...9: "5-9"
        case 10...14: "10-14"
        case 15...17: "15-17"
        default: "other"
        }
    }

    /// Computes the report from the store.
    ///
    /// - Parameters:
    ///   - regions: the configured region codes; each appears even with nothing in it.
    ///   - link: the keyed hash that links a child across regions by СНИЛС.
    public static func compute(store: Store, asOf: LocalDate, regions: [String],
                               link: LinkKey) throws(StoreError) -> CoverageReport {
        struct Child { let key: String; let national: String; let birth: LocalDate }
        var report = CoverageReport(asOf: asOf, regions: regions.sorted().map(Region.init))
        let index = Dictionary(uniqueKeysWithValues: report.regions.enumerated().map { ($1.region, $0) })

        // Certificates: who holds one, and the child behind each number.
        var certificateChild: [String: [String: Child]] = [:]   // region → number → child
        var withCertificate: [String: Set<String>] = [:]
        var nationalWithCertificate = Set<String>()
        try forEach(store, .certificates) { record in
            guard case let .certificate(c) = record, let i = index[c.meta.region] else { return }
            let region = c.meta.region
            let national = c.child.snils.map { "snils:" + link.link(snilsDigits: $0.digits) } ?? "child:\(region):\(c.child.sourceID)"
            certificateChild[region, default: [:]][c.number] = Child(key: c.child.sourceID, national: national, birth: c.child.birthDate)
            if c.status == .active {
                report.regions[i].certificatesActive += 1
                withCertificate[region, default: []].insert(c.child.sourceID)
                nationalWithCertificate.insert(national)
            }
        }

        // Programs: published ones by direction, and every program's direction.
        var programDirection: [String: [String: Direction]] = [:]
        try forEach(store, .programs) { record in
            guard case let .program(p) = record, let i = index[p.meta.region] else { return }
            programDirection[p.meta.region, default: [:]][p.meta.sourceID] = p.direction
            if p.status == .published { report.regions[i].programsPublishedByDirection[p.direction]! += 1 }
        }

        // Contracts: who is enrolled on the date, at what age, in which directions.
        var enrolled: [String: [String: LocalDate]] = [:]
        var enrolledByDirection: [String: [Direction: Set<String>]] = [:]
        var nationalEnrolled = Set<String>()
        try forEach(store, .contracts) { record in
            guard case let .contract(c) = record, index[c.meta.region] != nil, c.status == .active,
                  c.startsOn <= asOf, asOf <= c.endsOn,
                  let number = c.certificateNumber, let child = certificateChild[c.meta.region]?[number] else { return }
            let region = c.meta.region
            enrolled[region, default: [:]][child.key] = child.birth
            nationalEnrolled.insert(child.national)
            if let direction = programDirection[region]?[c.programSourceID] {
                enrolledByDirection[region, default: [:]][direction, default: []].insert(child.key)
            }
        }

        // Charges: sums by month up to the month of the date.
        let lastMonth = try! YearMonth(year: asOf.year, month: asOf.month)
        var charges: [String: [YearMonth: (Int64, Int64)]] = [:]
        try forEach(store, .charges) { record in
            guard case let .charge(c) = record, index[c.meta.region] != nil, c.month <= lastMonth else { return }
            let sums = charges[c.meta.region, default: [:]][c.month] ?? (0, 0)
            charges[c.meta.region, default: [:]][c.month] = (sums.0 + c.certificatePart.value, sums.1 + c.parentPart.value)
        }

        for i in report.regions.indices {
            let region = report.regions[i].region
            report.regions[i].childrenWithCertificate = withCertificate[region]?.count ?? 0
            let children = enrolled[region] ?? [:]
            report.regions[i].childrenEnrolled = children.count
            for birth in children.values {
                report.regions[i].childrenEnrolledByAge[ageBand(asOf.years(since: birth))]! += 1
            }
            for (direction, set) in enrolledByDirection[region] ?? [:] {
                report.regions[i].childrenEnrolledByDirection[direction] = set.count
            }
            report.regions[i].chargesByMonth = (charges[region] ?? [:]).sorted { $0.key < $1.key }.map {
                MonthCharges(month: $0.key, certificateKopecks: $0.value.0, parentKopecks: $0.value.1)
            }
        }
        report.nationalChildrenEnrolled = nationalEnrolled.count
        report.nationalChildrenWithCertificate = nationalWithCertificate.count
        return report
    }

    /// Calls `body` with each live record of a collection.
    private static func forEach(_ store: Store, _ collection: CollectionName,
                                _ body: (Record) throws -> Void) throws(StoreError) {
        let quarantined = try store.quarantinedRecords(collection)
        try store.export(collection) { line in
            let record: Record
            do {
                let json = try JSONParser.parse(line)
                if json["deleted"] == .bool(true) { return }
                if !quarantined.isEmpty, case let .string(region)? = json["region"],
                   case let .string(id)? = json["source_id"], quarantined.contains("\(region)/\(id)") { return }
                record = try Record(json: json, collection: collection)
            } catch {
                throw StoreError("coverage: a stored \(collection.rawValue) record does not read back: \(error)")
            }
            try body(record)
        }
    }
}

extension CoverageReport {
    /// The report as the federal JSON of normalized-model.md, keys in its order.
    public var json: JSONValue {
        func directions(_ counts: [Direction: Int]) -> JSONValue {
            .object(Direction.allCases.map { ($0.rawValue, .int(counts[$0] ?? 0)) })
        }
        return .object([
            ("as_of", .string(asOf.description)),
            ("regions", .array(regions.map { r in
                .object([
                    ("region", .string(r.region)),
                    ("certificates_active", .int(r.certificatesActive)),
                    ("children_with_certificate", .int(r.childrenWithCertificate)),
                    ("children_enrolled", .int(r.childrenEnrolled)),
                    ("children_enrolled_by_age", .object(Self.ageBands.map { ($0, .int(r.childrenEnrolledByAge[$0] ?? 0)) })),
                    ("children_enrolled_by_direction", directions(r.childrenEnrolledByDirection)),
                    ("programs_published_by_direction", directions(r.programsPublishedByDirection)),
                    ("charges_by_month", .array(r.chargesByMonth.map { m in
                        .object([("month", .string(m.month.description)),
                                 ("certificate_kopecks", .int(m.certificateKopecks)),
                                 ("parent_kopecks", .int(m.parentKopecks))])
                    })),
                ])
            })),
            ("national", .object([
                ("children_enrolled", .int(nationalChildrenEnrolled)),
                ("children_with_certificate", .int(nationalChildrenWithCertificate)),
            ])),
        ])
    }

    /// The report as CSV: one figure a row, `region,metric,key,value`; the
    /// national figures have region `national`.
    public var csv: String {
        var rows = ["region,metric,key,value"]
        for r in regions {
            rows.append("\(r.region),certificates_active,,\(r.certificatesActive)")
            rows.append("\(r.region),children_with_certificate,,\(r.childrenWithCertificate)")
            rows.append("\(r.region),children_enrolled,,\(r.childrenEnrolled)")
            for band in Self.ageBands { rows.append("\(r.region),children_enrolled_by_age,\(band),\(r.childrenEnrolledByAge[band] ?? 0)") }
            for d in Direction.allCases { rows.append("\(r.region),children_enrolled_by_direction,\(d.rawValue),\(r.childrenEnrolledByDirection[d] ?? 0)") }
            for d in Direction.allCases { rows.append("\(r.region),programs_published_by_direction,\(d.rawValue),\(r.programsPublishedByDirection[d] ?? 0)") }
            for m in r.chargesByMonth {
                rows.append("\(r.region),charges_certificate_kopecks,\(m.month),\(m.certificateKopecks)")
                rows.append("\(r.region),charges_parent_kopecks,\(m.month),\(m.parentKopecks)")
            }
        }
        rows.append("national,children_enrolled,,\(nationalChildrenEnrolled)")
        rows.append("national,children_with_certificate,,\(nationalChildrenWithCertificate)")
        return rows.joined(separator: "\n") + "\n"
    }
}
