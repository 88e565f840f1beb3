internal import DopsyncModel
internal import DopsyncStore

extension DomainChecks {
    /// What a run that looked at part of the store examined whole: only
    /// findings (and open conflicts) it covers can be opened (or closed).
    struct Scope {
        /// Duplicate groups (the СНИЛС link) whose every live certificate was read.
        var links = Set<String>()
        /// Charges (`region/source_id`) examined.
        var charges = Set<String>()
        /// Contracts (`region/source_id`) whose every live charge was read:
        /// their month groups are complete.
        var chargeContracts = Set<String>()
        /// Contracts and charges whose references were examined
        /// (`contracts/region/source_id`, `charges/region/source_id`).
        var references = Set<String>()
        /// Certificates (`region/source_id`) whose every contract and charge was read.
        var balances = Set<String>()

        /// Whether a finding of `kind` with `dedupKey` depends only on what was read.
        func covers(_ kind: String, _ dedupKey: String) -> Bool {
            switch kind {
            case duplicateCertificate:
                return links.contains(String(dedupKey.prefix { $0 != "/" }))
            case invalidCharge:
                guard dedupKey.hasPrefix("month:") else { return charges.contains(dedupKey) }
                let group = dedupKey.dropFirst("month:".count)
                guard let slash = group.lastIndex(of: "/") else { return false }
                return chargeContracts.contains(String(group[..<slash]))
            case brokenReference: return references.contains(dedupKey)
            case balanceMismatch: return balances.contains(dedupKey)
            default: return false
            }
        }

        mutating func formUnion(_ other: Scope) {
            links.formUnion(other.links)
            charges.formUnion(other.charges)
            chargeContracts.formUnion(other.chargeContracts)
            references.formUnion(other.references)
            balances.formUnion(other.balances)
        }
    }

    /// What a run that reads part of the store judges: each set names the
    /// records (or groups) whose findings are looked at whole.
    struct Targets {
        typealias Key = ScopedLoader.Key
        /// Children, by the СНИЛС as the store holds it: every certificate of each.
        var snils = Set<String>()
        /// Charges judged on their own.
        var charges = Set<Key>()
        /// Contracts whose every charge is judged (their month groups).
        var chargeContracts = Set<Key>()
        /// Contracts and charges whose references are judged.
        var referringContracts = Set<Key>(), referringCharges = Set<Key>()
        /// Certificates whose balance is judged.
        var balances = Set<Key>()

        /// The targets split into parts of at most `size` each.
        func parts(of size: Int) -> [Targets] {
            var parts: [Targets] = [], part = Targets(), count = 0
            func add(_ put: (inout Targets) -> Void) {
                if count == size { parts.append(part); part = Targets(); count = 0 }
                put(&part)
                count += 1
            }
            for s in snils { add { $0.snils.insert(s) } }
            for k in charges { add { $0.charges.insert(k) } }
            for k in chargeContracts { add { $0.chargeContracts.insert(k) } }
            for k in referringContracts { add { $0.referringContracts.insert(k) } }
            for k in referringCharges { add { $0.referringCharges.insert(k) } }
            for k in balances { add { $0.balances.insert(k) } }
            return parts + [part]
        }
    }

