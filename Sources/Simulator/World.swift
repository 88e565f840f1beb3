public import DopsyncModel
internal import Foundation
internal import Synchronization

/// A deliberate flaw in a generated record, rendered by each region in its
/// own wire form; such records must be quarantined by the gateway.
public enum Defect: Sendable, Equatable {
    /// A СНИЛС whose checksum fails (certificates).
    case badSnils
    /// Money with three decimals (programs).
    case threeDecimals
    /// An enumeration code the page does not list (contracts).
    case unknownCode
    /// A date in the wrong form (charges).
    case wrongDateForm
}

extension Defect {
    /// The child's СНИЛС (or a stand-in when the child has none) as
    /// `NNN-NNN-NNN CC` with a checksum that fails: how `badSnils` is written
    /// on every wire that uses that form.
    static func brokenSnils(_ snils: Snils?) -> String {
        let d = snils?.digits ?? "11223344595"
        let check = (Int(d.suffix(2))! + 1) % 100
        return String(d.prefix(3) + "-" + d.dropFirst(3).prefix(3) + "-" + d.dropFirst(6).prefix(3) + " ")
            + (check < 10 ? "0" : "") + String(check)
    }
}

/// One record of a simulated region with its wire state.
public struct SimEntry: Sendable {
    /// The record's normalized content (its meta holds region and source id).
    public var record: Record
    public var updatedAt: Timestamp
    /// Grows by one on each change, from 1.
    public var version: Int
    public var deleted: Bool
    public var defect: Defect?
    /// Order among records of the same second (ids compared as the region orders them).
    public var sortKey: String
    /// Whether the latest state was last served from a snapshot (Krasnoyarsk).
    public var lastServedBySnapshot = false
    /// The stamp and snapshot flag the entry had before its latest change: what
    /// a gateway still shows after a deletion that carries no fields (a
    /// Krasnoyarsk feed `delete`).
    public var previous: (updatedAt: Timestamp, version: Int, servedBySnapshot: Bool)?
    /// Where the entry's live slot is in the collection's order.
    var slot: Int = -1

    public var sourceID: String { record.meta.sourceID }
}

/// How a region names its records; each region's plug-in gives one.
public struct IDScheme: Sendable {
    public var program: @Sendable (Int) -> String
    public var certificateNumber: @Sendable (Int) -> String
    /// A certificate's source id given its index and number (Omsk, Kemerovo: the number).
    public var certificate: @Sendable (Int, String) -> String
    public var child: @Sendable (Int) -> String
    public var contract: @Sendable (Int) -> String
    public var charge: @Sendable (Int) -> String
    /// The key that orders ids within one second (numeric ids zero-padded).
    public var sortKey: @Sendable (String) -> String

    public init(program: @escaping @Sendable (Int) -> String, certificateNumber: @escaping @Sendable (Int) -> String,
                certificate: @escaping @Sendable (Int, String) -> String, child: @escaping @Sendable (Int) -> String,
                contract: @escaping @Sendable (Int) -> String, charge: @escaping @Sendable (Int) -> String,
                sortKey: @escaping @Sendable (String) -> String) {
        self.program = program; self.certificateNumber = certificateNumber; self.certificate = certificate
        self.child = child; self.contract = contract; self.charge = charge; self.sortKey = sortKey
    }

    /// Zero-pads a numeric id so that text order is numeric order.
    public static func numericKey(_ id: String) -> String {
        id.count >= 20 ? id : String(repeating: "0", count: 20 - id.count) + id
    }
}

/// A deterministic random source (SplitMix64), so that a seed gives the same world.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The records of one collection, with an order by (updatedAt, id) that a
/// change moves to the end, as the regions' own orders do.
struct SimCollection {
    var entries: [SimEntry] = []
    var index: [String: Int] = [:]
    /// Slots in order; a slot whose entry has moved on is stale and skipped.
    var order: [(seconds: Int64, key: String, entry: Int)] = []

    mutating func append(_ entry: SimEntry) {
        index[entry.sourceID] = entries.count
        entries.append(entry)
    }

    /// Sorts every entry into the order (after generation).
    mutating func buildOrder() {
        order = entries.indices.map { (entries[$0].updatedAt.seconds, entries[$0].sortKey, $0) }
        order.sort { ($0.seconds, $0.key) < ($1.seconds, $1.key) }
        for (slot, item) in order.enumerated() { entries[item.entry].slot = slot }
    }

