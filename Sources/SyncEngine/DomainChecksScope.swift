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
    }

    /// The live records the checks need to judge what changed after
    /// sequence `after` and the open conflicts, and what they cover.
    static func scopedSnapshot(_ reader: RecordReader, after: Int64, moved: [MovedReference], open: [Conflict],
                               link: LinkKey) throws -> (Snapshot, Scope) {
        var loader = ScopedLoader(reader: reader)
        typealias Key = ScopedLoader.Key
        var t = Targets()

        // What changed, deleted records included: their fields still say
        // which groups and references they took part in.
        var changedCertificates: [Snapshot.Certificate] = [], changedContracts: [Snapshot.Contract] = []
        var changedCharges: [Snapshot.Charge] = [], changedPrograms: [Key] = []
        try reader.fields(.certificates, .changed(after: after), Snapshot.Certificate.paths) { r, id, _, v in
            changedCertificates.append(Snapshot.Certificate(region: r, sourceID: id, v))
        }
        try reader.fields(.contracts, .changed(after: after), Snapshot.Contract.paths) { r, id, _, v in
            changedContracts.append(Snapshot.Contract(region: r, sourceID: id, v))
        }
        try reader.fields(.charges, .changed(after: after), Snapshot.Charge.paths) { r, id, _, v in
            changedCharges.append(try Snapshot.Charge(region: r, sourceID: id, v))
        }
        try reader.fields(.programs, .changed(after: after), []) { r, id, _, _ in changedPrograms.append(Key(r, id)) }

        // The targets of each check.
        t.snils = Set(changedCertificates.compactMap(\.snils))
        t.chargeContracts = Set(changedCharges.map { Key($0.region, $0.contractSourceID) })
        t.referringContracts = Set(changedContracts.map { Key($0.region, $0.sourceID) })
        t.referringCharges = Set(changedCharges.map { Key($0.region, $0.sourceID) })
        t.balances = Set(changedCertificates.map { Key($0.region, $0.sourceID) })
        t.charges = Set(changedCharges.map { Key($0.region, $0.sourceID) })

        for c in changedCertificates {
            for contract in try loader.contracts(naming: c.number, in: c.region) {
                t.referringContracts.insert(Key(contract.region, contract.sourceID))
            }
        }
        for p in changedPrograms {
            for contract in try loader.contracts(ofProgram: p.id, in: p.region) {
                t.referringContracts.insert(Key(contract.region, contract.sourceID))
            }
        }
        for c in changedContracts {
            for charge in try loader.charges(ofContract: c.sourceID, in: c.region) {
                t.referringCharges.insert(Key(charge.region, charge.sourceID))
            }
            if let number = c.certificateNumber {
                for certificate in try loader.certificates(numbered: number, in: c.region) {
                    t.balances.insert(Key(certificate.region, certificate.sourceID))
                }
            }
        }
        for c in changedCharges {
            if let number = try loader.contract(Key(c.region, c.contractSourceID))?.certificateNumber {
                for certificate in try loader.certificates(numbered: number, in: c.region) {
                    t.balances.insert(Key(certificate.region, certificate.sourceID))
                }
            }
        }
        // What depended on a reference a record no longer makes.
        for m in moved {
            guard let old = m.oldReference else {
                if let s = m.oldSnils { t.snils.insert(s) }
                continue
            }
            switch m.collection {
            case .certificates:
                if let s = m.oldSnils { t.snils.insert(s) }
                for contract in try loader.contracts(naming: old, in: m.region) {
                    t.referringContracts.insert(Key(contract.region, contract.sourceID))
                }
            case .contracts:
                for certificate in try loader.certificates(numbered: old, in: m.region) {
                    t.balances.insert(Key(certificate.region, certificate.sourceID))
                }
            case .charges:
                t.chargeContracts.insert(Key(m.region, old))
                if let number = try loader.contract(Key(m.region, old))?.certificateNumber {
                    for certificate in try loader.certificates(numbered: number, in: m.region) {
                        t.balances.insert(Key(certificate.region, certificate.sourceID))
                    }
                }
            case .programs: break
            }
        }
        // Open conflicts are judged again: their cause may be gone.
        for conflict in open {
            let key = Key(conflict.region, conflict.sourceID)
            switch conflict.kind {
            case duplicateCertificate:
                let detail = try? JSONParser.parse(conflict.detail)
                if case let .array(members)? = detail?["certificates"] {
                    for m in members {
                        if case let .string(r)? = m["region"], case let .string(id)? = m["source_id"],
                           let s = try loader.certificate(Key(r, id))?.snils {
                            t.snils.insert(s)
                        }
                    }
                }
            case invalidCharge:
                // A charge's own finding, or its month's (named by its first charge):
                // either way every charge of its contract is read again.
                t.charges.insert(key)
                if let charge = try loader.charge(key) {
                    t.chargeContracts.insert(Key(charge.region, charge.contractSourceID))
                }
            case brokenReference:
                if conflict.collection == .contracts { t.referringContracts.insert(key) } else { t.referringCharges.insert(key) }
            case balanceMismatch:
                t.balances.insert(key)
            default: break
            }
        }

        return try load(t, &loader, link: link)
    }

    /// Reads what each target depends on: the snapshot to judge them on and
    /// what it covers.
    static func load(_ t: Targets, _ loader: inout ScopedLoader, link: LinkKey) throws -> (Snapshot, Scope) {
        typealias Key = ScopedLoader.Key
        var scope = Scope()
        for k in t.charges {
            scope.charges.insert("\(k.region)/\(k.id)")
        }
        for s in t.snils {
            _ = try loader.certificates(withSnils: s)
            if let digits = Snapshot.Certificate.digits(s) { scope.links.insert(link.link(snilsDigits: digits)) }
        }
        var chargeContracts = t.chargeContracts
        for k in t.charges {
            if let charge = try loader.charge(k) { chargeContracts.insert(Key(charge.region, charge.contractSourceID)) }
        }
        for k in chargeContracts {
            for charge in try loader.charges(ofContract: k.id, in: k.region) {
                scope.charges.insert("\(charge.region)/\(charge.sourceID)")
            }
            scope.chargeContracts.insert("\(k.region)/\(k.id)")
        }
        for k in t.referringContracts {
            scope.references.insert("contracts/\(k.region)/\(k.id)")
            guard let contract = try loader.contract(k) else { continue }
            if let number = contract.certificateNumber { _ = try loader.certificates(numbered: number, in: k.region) }
            _ = try loader.program(Key(k.region, contract.programSourceID))
        }
        for k in t.referringCharges {
            scope.references.insert("charges/\(k.region)/\(k.id)")
            guard let charge = try loader.charge(k) else { continue }
            _ = try loader.contract(Key(k.region, charge.contractSourceID))
        }
        for k in t.balances {
            scope.balances.insert("\(k.region)/\(k.id)")
            guard let certificate = try loader.certificate(k) else { continue }
            for contract in try loader.contracts(naming: certificate.number, in: k.region) {
                _ = try loader.charges(ofContract: contract.sourceID, in: k.region)
            }
        }
        return (loader.snapshot, scope)
    }

    /// The records every full run must judge: those the store's own queries
    /// flag (see `RecordReader.suspects`), a superset of the findings. Only
    /// they and what they depend on are read, so a full run's memory grows
    /// with the findings, not with the store.
    static func suspectSnapshot(_ reader: RecordReader, link: LinkKey) throws -> (Snapshot, Scope) {
        typealias Key = ScopedLoader.Key
        var loader = ScopedLoader(reader: reader)
        let s = try reader.suspects()
        var t = Targets()
        t.snils = Set(s.children)
        t.charges = Set(s.charges.map { Key($0.region, $0.sourceID) })
        t.chargeContracts = Set(s.chargeGroups.map { Key($0.region, $0.sourceID) })
        t.referringContracts = Set(s.contracts.map { Key($0.region, $0.sourceID) })
        t.referringCharges = Set(s.orphanCharges.map { Key($0.region, $0.sourceID) })
        t.balances = Set(s.certificates.map { Key($0.region, $0.sourceID) })
        return try load(t, &loader, link: link)
    }
}