    /// What the checks judge when they look at what changed after sequence
    /// `after`: the changed records, what depends on them or they on, and
    /// the open conflicts.
    static func scopedTargets(_ reader: RecordReader, after: Int64, moved: [MovedReference],
                              open: [Conflict]) throws -> Targets {
        var loader = ScopedLoader(reader: reader)
        typealias Key = ScopedLoader.Key
        var t = Targets()

        // What changed, deleted records included: their fields still say
        // which groups and references they took part in.
        var changedCertificates: [Snapshot.Certificate] = [], changedContracts: [Snapshot.Contract] = []
        var changedCharges: [Snapshot.Charge] = []
        // A record that is held can only resolve the broken references to it,
        // and those are open conflicts, judged again below: only the records
        // now deleted can break references (a changed number or contract is
        // a moved reference).
        var deletedNumbers: [Key] = [], deletedContracts: [Key] = [], deletedPrograms: [Key] = []
        try reader.changed(.certificates, after: after, Snapshot.Certificate.paths) { r, id, deleted, v in
            let certificate = Snapshot.Certificate(region: r, sourceID: id, v)
            changedCertificates.append(certificate)
            if deleted { deletedNumbers.append(certificate.numberKey) }
        }
        try reader.changed(.contracts, after: after, Snapshot.Contract.paths) { r, id, deleted, v in
            changedContracts.append(Snapshot.Contract(region: r, sourceID: id, v))
            if deleted { deletedContracts.append(Key(r, id)) }
        }
        try reader.changed(.charges, after: after, Snapshot.Charge.paths) { r, id, _, v in
            changedCharges.append(try Snapshot.Charge(region: r, sourceID: id, v))
        }
        try reader.changed(.programs, after: after, []) { r, id, deleted, _ in
            if deleted { deletedPrograms.append(Key(r, id)) }
        }

        // The targets of each check: what changed, and what depends on it
        // or it on. Every lookup below takes all its keys at once.
        t.snils = Set(changedCertificates.compactMap(\.snils))
        t.chargeContracts = Set(changedCharges.map(\.contractKey))
        t.referringContracts = Set(changedContracts.map(\.key))
        t.referringCharges = Set(changedCharges.map(\.key))
        t.balances = Set(changedCertificates.map(\.key))
        t.charges = Set(changedCharges.map(\.key))

        // Certificate numbers (with their region) whose certificates' balances are judged again.
        var numbers = changedContracts.compactMap(\.certificateKey)
        numbers += try loader.contracts(changedCharges.map(\.contractKey)).compactMap(\.certificateKey)
        // Certificate numbers whose contracts' references are judged again.
        var naming = deletedNumbers

        // What depended on a reference a record no longer makes.
        var movedCharges: [Key] = []
        for m in moved {
            if let s = m.oldSnils { t.snils.insert(s) }
            guard let old = m.oldReference else { continue }
            switch m.collection {
            case .certificates: naming.append(Key(m.region, old))
            case .contracts: numbers.append(Key(m.region, old))
            case .charges: movedCharges.append(Key(m.region, old))
            case .programs: break
            }
        }
        t.chargeContracts.formUnion(movedCharges)
        numbers += try loader.contracts(movedCharges).compactMap(\.certificateKey)

        // Open conflicts are judged again: their cause may be gone.
        var duplicateMembers: [Key] = [], invalid: [Key] = []
        for conflict in open {
            let key = Key(conflict.region, conflict.sourceID)
            switch conflict.kind {
            case duplicateCertificate:
                let detail = try? JSONParser.parse(conflict.detail)
                if case let .array(members)? = detail?["certificates"] {
                    for m in members {
                        if case let .string(r)? = m["region"], case let .string(id)? = m["source_id"] {
                            duplicateMembers.append(Key(r, id))
                        }
                    }
                }
            case invalidCharge:
                // A charge's own finding, or its month's (named by its first charge):
                // either way every charge of its contract is read again.
                t.charges.insert(key)
                invalid.append(key)
            case brokenReference:
                if conflict.collection == .contracts { t.referringContracts.insert(key) } else { t.referringCharges.insert(key) }
            case balanceMismatch:
                t.balances.insert(key)
            default: break
            }
        }
        t.snils.formUnion(try loader.certificates(duplicateMembers).compactMap(\.snils))
        t.chargeContracts.formUnion(try loader.charges(invalid).map(\.contractKey))

        t.referringContracts.formUnion(try loader.contracts(naming: naming).map(\.key))
        t.referringContracts.formUnion(try loader.contracts(ofProgram: deletedPrograms).map(\.key))
        t.referringCharges.formUnion(try loader.charges(ofContract: deletedContracts).map(\.key))
        t.balances.formUnion(try loader.certificates(numbered: numbers).map(\.key))
        return t
    }

    /// Judges `targets` a part at a time, so that memory stays bounded
    /// however many there are: each part's records are read, judged and
    /// let go. Returns the findings the parts cover, and what they cover.
    static func judge(_ targets: Targets, _ reader: RecordReader, link: LinkKey,
                      partSize: Int) throws -> (found: [ConflictCandidate], scope: Scope) {
        var found: [String: ConflictCandidate] = [:]
        var covered = Scope()
        for part in targets.parts(of: partSize) {
            var loader = ScopedLoader(reader: reader)
            let (data, scope) = try load(part, &loader, link: link)
            // A finding two parts cover is the same: each read all it depends on.
            for c in findings(data, link: link) where scope.covers(c.kind, c.dedupKey) {
                found[c.kind + "\u{1F}" + c.dedupKey] = c
            }
            covered.formUnion(scope)
        }
        return (Array(found.values), covered)
    }