    /// Moves changed entries to the end of the order (all stamped with the same, newest second).
    mutating func moveToEnd(_ changed: [Int]) {
        for i in changed.sorted(by: { entries[$0].sortKey < entries[$1].sortKey }) {
            entries[i].slot = order.count
            order.append((entries[i].updatedAt.seconds, entries[i].sortKey, i))
        }
    }

    func isLive(_ slot: Int) -> Bool { entries[order[slot].entry].slot == slot }

    /// The first slot at or after (seconds, key), or after it when `strictlyAfter`.
    func firstSlot(seconds: Int64, key: String, strictlyAfter: Bool) -> Int {
        var lo = 0, hi = order.count
        while lo < hi {
            let mid = (lo + hi) / 2
            let o = order[mid]
            let before = strictlyAfter ? (o.seconds, o.key) <= (seconds, key) : (o.seconds, o.key) < (seconds, key)
            if before { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

/// The data of one simulated region: generated from a seed, changed by
/// tests, and read by the region's API. Thread-safe.
public final class RegionData: Sendable {
    /// The region's code (`"55"`).
    public let code: String
    /// Whether the region tells of deletions (a tombstone, a flag, a feed
    /// `delete`); Kemerovo does not, and a gateway learns of them only from a
    /// complete export.
    public let reportsDeletions: Bool
    let scheme: IDScheme
    let state: Mutex<WorldState>
    let counters = Mutex<(writes: Int, requests: Int, deletedByShifts: Int)>((0, 0, 0))
    let revokers = Mutex<[@Sendable () -> Void]>([])
    let readHooks = Mutex<[@Sendable (CollectionName) -> Void]>([])
    let mutationHooks = Mutex<[@Sendable (CollectionName, inout [SimEntry]) -> Void]>([])
    let conformers = Mutex<[@Sendable (inout Record) -> Void]>([])
    /// Hooks on writes through the API (`beforeWrite`, `afterWrite`).
    let writeHooks = Mutex<WriteHooks>(WriteHooks())
    /// The faults played on this region's answers.
    let faults: FaultPlayer
    /// Per collection, the newest version of each record that a page a
    /// client received whole has shown: a page shift deletes only records
    /// whose current state a client holds (see `playShift`).
    let shown = Mutex<[CollectionName: [String: Int]]>([:])
    /// What the gateway's export must show for an entry (the region's
    /// `RegionAPI.expectedRecord`: version rules, fields its wire lacks).
    let expectation: @Sendable (SimEntry) -> Record

    struct WorldState {
        var collections: [CollectionName: SimCollection] = [:]
        var clock: Int64
        var random: SeededRandom
        var generation = 0
        var nextIndex: [CollectionName: Int] = [:]
    }

    init(code: String, scheme: IDScheme, scale: Int, seed: UInt64, invalidRecords: Int, reportsDeletions: Bool = true,
         expectation: @escaping @Sendable (SimEntry) -> Record) {
        self.code = code
        self.reportsDeletions = reportsDeletions
        self.scheme = scheme
        self.expectation = expectation
        faults = FaultPlayer(.none)
        var generator = Generator(code: code, scheme: scheme, seed: seed)
        let world = generator.generate(scale: scale, invalidRecords: invalidRecords)
        state = Mutex(world)
    }

    /// Runs `body` with the world locked.
    func withState<T>(_ body: (inout WorldState) throws -> T) rethrows -> T {
        try state.withLock { try body(&$0) }
    }

    func countRequest() { counters.withLock { $0.requests += 1 } }
    func countWrite() { counters.withLock { $0.writes += 1 } }

    /// Makes every token issued so far invalid: calls answer 401 afterwards.
    public func revokeTokens() {
        for revoke in revokers.withLock({ $0 }) { revoke() }
    }

    /// Calls `hook` each time a page of a collection is about to be read,
    /// before the page is computed: a test changes records there to play a
    /// walk that races with changes (page shifts).
    public func onRead(_ hook: @escaping @Sendable (CollectionName) -> Void) { readHooks.withLock { $0.append(hook) } }

    /// Makes every record, now and added later, fit what the region's system
    /// can hold (Kemerovo's programs have no description, say), so that the
    /// expected export is what its wire can carry. A region's API calls it
    /// once, from its `init`.
    func conform(_ fit: @escaping @Sendable (inout Record) -> Void) {
        conformers.withLock { $0.append(fit) }
        withState { w in
            for name in w.collections.keys {
                for i in w.collections[name]!.entries.indices { fit(&w.collections[name]!.entries[i].record) }
            }
        }
    }

    /// A record as the region's system would hold it (see `conform`).
    func conformed(_ record: Record) -> Record {
        var r = record
        for fit in conformers.withLock({ $0 }) { fit(&r) }
        return r
    }

    /// Every region's API calls this before it computes a page of `collection`:
    /// a page shift drawn for the request is played here, then the tests' hooks run.
    func willRead(_ collection: CollectionName) {
        if let scope = Self.scope, scope.takeShift() { playShift([collection]) }
        for hook in readHooks.withLock({ $0 }) { hook(collection) }
    }

    /// A region whose reads are one feed of every collection (Krasnoyarsk's
    /// changes) calls this before it reads a page of the feed: a page shift
    /// drawn for the request changes every collection, as `playShift` does
    /// one. The tests' read hooks are for pages of one collection and do not
    /// run.
    func willReadFeed() {
        guard let scope = Self.scope, scope.takeShift() else { return }
        playShift(CollectionName.allCases)
    }

    // MARK: Faults that change the region

    /// What the request being answered brings to the region's data: the
    /// page shift it drew, and the records its page shows (each region's
    /// API notes them with `noteShown`).
    final class RequestScope: Sendable {
        private let shift: Mutex<Bool>
        private let notes = Mutex<[(CollectionName, String, Int)]>([])

        init(shift: Bool) { self.shift = Mutex(shift) }

        /// Whether a shift is still to be played; at most once a request.
        func takeShift() -> Bool { shift.withLock { s in defer { s = false }; return s } }

        func note(_ collection: CollectionName, _ sourceID: String, version: Int) {
            notes.withLock { $0.append((collection, sourceID, version)) }
        }

        var noted: [(CollectionName, String, Int)] { notes.withLock { $0 } }
    }

    /// The scope of the request being answered, set by the server.
    @TaskLocal static var scope: RequestScope?

    /// Notes records that the page being answered shows, in the state it shows.
    func noteShown(_ collection: CollectionName, _ entries: some Sequence<SimEntry>) {
        guard let scope = Self.scope else { return }
        for e in entries { scope.note(collection, e.sourceID, version: e.version) }
    }

    /// Notes one record shown in a given version (a change-feed entry).
    func noteShown(_ collection: CollectionName, _ sourceID: String, version: Int) {
        Self.scope?.note(collection, sourceID, version: version)
    }

    /// The server calls this for a data request answered without a fault.
    /// A `200` delivers the records its page showed; an answer other than
    /// `401`, `429` or `5xx` means the call went through, so revocations
    /// may be played again.
    func answered(_ status: Int, scope: RequestScope) {
        if status == 200 {
            let noted = scope.noted
            if !noted.isEmpty {
                shown.withLock { shown in
                    for (collection, id, version) in noted where version > shown[collection]?[id] ?? 0 {
                        shown[collection, default: [:]][id] = version
                    }
                }
            }
        }
        if status != 401 && status != 429 && status < 500 { faults.callWentThrough() }
    }

    /// The `shift` fault, played before a page of a collection is computed:
    /// a concurrent writer changes three records (they take the newest time
    /// and move to the end of the order, so what followed them moves up
    /// under an offset walker) and, where the region tells of deletions,
    /// deletes one (it leaves its place, or moves to the end as a deleted
    /// record): of that collection when one of it can go, else of another.
    /// Charges never change: one is published instead, and none is deleted.
    ///
    /// Only a record whose current state a client has received is deleted,
    /// and none that another references: Omsk's tombstones and
    /// Krasnoyarsk's feed deletes carry no fields, so a record deleted
    /// before a client saw its state could not be what `expectedExport`
    /// shows. Kemerovo reports no deletions (`reportsDeletions`), so nothing
    /// is deleted there: an incremental walk could never learn of it.
    func playShift(_ collections: [CollectionName]) {
        for collection in collections {
            if collection == .charges { add(.charges, count: 1) } else { touch(collection, count: 3) }
            guard reportsDeletions else { continue }
            let held = shown.withLock { $0 }
            let targets = [collection] + CollectionName.allCases.filter { $0 != collection }
            for target in targets where target != .charges {
                let deleted = delete(target, count: 1) { held[target]?[$0.sourceID] == $0.version }
                if !deleted.isEmpty {
                    counters.withLock { $0.deletedByShifts += deleted.count }
                    break
                }
            }
        }
        faults.count(.shift)
    }

    /// The `revoke` fault, played before the region answers: every token it
    /// issued is revoked. Nothing happens in a region without tokens, nor
    /// while the call a previous revocation failed has not gone through
    /// with a new token (`FaultPlayer.mayRevoke`).
    func playRevocation() {
        guard !revokers.withLock({ $0.isEmpty }), faults.mayRevoke() else { return }
        revokeTokens()
        faults.count(.revoke)
    }

    /// How many faults of `kind` were played on this region (a cut or a
    /// reset counts only when there was a body to cut, a shift only on a
    /// page read, a revocation only where there were tokens to revoke).
    public func faultsPlayed(_ kind: SimFault) -> Int { faults.played(kind) }

    /// Records deleted by page shifts.
    public var recordsDeletedByShifts: Int { counters.withLock { $0.deletedByShifts } }

    private let processingHeld = Mutex(false)

    /// Holds (or releases) the writes a region applies asynchronously
    /// (Kemerovo's import packages): while held, a package stays
    /// `В обработке` however long ago it came, so a test can see that state
    /// whatever the machine's speed.
    public func holdAsyncProcessing(_ held: Bool) { processingHeld.withLock { $0 = held } }

    /// Whether asynchronous processing is held.
    var isAsyncProcessingHeld: Bool { processingHeld.withLock { $0 } }

    /// Sets the faults played on this region's answers from now on.
    public func setFaults(_ faults: SimFaults) { self.faults.set(faults) }

    func onRevoke(_ revoke: @escaping @Sendable () -> Void) { revokers.withLock { $0.append(revoke) } }

    /// Calls `hook` with the entries each change stamped (ordered by sort
    /// key), while the world is still locked, so that a region's change log
    /// (Krasnoyarsk's feed) sees changes in commit order. The hook may adapt
    /// the records to what its wire can say (Krasnoyarsk has no `mixed`
    /// format); what it leaves is stored. It must not call back into this
    /// `RegionData`.
    func onMutate(_ hook: @escaping @Sendable (CollectionName, inout [SimEntry]) -> Void) {
        mutationHooks.withLock { $0.append(hook) }
    }

    /// Successful writes applied (PUT, PATCH, POST, import items).
    public var writesApplied: Int { counters.withLock { $0.writes } }
    /// Requests served, all routes.
    public var requestCount: Int { counters.withLock { $0.requests } }

    /// Records held of a collection, live and deleted.
    public func recordCount(_ collection: CollectionName) -> Int {
        withState { $0.collections[collection]?.entries.count ?? 0 }
    }

    /// The entry of a record, for tests and writes.
    public func entry(_ collection: CollectionName, _ sourceID: String) -> SimEntry? {
        withState { w in w.collections[collection]?.index[sourceID].map { w.collections[collection]!.entries[$0] } }
    }

    /// The export lines a sync of everything served so far must give:
    /// sorted by source id as text, deleted records marked, bad ones left out.
    public func expectedExport(_ collection: CollectionName) -> [String] {
        withState { w in
            (w.collections[collection]?.entries ?? []).filter { $0.defect == nil }
                .sorted { $0.sourceID < $1.sourceID }
                .map { e in expectation(e).json.serialized() }
        }
    }

    // MARK: Changes

    /// Changes `count` live records: a field changes, the version grows and
    /// the record moves to the end of the order. Charges never change.
    @discardableResult
    public func touch(_ collection: CollectionName, count: Int) -> [String] {
        guard collection != .charges else { return [] }
        return mutate(collection) { w, c in
            let candidates = c.entries.indices.filter { !c.entries[$0].deleted && c.entries[$0].defect == nil }
            let picked = Array(candidates.shuffled(using: &w.random).prefix(count))
            for i in picked {
                switch c.entries[i].record {
                case var .program(p):
                    p.title = p.title.hasSuffix(" (обновлено)") ? String(p.title.dropLast(12)) : p.title + " (обновлено)"
                    p.priceMonth = p.priceMonth + Kopecks(1000)
                    c.entries[i].record = .program(p)
                case var .certificate(cert):
                    cert.municipality.name = (cert.municipality.name ?? "") + " (уточнено)"
                    c.entries[i].record = .certificate(cert)
                case var .contract(contract):
                    contract.endsOn = LocalDate(daysSinceEpoch: contract.endsOn.daysSinceEpoch + 30)
                    c.entries[i].record = .contract(contract)
                case .charge:
                    break
                }
            }
            return picked
        }
    }

    /// Adds `count` new records with consistent references.
    @discardableResult
    public func add(_ collection: CollectionName, count: Int) -> [String] {
        mutate(collection) { w, _ in
            var generator = Generator(code: code, scheme: scheme, seed: w.random.next())
            for _ in 0..<count {
                let n = w.nextIndex[collection, default: 0]
                w.nextIndex[collection] = n + 1
                guard let record = generator.extra(collection, index: n, world: w).map(conformed) else { continue }
                var entry = SimEntry(record: record, updatedAt: Timestamp(seconds: w.clock), version: 1, deleted: false,
                                     defect: nil, sortKey: scheme.sortKey(record.meta.sourceID))
                entry.record.meta.updatedAt = entry.updatedAt
                w.collections[collection]!.append(entry)
            }
            // New entries are stamped and ordered by `mutate`.
            return []
        }
    }

    /// Adds one contract, as `add(.contracts, count: 1)` would, but on the
    /// certificate with `certificateSourceID`: a test plays a contract that a
    /// walk reads before the certificate it names (added just before it).
    ///
    /// - Returns: the new contract's source id, or `nil` when the world has
    ///   no such certificate.
    @discardableResult
    public func addContract(onCertificate certificateSourceID: String) -> String? {
        let added = mutate(.contracts) { w, _ in
            guard let i = w.collections[.certificates]!.index[certificateSourceID],
                  case let .certificate(certificate) = w.collections[.certificates]!.entries[i].record else { return [] }
            var generator = Generator(code: code, scheme: scheme, seed: w.random.next())
            let n = w.nextIndex[.contracts, default: 0]
            w.nextIndex[.contracts] = n + 1
            guard case var .contract(contract)? = generator.extra(.contracts, index: n, world: w) else { return [] }
            contract.certificateNumber = certificate.number
            var entry = SimEntry(record: .contract(contract), updatedAt: Timestamp(seconds: w.clock), version: 1,
                                 deleted: false, defect: nil, sortKey: scheme.sortKey(contract.meta.sourceID))
            entry.record.meta.updatedAt = entry.updatedAt
            // Stamped and ordered by `mutate`, as `add` does.
            w.collections[.contracts]!.append(entry)
            return []
        }
        return added.first
    }

    /// Deletes `count` live records that nothing else references.
    @discardableResult
    public func delete(_ collection: CollectionName, count: Int) -> [String] {
        delete(collection, count: count) { _ in true }
    }

    /// Deletes `count` live records that nothing else references, among
    /// those `eligible` accepts (it runs with the world locked).
    func delete(_ collection: CollectionName, count: Int, where eligible: (SimEntry) -> Bool) -> [String] {
        mutate(collection) { w, c in
            let referenced = Self.referenced(w, collection, own: c)
            let candidates = c.entries.indices.filter {
                !c.entries[$0].deleted && c.entries[$0].defect == nil && !referenced.contains(c.entries[$0].sourceID)
                    && eligible(c.entries[$0])
            }
            let picked = Array(candidates.shuffled(using: &w.random).prefix(count))
            for i in picked {
                c.entries[i].deleted = true
            }
            return picked
        }
    }

    /// Source ids of `collection` that live records of another collection name.
    static func referenced(_ w: WorldState, _ collection: CollectionName, own: SimCollection) -> Set<String> {
        var ids = Set<String>()
        switch collection {
        case .programs:
            for e in w.collections[.contracts]!.entries where !e.deleted {
                if case let .contract(c) = e.record { ids.insert(c.programSourceID) }
            }
        case .certificates:
            var numbers = Set<String>()
            for e in w.collections[.contracts]!.entries where !e.deleted {
                if case let .contract(c) = e.record, let n = c.certificateNumber { numbers.insert(n) }
            }
            for e in own.entries {
                if case let .certificate(c) = e.record, numbers.contains(c.number) { ids.insert(e.sourceID) }
            }
        case .contracts:
            for e in w.collections[.charges]!.entries {
                if case let .charge(c) = e.record { ids.insert(c.contractSourceID) }
            }
        case .charges:
            break
        }
        return ids
    }

    /// Advances the clock, lets `body` change entries, stamps the changed
    /// ones (new time, version + 1) and moves them to the end of the order.
    func mutate(_ collection: CollectionName, _ body: (inout WorldState, inout SimCollection) -> [Int]) -> [String] {
        withState { w in
            w.clock += 1
            var c = w.collections[collection]!
            w.collections[collection] = SimCollection()   // avoid a copy while body runs
            let before = c.entries.count
            let changed = body(&w, &c)
            if let added = w.collections[collection], !added.entries.isEmpty {
                for var e in added.entries { e.slot = -1; c.append(e) }
            }
            var stamped: [Int] = []
            for i in changed where i < before {
                c.entries[i].previous = (c.entries[i].updatedAt, c.entries[i].version, c.entries[i].lastServedBySnapshot)
                c.entries[i].updatedAt = Timestamp(seconds: w.clock)
                c.entries[i].version += 1
                c.entries[i].lastServedBySnapshot = false
                stamped.append(i)
            }
            stamped += Array(before..<c.entries.count)
            c.moveToEnd(stamped)
            let order = stamped.sorted { c.entries[$0].sortKey < c.entries[$1].sortKey }
            var entries = order.map { c.entries[$0] }
            for hook in mutationHooks.withLock({ $0 }) { hook(collection, &entries) }
            for (i, e) in zip(order, entries) { c.entries[i].record = e.record }
            w.collections[collection] = c
            w.generation += 1
            return stamped.map { c.entries[$0].sourceID }
        }
    }

    /// Applies a change made through a region's write API: `change` edits the
    /// entry; it is then stamped and moved to the end, and counted as a write.
    func applyWrite(_ collection: CollectionName, _ sourceID: String, _ change: (inout SimEntry) -> Void) -> SimEntry? {
        var result: SimEntry? = nil
        _ = mutate(collection) { _, c in
            guard let i = c.index[sourceID] else { return [] }
            change(&c.entries[i])
            return [i]
        }
        result = entry(collection, sourceID)
        if result != nil { countWrite() }
        return result
    }

    /// Adds a record made through a region's write API.
    func insertWrite(_ collection: CollectionName, _ record: Record) -> SimEntry {
        _ = mutate(collection) { w, c in
            var e = SimEntry(record: conformed(record), updatedAt: Timestamp(seconds: w.clock), version: 1, deleted: false,
                             defect: nil, sortKey: scheme.sortKey(record.meta.sourceID))
            e.record.meta.updatedAt = e.updatedAt
            c.append(e)
            return [c.entries.count - 1]
        }
        countWrite()
        return entry(collection, record.meta.sourceID)!
    }

    /// The next free index of a collection, for ids of records created by writes.
    func nextIndex(_ collection: CollectionName) -> Int {
        withState { w in
            let n = w.nextIndex[collection, default: 0]
            w.nextIndex[collection] = n + 1
            return n
        }
    }
}

extension RegionData {
    /// One page of a walk in (updatedAt, id) order.
    struct Walk {
        var entries: [SimEntry]
        /// The (seconds, key) of the last entry returned, when more follow.
        var next: (Int64, String)?
        var total: Int
    }

    /// Entries with `updatedAt >= since`, after `after` (exclusive), in order,
    /// the first `skip` of them left out (a page by number or offset);
    /// `include` filters (deleted records, say).
    /// The total is counted only when `countTotal` (a walk's first page): it
    /// costs a pass over the collection.
    func walk(_ collection: CollectionName, since: Int64?, after: (Int64, String)?, skip: Int = 0, limit: Int,
              countTotal: Bool = true, include: (SimEntry) -> Bool = { _ in true }) -> Walk {
        withState { w in
            let c = w.collections[collection]!
            let startOfFilter = c.firstSlot(seconds: since ?? Int64.min, key: "", strictlyAfter: false)
            var slot = after.map { c.firstSlot(seconds: $0.0, key: $0.1, strictlyAfter: true) } ?? startOfFilter
            slot = max(slot, startOfFilter)
            var out: [SimEntry] = []
            var last: (Int64, String)? = nil
            // Skipped entries are only counted: copying them out to drop
            // them made every page of an offset walk cost the whole walk so far.
            var skipped = 0
            while slot < c.order.count && out.count < limit {
                if c.isLive(slot) && include(c.entries[c.order[slot].entry]) {
                    if skipped < skip {
                        skipped += 1
                    } else {
                        out.append(c.entries[c.order[slot].entry])
                        last = (c.order[slot].seconds, c.order[slot].key)
                    }
                }
                slot += 1
            }
            var more = false
            while slot < c.order.count {
                if c.isLive(slot) && include(c.entries[c.order[slot].entry]) { more = true; break }
                slot += 1
            }
            var total = 0
            if countTotal {
                for s in startOfFilter..<c.order.count where c.isLive(s) && include(c.entries[c.order[s].entry]) { total += 1 }
            }
            return Walk(entries: out, next: more ? last : nil, total: total)
        }
    }
}
