public import DopsyncModel
public import DopsyncStore

/// The checks across records and regions of normalized-model.md. They raise
/// conflicts and never drop data; a conflict whose cause is gone closes itself.
public enum DomainChecks {
    public static let duplicateCertificate = "duplicate_certificate"
    public static let invalidCharge = "invalid_charge"
    public static let balanceMismatch = "balance_mismatch"
    public static let brokenReference = "broken_reference"

    /// Why a conflict of each kind closed itself.
    static func closeReason(_ kind: String) -> String {
        switch kind {
        case duplicateCertificate: "resolved by newer data: the child no longer holds two active financing certificates for the year"
        case invalidCharge: "resolved by newer data: the charge now adds up and is the only one of its month"
        case balanceMismatch: "resolved by newer data: the balance now equals the nominal less the certificate's charges"
        case brokenReference: "resolved by newer data: the referenced record is now held"
        default: "resolved by newer data"
        }
    }

    /// Runs every check and stores the outcome.
    ///
    /// - Parameters:
    ///   - complete: region codes whose pass just completed; the checks that
    ///     need a complete pass (references, balances) run only for them.
    ///   - held: every region code the store holds, for the checks that need no complete pass.
    /// - Returns: the conflicts opened now.
    public static func run(store: Store, link: LinkKey, complete: Set<String>,
                           held: Set<String>) throws -> [ConflictCandidate] {
        let data = try Snapshot(store: store)
        var opened = try store.reconcileConflicts(
            kinds: [duplicateCertificate, invalidCharge],
            found: duplicates(data, link: link) + invalidCharges(data),
            scope: held, closeReason: closeReason)
        opened += try store.reconcileConflicts(
            kinds: [brokenReference, balanceMismatch],
            found: (brokenReferences(data) + balanceMismatches(data)).filter { complete.contains($0.region) },
            scope: complete, closeReason: closeReason)
        return opened
    }

    /// The live records of the store, by region.
    struct Snapshot {
        var certificates: [Certificate] = []
        var contracts: [Contract] = []
        var charges: [Charge] = []
        var programs: Set<String> = []   // "region/source_id"

        init(store: Store) throws {
            for collection in CollectionName.allCases {
                try store.export(collection) { line in
                    let json = try JSONParser.parse(line)
                    if json["deleted"] == .bool(true) { return }
                    switch try Record(json: json, collection: collection) {
                    case let .program(p): programs.insert("\(p.meta.region)/\(p.meta.sourceID)")
                    case let .certificate(c): certificates.append(c)
                    case let .contract(c): contracts.append(c)
                    case let .charge(c): charges.append(c)
                    }
                }
            }
        }
    }

    static func duplicates(_ data: Snapshot, link: LinkKey) -> [ConflictCandidate] {
        var groups: [String: [Certificate]] = [:]
        for c in data.certificates where c.status == .active && c.type == .financing {
            guard let snils = c.child.snils else { continue }
            groups["\(link.link(snilsDigits: snils.digits))/\(c.year)", default: []].append(c)
        }
        return groups.compactMap { key, certificates in
            guard certificates.count > 1 else { return nil }
            let sorted = certificates.sorted { ($0.meta.region, $0.meta.sourceID) < ($1.meta.region, $1.meta.sourceID) }
            let first = sorted[0]
            let places = sorted.map { "\($0.meta.region)/\($0.number)" }
            return ConflictCandidate(
                kind: duplicateCertificate, dedupKey: key, region: first.meta.region, collection: .certificates,
                sourceID: first.meta.sourceID,
                summary: "one child holds \(sorted.count) active financing certificates for \(first.year): \(places.joined(separator: ", "))",
                detail: .object([("year", .int(first.year)), ("certificates", .array(sorted.map { c in
                    .object([("region", .string(c.meta.region)), ("source_id", .string(c.meta.sourceID)),
                             ("number", .string(c.number))])
                }))]))
        }.sorted { $0.dedupKey < $1.dedupKey }
    }