    /// Reads what each target depends on: the snapshot to judge them on and
    /// what it covers.
    static func load(_ t: Targets, _ loader: inout ScopedLoader, link: LinkKey) throws -> (Snapshot, Scope) {
        typealias Key = ScopedLoader.Key
        var scope = Scope()
        // Duplicates: every certificate of each child.
        _ = try loader.certificates(withSnils: t.snils)
        for s in t.snils {
            if let digits = Snapshot.Certificate.digits(s) { scope.links.insert(link.link(snilsDigits: digits)) }
        }
        // Invalid charges: each charge, and every charge of each contract.
        var chargeContracts = t.chargeContracts
        chargeContracts.formUnion(try loader.charges(t.charges).map(\.contractKey))
        scope.charges = Set(t.charges.map(\.tag))
        scope.charges.formUnion(try loader.charges(ofContract: chargeContracts).map(\.key.tag))
        scope.chargeContracts = Set(chargeContracts.map(\.tag))
        // References: each contract's certificate and program, each charge's contract.
        scope.references = Set(t.referringContracts.map { "contracts/\($0.tag)" })
        scope.references.formUnion(t.referringCharges.map { "charges/\($0.tag)" })
        let referring = try loader.contracts(t.referringContracts)
        _ = try loader.certificates(numbered: referring.compactMap(\.certificateKey))
        try loader.programs(referring.map(\.programKey))
        _ = try loader.contracts(try loader.charges(t.referringCharges).map(\.contractKey))
        // Balances: each certificate's contracts and their charges.
        scope.balances = Set(t.balances.map(\.tag))
        let held = try loader.certificates(t.balances)
        _ = try loader.charges(ofContract: try loader.contracts(naming: held.map(\.numberKey)).map(\.key))
        return (loader.snapshot, scope)
    }

    /// The records every full run must judge: those the store's own queries
    /// flag (see `RecordReader.suspects`), a superset of the findings. Only
    /// they and what they depend on are read, so a full run's memory grows
    /// with the findings, not with the store.
    static func suspectTargets(_ reader: RecordReader) throws -> Targets {
        typealias Key = ScopedLoader.Key
        let s = try reader.suspects()
        var t = Targets()
        t.snils = Set(s.children)
        t.charges = Set(s.charges.map { Key($0.region, $0.sourceID) })
        t.chargeContracts = Set(s.chargeGroups.map { Key($0.region, $0.sourceID) })
        t.referringContracts = Set(s.contracts.map { Key($0.region, $0.sourceID) })
        t.referringCharges = Set(s.orphanCharges.map { Key($0.region, $0.sourceID) })
        t.balances = Set(s.certificates.map { Key($0.region, $0.sourceID) })
        return t
    }
}

extension DomainChecks.Snapshot.Certificate {
    /// The eleven digits of a СНИЛС as the store holds it.
    static func digits(_ snils: String) -> String? {
        let d = String(snils.filter(\.isNumber))
        return d.isEmpty ? nil : d
    }
}

/// Reads live records for a scoped check once each, remembering what it
/// read. Each lookup takes many keys and asks the store once for all those
/// it has not asked about yet.
struct ScopedLoader {
    typealias Snapshot = DomainChecks.Snapshot
    /// A region and a value: a source id, or the value of the field a lookup goes by.
    struct Key: Hashable {
        var region: String, id: String
        init(_ region: String, _ id: String) { self.region = region; self.id = id }
        /// `region/id`, as the checks' dedup keys write a record.
        var tag: String { "\(region)/\(id)" }
    }

    let reader: RecordReader
    private var certificates: [Key: Snapshot.Certificate] = [:]
    private var contracts: [Key: Snapshot.Contract] = [:]
    private var charges: [Key: Snapshot.Charge] = [:]
    private var programs: [Key: Bool] = [:]
    /// Per lookup (collection and field), the records each value found, so
    /// that no value is asked about twice.
    private var answers: [String: [Key: [Key]]] = [:]

    init(reader: RecordReader) { self.reader = reader }

    var snapshot: Snapshot {
        var s = Snapshot()
        s.certificates = Array(certificates.values)
        s.contracts = Array(contracts.values)
        s.charges = Array(charges.values)
        s.programs = Set(programs.keys.map(\.tag))
        return s
    }

    /// The live certificates with these keys.
    mutating func certificates(_ keys: some Sequence<Key>) throws -> [Snapshot.Certificate] {
        try lookup(.certificates, by: nil, keys, into: \.certificates, Snapshot.Certificate.init(region:sourceID:_:))
    }

    /// The live contracts with these keys.
    mutating func contracts(_ keys: some Sequence<Key>) throws -> [Snapshot.Contract] {
        try lookup(.contracts, by: nil, keys, into: \.contracts, Snapshot.Contract.init(region:sourceID:_:))
    }

    /// The live charges with these keys.
    mutating func charges(_ keys: some Sequence<Key>) throws -> [Snapshot.Charge] {
        try lookup(.charges, by: nil, keys, into: \.charges, Snapshot.Charge.init(region:sourceID:_:))
    }