extension DomainChecks.Snapshot.Certificate {
    /// The eleven digits of a СНИЛС as the store holds it.
    static func digits(_ snils: String) -> String? {
        let d = String(snils.filter(\.isNumber))
        return d.isEmpty ? nil : d
    }
}

/// Reads live records for a scoped check once each, remembering what it read.
struct ScopedLoader {
    typealias Snapshot = DomainChecks.Snapshot
    struct Key: Hashable {
        var region: String, id: String
        init(_ region: String, _ id: String) { self.region = region; self.id = id }
    }

    let reader: RecordReader
    private var certificates: [Key: Snapshot.Certificate] = [:]
    private var contracts: [Key: Snapshot.Contract] = [:]
    private var charges: [Key: Snapshot.Charge] = [:]
    private var programs = Set<Key>()
    /// The records each lookup by a field found, so that none is made twice.
    private var answers: [String: [Key]] = [:]
    private var absent = Set<String>()

    init(reader: RecordReader) { self.reader = reader }

    var snapshot: Snapshot {
        var s = Snapshot()
        s.certificates = Array(certificates.values)
        s.contracts = Array(contracts.values)
        s.charges = Array(charges.values)
        s.programs = Set(programs.map { "\($0.region)/\($0.id)" })
        return s
    }

    private mutating func read<T>(_ collection: CollectionName, _ selection: RecordSelection, paths: [String],
                                  _ make: (String, String, [String?]) throws -> T) throws -> [T] {
        var found: [T] = []
        try reader.fields(collection, selection, paths) { r, id, _, v in found.append(try make(r, id, v)) }
        return found
    }