    static func invalidCharges(_ data: Snapshot) -> [ConflictCandidate] {
        var found: [ConflictCandidate] = []
        var byMonth: [String: [Charge]] = [:]
        for c in data.charges {
            byMonth["\(c.meta.region)/\(c.contractSourceID)/\(c.month)", default: []].append(c)
            var problems: [String] = []
            if c.certificatePart + c.parentPart != c.price {
                problems.append("certificate part \(c.certificatePart) + parent part \(c.parentPart) is not the price \(c.price)")
            }
            if c.certificatePart.value < 0 { problems.append("the certificate part is negative") }
            if c.parentPart.value < 0 { problems.append("the parent part is negative") }
            if !problems.isEmpty {
                found.append(ConflictCandidate(
                    kind: invalidCharge, dedupKey: "\(c.meta.region)/\(c.meta.sourceID)", region: c.meta.region,
                    collection: .charges, sourceID: c.meta.sourceID,
                    summary: "charge \(c.meta.sourceID) of \(c.month): " + problems.joined(separator: "; ")))
            }
        }
        for (key, charges) in byMonth where charges.count > 1 {
            let sorted = charges.sorted { $0.meta.sourceID < $1.meta.sourceID }
            let first = sorted[0]
            found.append(ConflictCandidate(
                kind: invalidCharge, dedupKey: "month:\(key)", region: first.meta.region, collection: .charges,
                sourceID: first.meta.sourceID,
                summary: "contract \(first.contractSourceID) has \(sorted.count) charges for \(first.month): \(sorted.map(\.meta.sourceID).joined(separator: ", "))"))
        }
        return found.sorted { $0.dedupKey < $1.dedupKey }
    }

    static func brokenReferences(_ data: Snapshot) -> [ConflictCandidate] {
        let certificates = Set(data.certificates.map { "\($0.meta.region)/\($0.number)" })
        let contracts = Set(data.contracts.map { "\($0.meta.region)/\($0.meta.sourceID)" })
        var found: [ConflictCandidate] = []
        for c in data.contracts {
            let region = c.meta.region
            var missing: [String] = []
            if let number = c.certificateNumber {
                if !certificates.contains("\(region)/\(number)") { missing.append("certificate \(number)") }
            } else {
                missing.append("its certificate (named by an internal id the region does not list)")
            }
            if !data.programs.contains("\(region)/\(c.programSourceID)") { missing.append("program \(c.programSourceID)") }
            if !missing.isEmpty {
                found.append(ConflictCandidate(
                    kind: brokenReference, dedupKey: "contracts/\(region)/\(c.meta.sourceID)", region: region,
                    collection: .contracts, sourceID: c.meta.sourceID,
                    summary: "contract \(c.meta.sourceID) names \(missing.joined(separator: " and ")), which the region does not have"))
            }
        }
        for c in data.charges where !contracts.contains("\(c.meta.region)/\(c.contractSourceID)") {
            found.append(ConflictCandidate(
                kind: brokenReference, dedupKey: "charges/\(c.meta.region)/\(c.meta.sourceID)", region: c.meta.region,
                collection: .charges, sourceID: c.meta.sourceID,
                summary: "charge \(c.meta.sourceID) names contract \(c.contractSourceID), which the region does not have"))
        }
        return found
    }

    static func balanceMismatches(_ data: Snapshot) -> [ConflictCandidate] {
        // The certificate of each contract, then the certificate part of each
        // charge summed per certificate and year.
        var contractCertificate: [String: String] = [:]
        for c in data.contracts {
            if let number = c.certificateNumber { contractCertificate["\(c.meta.region)/\(c.meta.sourceID)"] = number }
        }
        var spent: [String: Int64] = [:]
        for c in data.charges {
            guard let number = contractCertificate["\(c.meta.region)/\(c.contractSourceID)"] else { continue }
            spent["\(c.meta.region)/\(number)/\(c.month.year)", default: 0] += c.certificatePart.value
        }
        var found: [ConflictCandidate] = []
        for c in data.certificates {
            let used = spent["\(c.meta.region)/\(c.number)/\(c.year)"] ?? 0
            let expected = c.nominal.value - used
            guard c.balance.value != expected else { continue }
            found.append(ConflictCandidate(
                kind: balanceMismatch, dedupKey: "\(c.meta.region)/\(c.meta.sourceID)", region: c.meta.region,
                collection: .certificates, sourceID: c.meta.sourceID,
                summary: "certificate \(c.number): balance \(Kopecks(c.balance.value)) is not the nominal \(c.nominal) less charges \(Kopecks(used)) = \(Kopecks(expected))",
                detail: .object([("balance_kopecks", .int(c.balance.value)), ("nominal_kopecks", .int(c.nominal.value)),
                                 ("charged_kopecks", .int(used))])))
        }
        return found
    }
}