    /// Reads which of these programs are held (live).
    mutating func programs(_ keys: some Sequence<Key>) throws {
        _ = try lookup(.programs, by: nil, keys, paths: [], into: \.programs) { _, _, _ in true }
    }

    /// Every live certificate with one of these СНИЛС (as the store holds them), in any region.
    mutating func certificates(withSnils snils: some Sequence<String>) throws -> [Snapshot.Certificate] {
        try lookup(.certificates, by: "child.snils", snils.map { Key("", $0) }, into: \.certificates, Snapshot.Certificate.init(region:sourceID:_:))
    }

    /// The live certificates with these numbers (in their regions).
    mutating func certificates(numbered numbers: some Sequence<Key>) throws -> [Snapshot.Certificate] {
        try lookup(.certificates, by: "number", numbers, into: \.certificates, Snapshot.Certificate.init(region:sourceID:_:))
    }

    /// The live contracts naming these certificate numbers (in their regions).
    mutating func contracts(naming numbers: some Sequence<Key>) throws -> [Snapshot.Contract] {
        try lookup(.contracts, by: "certificate_number", numbers, into: \.contracts, Snapshot.Contract.init(region:sourceID:_:))
    }

    /// The live contracts for these programs.
    mutating func contracts(ofProgram programs: some Sequence<Key>) throws -> [Snapshot.Contract] {
        try lookup(.contracts, by: "program_source_id", programs, into: \.contracts, Snapshot.Contract.init(region:sourceID:_:))
    }

    /// The live charges of these contracts.
    mutating func charges(ofContract contracts: some Sequence<Key>) throws -> [Snapshot.Charge] {
        try lookup(.charges, by: "contract_source_id", contracts, into: \.charges, Snapshot.Charge.init(region:sourceID:_:))
    }

    private mutating func lookup<T: ChecksRecord>(_ collection: CollectionName, by field: String?, _ wanted: some Sequence<Key>,
                                                  into store: WritableKeyPath<ScopedLoader, [Key: T]>,
                                                  _ make: (String, String, [String?]) throws -> T) throws -> [T] {
        try lookup(collection, by: field, wanted, paths: T.paths, into: store) { try make($0, $1, $2) }
    }

    /// The live records of `collection` whose `field` (source id when
    /// `nil`) has one of the wanted values, each found once: a value asked
    /// about before is answered from memory, the others all in one query per
    /// region. A key's region is empty for a lookup across regions.
    private mutating func lookup<T>(_ collection: CollectionName, by field: String?, _ wanted: some Sequence<Key>,
                                    paths: [String], into store: WritableKeyPath<ScopedLoader, [Key: T]>,
                                    _ make: (String, String, [String?]) throws -> T) throws -> [T] {
        let name = "\(collection.rawValue).\(field ?? "source_id")"
        let wanted = Array(wanted)
        var known = answers.removeValue(forKey: name) ?? [:]
        var asked: [String: [String]] = [:]
        for key in wanted where known[key] == nil {
            known[key] = []
            asked[key.region, default: []].append(key.id)
        }
        for (region, values) in asked {
            var found: [(matched: Key, key: Key, record: T)] = []
            try reader.lookup(collection, by: field, among: values, region: region.isEmpty ? nil : region, paths) { matched, r, id, v in
                found.append((Key(region, matched), Key(r, id), try make(r, id, v)))
            }
            for f in found {
                self[keyPath: store][f.key] = f.record
                known[f.matched, default: []].append(f.key)
            }
        }
        answers[name] = known
        var seen = Set<Key>(), out: [T] = []
        for key in wanted {
            for k in known[key] ?? [] where seen.insert(k).inserted {
                if let record = self[keyPath: store][k] { out.append(record) }
            }
        }
        return out
    }
}

/// A record the checks read: the fields they read of it.
protocol ChecksRecord {
    static var paths: [String] { get }
}

extension DomainChecks.Snapshot.Certificate: ChecksRecord {
    var key: ScopedLoader.Key { .init(region, sourceID) }
    /// Its number in its region: what contracts name.
    var numberKey: ScopedLoader.Key { .init(region, number) }
}

extension DomainChecks.Snapshot.Contract: ChecksRecord {
    var key: ScopedLoader.Key { .init(region, sourceID) }
    /// The number of the certificate it names, in its region.
    var certificateKey: ScopedLoader.Key? { certificateNumber.map { .init(region, $0) } }
    var programKey: ScopedLoader.Key { .init(region, programSourceID) }
}

extension DomainChecks.Snapshot.Charge: ChecksRecord {
    var key: ScopedLoader.Key { .init(region, sourceID) }
    var contractKey: ScopedLoader.Key { .init(region, contractSourceID) }
}
