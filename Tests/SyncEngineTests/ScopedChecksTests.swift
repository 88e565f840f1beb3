import DopsyncModel
import DopsyncStore
import Foundation
@testable import SyncEngine
import Testing

extension DomainChecks.Snapshot {
    /// Every live record: the checks' rules applied to this are what the
    /// open conflicts must be, however the runs chose what to read.
    init(everythingIn store: Store) throws {
        self.init()
        try store.liveFields(.programs, []) { region, id, _ in programs.insert("\(region)/\(id)") }
        try store.liveFields(.certificates, Certificate.paths) { region, id, v in
            certificates.append(Certificate(region: region, sourceID: id, v))
        }
        try store.liveFields(.contracts, Contract.paths) { region, id, v in
            contracts.append(Contract(region: region, sourceID: id, v))
        }
        try store.liveFields(.charges, Charge.paths) { region, id, v in
            charges.append(try Charge(region: region, sourceID: id, v))
        }
    }
}

/// The checks read part of the store: a scoped run what changed and what
/// depends on it, a full run what the store's queries flag. Both must open
/// exactly the findings of the rules applied to every record. Two stores take
/// the same seeded stream of changes (references moved, СНИЛС corrected,
/// records deleted, contracts waiting for their certificate); one is checked
/// by scope, the other in full, and each store's open conflicts must be the
/// findings over all its records after every round.
@Suite("Checks of what changed and full checks find what the rules over every record find")
struct ScopedChecksTests {
    struct World {
        var random: UInt64
        let regions = ["55", "47"]
        static let t = try! Timestamp(iso: "2026-09-01T00:00:00Z")

        mutating func next(_ n: Int) -> Int {
            random &+= 0x9E37_79B9_7F4A_7C15
            var z = random
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(n))
        }

        mutating func pick<T>(_ items: [T]) -> T { items[next(items.count)] }

        /// One of a few children: a valid СНИЛС with its checksum.
        mutating func snils() -> String? {
            let k = next(7)
            guard k < 6 else { return nil }
            let body = String(format: "%09d", 112_233_440 + k * 1_111)
            let digits = body.compactMap { $0.wholeNumberValue }
            let sum = digits.enumerated().reduce(0) { $0 + $1.element * (9 - $1.offset) }
            let check = sum < 100 ? sum : (sum % 101 == 100 ? 0 : sum % 101)
            return body + String(format: "%02d", check)
        }

        func certificateNumber(_ region: String, _ i: Int) -> String { "\(region)0000000\(i)" }

        mutating func certificate(_ region: String, _ i: Int) throws -> PageItem {
            let number = certificateNumber(region, i)
            return .upsert(.certificate(Certificate(
                meta: SourceMeta(region: region, sourceID: number, updatedAt: Self.t, version: String(next(1000))), number: number,
                type: next(5) == 0 ? .accounting : .financing,
                child: Child(sourceID: "c\(i)", lastName: "Иванова", firstName: "Мария", middleName: nil,
                             birthDate: try LocalDate(iso: "2015-03-14"), snils: try snils().map { try Snils($0) }),
                nominal: Kopecks(300_000), balance: Kopecks(Int64(pick([300_000, 200_000, 100_000, 0]))), year: 2026,
                status: next(4) == 0 ? .closed : .active,
                municipality: Municipality(oktmo: "52701000", name: nil), issuedAt: nil)), raw: "{}")
        }

        func program(_ region: String, _ i: Int) -> PageItem {
            .upsert(.program(Program(
                meta: SourceMeta(region: region, sourceID: "p\(i)", updatedAt: Self.t, version: "1"), title: "П", description: "",
                provider: Provider(inn: "5504000000", ogrn: nil, name: "ООО", kind: .private), direction: .art,
                ageMin: 5, ageMax: 17, hoursTotal: nil, priceMonth: Kopecks(100_000), registry: .certified,
                municipality: Municipality(oktmo: "52701000", name: nil), format: .offline, status: .published,
                startsOn: nil, endsOn: nil)), raw: "{}")
        }

        mutating func contract(_ region: String, _ i: Int) throws -> PageItem {
            let certificate = next(8)   // 6 and 7 are never issued: a broken reference
            let waits = next(6) == 0     // named by internal id, resolved by the store
            let record = Record.contract(Contract(
                meta: SourceMeta(region: region, sourceID: "k\(i)", updatedAt: Self.t, version: String(next(1000))),
                certificateNumber: waits ? nil : certificateNumber(region, certificate),
                programSourceID: "p\(next(4))", startsOn: try LocalDate(iso: "2026-09-01"),
                endsOn: try LocalDate(iso: "2027-05-31"), priceMonth: Kopecks(100_000), status: .active))
            return .upsert(record, raw: "{}", certificateRef: waits ? certificateNumber(region, certificate) : nil)
        }

        mutating func charge(_ region: String, _ i: Int) throws -> PageItem {
            let price: Int64 = 100_000
            let part: Int64 = pick([100_000, 100_000, 60_000, 0])
            let parent: Int64 = next(5) == 0 ? 10_000 : price - part
            return .upsert(.charge(Charge(
                meta: SourceMeta(region: region, sourceID: "h\(i)", updatedAt: Self.t, version: String(next(1000))),
                contractSourceID: "k\(next(10))", month: try YearMonth(iso: pick(["2026-09", "2026-10", "2026-11"])),
                price: Kopecks(price), certificatePart: Kopecks(part), parentPart: Kopecks(parent))), raw: "{}")
        }

