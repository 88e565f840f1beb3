internal import DopsyncModel
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
    /// After the first run the checks look only at what changed: the records
    /// whose export changed since the last run (the store's change sequence),
    /// the records that depend on them or they on, and the open conflicts;
    /// each finding depends on a few records, so a day's sync costs in
    /// proportion to its changes, not to the store. Everything is checked
    /// again on the first run, on `full`, when a region's pass did not
    /// complete, after the next complete pass of a region whose changes were
    /// not all judged (its pass had failed), and when a large part of the
    /// store changed.
    ///
    /// - Parameters:
    ///   - complete: region codes whose pass just completed; the checks that
    ///     need a complete pass (references, balances) run only for them.
    ///   - held: every region code the store holds, for the checks that need no complete pass.
    ///   - synced: the regions this sync pulled (all of `held` when `nil`):
    ///     the checks look only at what changed when all of them completed.
    ///   - full: check every record whatever changed.
    /// - Returns: the conflicts opened now.
    public static func run(store: Store, link: LinkKey, complete: Set<String>, held: Set<String>,
                           synced: Set<String>? = nil, full: Bool = false) throws -> [ConflictCandidate] {
        try runReporting(store: store, link: link, complete: complete, held: held, synced: synced, full: full).opened
    }

    /// `run`, telling also whether the checks looked only at what changed.
    /// They judge their targets `partSize` at a time (see `judge`).
    static func runReporting(store: Store, link: LinkKey, complete: Set<String>, held: Set<String>,
                             synced: Set<String>? = nil, full: Bool,
                             partSize: Int = 8_192) throws -> (opened: [ConflictCandidate], scoped: Bool) {
        let allComplete = (synced ?? held).isSubset(of: complete)
        try store.ensureCheckIndexes()
        // As in the full run below: references and balances only for regions whose pass completed.
        func checked(_ kind: String, _ region: String) -> Bool {
            kind == brokenReference || kind == balanceMismatch ? complete.contains(region) : held.contains(region)
        }
        // The regions whose changes the references and balances have not
        // judged: those owed before and not complete now, and those with
        // changes since the last run whose pass did not complete (a failed
        // pass, or a region edited at the gateway but not pulled). The run
        // after such a region's next complete pass checks every record.
        func owed(_ reader: RecordReader, after checked: Int64?) throws -> Set<String> {
            let before = try reader.owedRegions().subtracting(complete)
            return before.union(try reader.regionsChanged(after: checked, among: held.subtracting(complete).subtracting(before)))
        }
        if !full && allComplete {
            let open = try store.conflicts().filter { kinds.contains($0.kind) }
            let plan = try store.reading { reader -> (sequence: Int64, moved: Int64, owed: Set<String>,
                                                      scoped: (found: [ConflictCandidate], scope: Scope)?) in
                let sequence = try reader.changeSequence()
                let moved = try reader.movedReferences()
                let lastMoved = moved.last?.id ?? 0
                guard let checked = try reader.checkedSequence(),
                      try reader.owedRegions().isDisjoint(with: complete),
                      sequence - checked <= max(50_000, try reader.approximateRecordCount() / 10)
                else { return (sequence, lastMoved, [], nil) }
                let targets = try scopedTargets(reader, after: checked, moved: moved, open: open)
                return (sequence, lastMoved, try owed(reader, after: checked),
                        try judge(targets, reader, link: link, partSize: partSize))
            }
            if let (found, scope) = plan.scoped {
                let opened = try store.reconcileConflicts(
                    kinds: kinds, found: found.filter { checked($0.kind, $0.region) },
                    covers: { kind, key, region in checked(kind, region) && scope.covers(kind, key) },
                    closeReason: closeReason)
                try store.setChecked(sequence: plan.sequence, moved: plan.moved, owed: plan.owed)
                return (opened, true)
            }
        }
        // Everything. The sequence is read with the records, in one read
        // transaction: a change made later is numbered after it.
        // The store flags the records that may be findings; only they and
        // what they depend on are read and judged.
        let (sequence, moved, owedNow, found) = try store.reading { reader in
            let sequence = try reader.changeSequence(), moved = try reader.lastMovedReference()
            return (sequence, moved, try owed(reader, after: try reader.checkedSequence()),
                    try judge(suspectTargets(reader), reader, link: link, partSize: partSize).found)
        }
        let byRecords: Set<String> = [duplicateCertificate, invalidCharge]
        var opened = try store.reconcileConflicts(
            kinds: byRecords, found: found.filter { byRecords.contains($0.kind) },
            scope: held, closeReason: closeReason)
        opened += try store.reconcileConflicts(
            kinds: [brokenReference, balanceMismatch],
            found: found.filter { !byRecords.contains($0.kind) && complete.contains($0.region) },
            scope: complete, closeReason: closeReason)
        try store.setChecked(sequence: sequence, moved: moved, owed: owedNow)
        return (opened, false)
    }

    /// Every check's findings on `data` (those it covers are filtered by the caller).
    static func findings(_ data: Snapshot, link: LinkKey) -> [ConflictCandidate] {
        duplicates(data, link: link) + invalidCharges(data) + brokenReferences(data) + balanceMismatches(data)
    }

    static let kinds: Set<String> = [duplicateCertificate, invalidCharge, brokenReference, balanceMismatch]

    /// The fields of the live records that the checks read, by region.
    struct Snapshot {
        struct Certificate {
            var region: String, sourceID: String, number: String, financing: Bool, active: Bool
            var year: Int, snils: String?, nominal: Int64, balance: Int64
            var snilsDigits: String? { snils.map { String($0.filter(\.isNumber)) } }

            static let paths = ["number", "type", "status", "year", "child.snils", "nominal_kopecks", "balance_kopecks"]
            init(region: String, sourceID: String, _ v: [String?]) {
                self.region = region; self.sourceID = sourceID; number = v[0] ?? ""
                financing = v[1] == CertificateType.financing.rawValue; active = v[2] == CertificateStatus.active.rawValue
                year = Int(v[3] ?? "") ?? 0; snils = v[4]; nominal = Int64(v[5] ?? "") ?? 0; balance = Int64(v[6] ?? "") ?? 0
            }
        }
        struct Contract {
            var region: String, sourceID: String, certificateNumber: String?, programSourceID: String

            static let paths = ["certificate_number", "program_source_id"]
            init(region: String, sourceID: String, _ v: [String?]) {
                self.region = region; self.sourceID = sourceID; certificateNumber = v[0]; programSourceID = v[1] ?? ""
            }
        }
        struct Charge {
            var region: String, sourceID: String, contractSourceID: String, month: YearMonth
            var price: Int64, certificatePart: Int64, parentPart: Int64

            static let paths = ["contract_source_id", "month", "price_kopecks", "certificate_part_kopecks", "parent_part_kopecks"]
            init(region: String, sourceID: String, _ v: [String?]) throws {
                self.region = region; self.sourceID = sourceID; contractSourceID = v[0] ?? ""
                month = try YearMonth(iso: v[1] ?? "")
                price = Int64(v[2] ?? "") ?? 0; certificatePart = Int64(v[3] ?? "") ?? 0; parentPart = Int64(v[4] ?? "") ?? 0
            }
        }
        var certificates: [Certificate] = []
        var contracts: [Contract] = []
        var charges: [Charge] = []
        var programs: Set<String> = []   // "region/source_id"

        init() {}
    }

    static func duplicates(_ data: Snapshot, link: LinkKey) -> [ConflictCandidate] {
        var groups: [String: [Snapshot.Certificate]] = [:]
        for c in data.certificates where c.active && c.financing {
            guard let snils = c.snilsDigits else { continue }
            groups["\(link.link(snilsDigits: snils))/\(c.year)", default: []].append(c)
        }
        return groups.compactMap { key, certificates in
            guard certificates.count > 1 else { return nil }
            let sorted = certificates.sorted { ($0.region, $0.sourceID) < ($1.region, $1.sourceID) }
            let first = sorted[0]
            let places = sorted.map { "\($0.region)/\($0.number)" }
            return ConflictCandidate(
                kind: duplicateCertificate, dedupKey: key, region: first.region, collection: .certificates,
                sourceID: first.sourceID,
                summary: "one child holds \(sorted.count) active financing certificates for \(first.year): \(places.joined(separator: ", "))",
                detail: .object([("year", .int(first.year)), ("certificates", .array(sorted.map { c in
                    .object([("region", .string(c.region)), ("source_id", .string(c.sourceID)),
                             ("number", .string(c.number))])
                }))]))
        }.sorted { $0.dedupKey < $1.dedupKey }
    }

    static func invalidCharges(_ data: Snapshot) -> [ConflictCandidate] {
        var found: [ConflictCandidate] = []
        var byMonth: [String: [Snapshot.Charge]] = [:]
        for c in data.charges {
            byMonth["\(c.region)/\(c.contractSourceID)/\(c.month)", default: []].append(c)
            var problems: [String] = []
            if c.certificatePart + c.parentPart != c.price {
                problems.append("certificate part \(Kopecks(c.certificatePart)) + parent part \(Kopecks(c.parentPart)) is not the price \(Kopecks(c.price))")
            }
            if c.certificatePart < 0 { problems.append("the certificate part is negative") }
            if c.parentPart < 0 { problems.append("the parent part is negative") }
            if !problems.isEmpty {
                found.append(ConflictCandidate(
                    kind: invalidCharge, dedupKey: "\(c.region)/\(c.sourceID)", region: c.region,
                    collection: .charges, sourceID: c.sourceID,
                    summary: "charge \(c.sourceID) of \(c.month): " + problems.joined(separator: "; ")))
            }
        }
        for (key, charges) in byMonth where charges.count > 1 {
            let sorted = charges.sorted { $0.sourceID < $1.sourceID }
            let first = sorted[0]
            found.append(ConflictCandidate(
                kind: invalidCharge, dedupKey: "month:\(key)", region: first.region, collection: .charges,
                sourceID: first.sourceID,
                summary: "contract \(first.contractSourceID) has \(sorted.count) charges for \(first.month): \(sorted.map(\.sourceID).joined(separator: ", "))"))
        }
        return found.sorted { $0.dedupKey < $1.dedupKey }
    }

    static func brokenReferences(_ data: Snapshot) -> [ConflictCandidate] {
        let certificates = Set(data.certificates.map { "\($0.region)/\($0.number)" })
        let contracts = Set(data.contracts.map { "\($0.region)/\($0.sourceID)" })
        var found: [ConflictCandidate] = []
        for c in data.contracts {
            let region = c.region
            var missing: [String] = []
            if let number = c.certificateNumber {
                if !certificates.contains("\(region)/\(number)") { missing.append("certificate \(number)") }
            } else {
                missing.append("its certificate (named by an internal id the region does not list)")
            }
            if !data.programs.contains("\(region)/\(c.programSourceID)") { missing.append("program \(c.programSourceID)") }
            if !missing.isEmpty {
                found.append(ConflictCandidate(
                    kind: brokenReference, dedupKey: "contracts/\(region)/\(c.sourceID)", region: region,
                    collection: .contracts, sourceID: c.sourceID,
                    summary: "contract \(c.sourceID) names \(missing.joined(separator: " and ")), which the region does not have"))
            }
        }
        for c in data.charges where !contracts.contains("\(c.region)/\(c.contractSourceID)") {
            found.append(ConflictCandidate(
                kind: brokenReference, dedupKey: "charges/\(c.region)/\(c.sourceID)", region: c.region,
                collection: .charges, sourceID: c.sourceID,
                summary: "charge \(c.sourceID) names contract \(c.contractSourceID), which the region does not have"))
        }
        return found
    }

    static func balanceMismatches(_ data: Snapshot) -> [ConflictCandidate] {
        // The certificate of each contract, then the certificate part of each
        // charge summed per certificate and year.
        var contractCertificate: [String: String] = [:]
        for c in data.contracts {
            if let number = c.certificateNumber { contractCertificate["\(c.region)/\(c.sourceID)"] = number }
        }
        var spent: [String: Int64] = [:]
        for c in data.charges {
            guard let number = contractCertificate["\(c.region)/\(c.contractSourceID)"] else { continue }
            spent["\(c.region)/\(number)/\(c.month.year)", default: 0] += c.certificatePart
        }
        var found: [ConflictCandidate] = []
        for c in data.certificates {
            let used = spent["\(c.region)/\(c.number)/\(c.year)"] ?? 0
            let expected = c.nominal - used
            guard c.balance != expected else { continue }
            found.append(ConflictCandidate(
                kind: balanceMismatch, dedupKey: "\(c.region)/\(c.sourceID)", region: c.region,
                collection: .certificates, sourceID: c.sourceID,
                summary: "certificate \(c.number): balance \(Kopecks(c.balance)) is not the nominal \(Kopecks(c.nominal)) less charges \(Kopecks(used)) = \(Kopecks(expected))",
                detail: .object([("balance_kopecks", .int(c.balance)), ("nominal_kopecks", .int(c.nominal)),
                                 ("charged_kopecks", .int(used))])))
        }
        return found
    }
}