    mutating func certificate(_ key: Key) throws -> Snapshot.Certificate? {
        try one(.certificates, key, Snapshot.Certificate.paths, into: \.certificates) { Snapshot.Certificate(region: $0, sourceID: $1, $2) }
    }

    mutating func contract(_ key: Key) throws -> Snapshot.Contract? {
        try one(.contracts, key, Snapshot.Contract.paths, into: \.contracts) { Snapshot.Contract(region: $0, sourceID: $1, $2) }
    }

    mutating func charge(_ key: Key) throws -> Snapshot.Charge? {
        try one(.charges, key, Snapshot.Charge.paths, into: \.charges) { try Snapshot.Charge(region: $0, sourceID: $1, $2) }
    }

    /// The live record with `key`, read once (an absent one is remembered too).
    private mutating func one<T>(_ collection: CollectionName, _ key: Key, _ paths: [String],
                                 into store: WritableKeyPath<ScopedLoader, [Key: T]>,
                                 _ make: (String, String, [String?]) throws -> T) throws -> T? {
        if let known = self[keyPath: store][key] { return known }
        let tag = "\(collection.rawValue)\u{1F}\(key.region)\u{1F}\(key.id)"
        if absent.contains(tag) { return nil }
        guard let found = try read(collection, .key(region: key.region, sourceID: key.id), paths: paths, make).first else {
            absent.insert(tag)
            return nil
        }
        self[keyPath: store][key] = found
        return found
    }

    mutating func program(_ key: Key) throws -> Bool {
        if programs.contains(key) { return true }
        let tag = "programs\u{1F}\(key.region)\u{1F}\(key.id)"
        if absent.contains(tag) { return false }
        let found = try read(.programs, .key(region: key.region, sourceID: key.id), paths: []) { _, _, _ in true }
        guard !found.isEmpty else { absent.insert(tag); return false }
        programs.insert(key)
        return true
    }

    /// Every live certificate with this СНИЛС (as the store holds it), in any region.
    mutating func certificates(withSnils snils: String) throws -> [Snapshot.Certificate] {
        try lookup("snils\u{1F}\(snils)", .certificates, .field("child.snils", equals: snils, region: nil),
                   Snapshot.Certificate.paths, into: \.certificates) { Snapshot.Certificate(region: $0, sourceID: $1, $2) }
    }

    mutating func certificates(numbered number: String, in region: String) throws -> [Snapshot.Certificate] {
        try lookup("number\u{1F}\(region)\u{1F}\(number)", .certificates, .field("number", equals: number, region: region),
                   Snapshot.Certificate.paths, into: \.certificates) { Snapshot.Certificate(region: $0, sourceID: $1, $2) }
    }

    mutating func contracts(naming number: String, in region: String) throws -> [Snapshot.Contract] {
        try lookup("naming\u{1F}\(region)\u{1F}\(number)", .contracts, .field("certificate_number", equals: number, region: region),
                   Snapshot.Contract.paths, into: \.contracts) { Snapshot.Contract(region: $0, sourceID: $1, $2) }
    }

    mutating func contracts(ofProgram program: String, in region: String) throws -> [Snapshot.Contract] {
        try lookup("program\u{1F}\(region)\u{1F}\(program)", .contracts, .field("program_source_id", equals: program, region: region),
                   Snapshot.Contract.paths, into: \.contracts) { Snapshot.Contract(region: $0, sourceID: $1, $2) }
    }

    mutating func charges(ofContract contract: String, in region: String) throws -> [Snapshot.Charge] {
        try lookup("contract\u{1F}\(region)\u{1F}\(contract)", .charges, .field("contract_source_id", equals: contract, region: region),
                   Snapshot.Charge.paths, into: \.charges) { try Snapshot.Charge(region: $0, sourceID: $1, $2) }
    }

    /// Runs a lookup by an indexed field once; keeps what it found.
    private mutating func lookup<T>(_ tag: String, _ collection: CollectionName, _ selection: RecordSelection,
                                    _ paths: [String], into store: WritableKeyPath<ScopedLoader, [Key: T]>,
                                    _ make: (String, String, [String?]) throws -> T) throws -> [T] {
        if let keys = answers[tag] { return keys.compactMap { self[keyPath: store][$0] } }
        let found = try read(collection, selection, paths: paths) { r, id, v in (Key(r, id), try make(r, id, v)) }
        for (key, value) in found { self[keyPath: store][key] = value }
        answers[tag] = found.map(\.0)
        return found.map(\.1)
    }
}