        /// A change a region might make to one record of `collection`.
        mutating func change(_ collection: CollectionName, _ region: String) throws -> PageItem {
            let deleted = next(8) == 0
            switch collection {
            case .programs:
                let i = next(4)
                return deleted ? .delete(sourceID: "p\(i)", updatedAt: Self.t, version: nil, raw: "{}") : program(region, i)
            case .certificates:
                let i = next(6)
                return deleted ? .delete(sourceID: certificateNumber(region, i), updatedAt: Self.t, version: nil, raw: "{}")
                    : try certificate(region, i)
            case .contracts:
                let i = next(8)
                return deleted ? .delete(sourceID: "k\(i)", updatedAt: Self.t, version: nil, raw: "{}") : try contract(region, i)
            case .charges:
                let i = next(14)
                return deleted ? .delete(sourceID: "h\(i)", updatedAt: Self.t, version: nil, raw: "{}") : try charge(region, i)
            }
        }
    }

    func conflicts(_ store: Store) throws -> [String] {
        try store.conflicts().map { "\($0.kind) \($0.region) \($0.collection.rawValue) \($0.sourceID): \($0.summary) \($0.detail)" }.sorted()
    }

    /// The findings of the rules over every live record, as `conflicts` shows them.
    func findings(_ store: Store, link: LinkKey) throws -> [String] {
        let data = try DomainChecks.Snapshot(everythingIn: store)
        let found = DomainChecks.duplicates(data, link: link) + DomainChecks.invalidCharges(data)
            + DomainChecks.brokenReferences(data) + DomainChecks.balanceMismatches(data)
        return found.map { "\($0.kind) \($0.region) \($0.collection.rawValue) \($0.sourceID): \($0.summary) \($0.detail.serialized())" }.sorted()
    }

    func expectFindings(_ store: Store, link: LinkKey, _ label: String) throws -> Bool {
        let open = Set(try conflicts(store)), expected = Set(try findings(store, link: link))
        let extra = open.subtracting(expected), missing = expected.subtracting(open)
        #expect(extra.isEmpty && missing.isEmpty, "\(label): open but not found \(extra), found but not open \(missing)")
        return extra.isEmpty && missing.isEmpty
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func scopedChecksFindWhatFullChecksFind(seed: UInt64) throws {
        // A third store is checked as the first, its targets judged a few
        // at a time, as a large change set is.
        let scoped = try Store.inMemory(), full = try Store.inMemory(), parted = try Store.inMemory()
        let key = try LinkKey.loadOrCreate(path: FileManager.default.temporaryDirectory
            .appendingPathComponent("dopsync-\(UUID().uuidString).key").path)
        var world = World(random: seed)
        let held: Set<String> = ["55", "47"]
        func apply(_ collection: CollectionName, _ region: String, _ items: [PageItem]) throws {
            for store in [scoped, full, parted] { _ = try store.apply(region: region, collection: collection, items: items, position: nil) }
        }
        // A first world, checked in full by both.
        for region in world.regions {
            try apply(.programs, region, (0..<4).map { world.program(region, $0) })
            try apply(.certificates, region, try (0..<6).map { try world.certificate(region, $0) })
            try apply(.contracts, region, try (0..<8).map { try world.contract(region, $0) })
            try apply(.charges, region, try (0..<14).map { try world.charge(region, $0) })
        }
        _ = try DomainChecks.runReporting(store: scoped, link: key, complete: held, held: held, full: false)
        _ = try DomainChecks.runReporting(store: full, link: key, complete: held, held: held, full: true)
        _ = try DomainChecks.runReporting(store: parted, link: key, complete: held, held: held, full: false, partSize: 3)
        #expect(try expectFindings(scoped, link: key, "first run, scoped store"))
        #expect(try expectFindings(parted, link: key, "first run, store judged in parts"))
        #expect(try expectFindings(full, link: key, "first run, full store"))
        #expect(try !conflicts(full).isEmpty)

        var scopedRounds = 0
        for round in 0..<40 {
            for _ in 0..<(1 + world.next(4)) {
                let region = world.pick(world.regions)
                let collection = world.pick(CollectionName.allCases)
                try apply(collection, region, [try world.change(collection, region)])
            }
            let s = try DomainChecks.runReporting(store: scoped, link: key, complete: held, held: held, full: false)
            let f = try DomainChecks.runReporting(store: full, link: key, complete: held, held: held, full: true)
            let p = try DomainChecks.runReporting(store: parted, link: key, complete: held, held: held, full: false,
                                                  partSize: 3)
            if s.scoped { scopedRounds += 1 }
            #expect(!f.scoped && p.scoped)
            #expect(Set(s.opened.map(\.dedupKey)) == Set(f.opened.map(\.dedupKey)), "round \(round)")
            #expect(Set(p.opened.map(\.dedupKey)) == Set(f.opened.map(\.dedupKey)), "round \(round), in parts")
            guard try expectFindings(scoped, link: key, "round \(round), scoped"),
                  try expectFindings(full, link: key, "round \(round), full"),
                  try expectFindings(parted, link: key, "round \(round), in parts") else { break }
        }
        #expect(scopedRounds == 40)
        // Closed ones agree too: the same findings closed for the same reasons.
        let closed = { (store: Store) in
            try store.conflicts(includeClosed: true).filter { $0.closedAt != nil }
                .map { "\($0.kind) \($0.sourceID) \($0.closeReason ?? "")" }.sorted()
        }
        #expect(try closed(scoped) == closed(full))
        #expect(try closed(parted) == closed(full))
    }
}
