import DopsyncModel
import DopsyncStore
import DopsyncTesting
import Simulator
import SyncEngine
import Testing

// Helpers the push tests of every region share, beside those of
// DopsyncTesting/PushTesting.swift.

/// The source id of the first good certificate of the simulator with `status`.
func certificateID(_ data: RegionData, status: CertificateStatus) throws -> String? {
    try goodIDs(data, .certificates).first { (try? simCertificate(data, $0).status) == status }
}

/// A gateway configured for `region` only, synced once (and successfully).
func syncedGateway(_ region: String, scale: Int = 100) async throws -> (GatewayUnderTest, RegionData) {
    let gateway = try await GatewayUnderTest.start(regions: [region], scale: scale)
    let report = try await gateway.sync()
    #expect(report.succeeded, "\(report.failures)")
    return (gateway, gateway.simulator.data(region))
}

extension GatewayUnderTest {
    /// An operator's edit of one record, as `dopsync edit` makes it.
    func edit(_ code: String, _ collection: CollectionName, _ sourceID: String, _ changes: [(String, JSONValue)]) throws {
        _ = try store.edit(region: code, collection: collection, sourceID: sourceID, set: changes.map { ($0.0, $0.1) },
                           operator: "test", reason: nil)
    }
}

/// A gateway over one simulated region, synced once, and the id of a good program it holds.
func syncedForPush(_ region: String, scale: Int = 100) async throws -> (GatewayUnderTest, RegionData, String) {
    let (gateway, data) = try await syncedGateway(region, scale: scale)
    return (gateway, data, try goodIDs(data, .programs)[3])
}

/// An operator's edit of a program at the gateway.
func editProgram(_ gateway: GatewayUnderTest, region code: String, _ id: String, _ changes: [(String, JSONValue)]) throws {
    try gateway.edit(code, .programs, id, changes)
}

/// The push scenarios every region must pass, whatever its write protocol.
enum PushScenarios {
    /// The region changes another field of the record just before the
    /// gateway's write lands: the write meets the race, the gateway reads the
    /// region's record, merges, and writes again; one write is applied.
    static func raceOnAnotherField(_ region: String) async throws {
        let (gateway, data, id) = try await syncedForPush(region)
        defer { Task { await gateway.stop() } }
        try editProgram(gateway, region: data.code, id, [("title", .string("Шахматный клуб «Ладья»"))])
        let raced = RaceOnce()
        data.beforeWrite { collection, sourceID in
            guard raced.first() else { return }
            data.update(collection, sourceID) { if case var .program(p) = $0 { p.hoursTotal = 999; $0 = .program(p) } }
        }
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        let p = try simProgram(data, id)
        #expect(p.title == "Шахматный клуб «Ладья»" && p.hoursTotal == 999)
        #expect(data.writesApplied == 1)
        #expect(try gateway.store.conflicts().isEmpty)
        #expect(try gateway.export(.programs) == data.expectedExport(.programs))
        #expect(try gateway.store.outbox().map(\.state) == ["superseded", "done"])
    }

    /// The region changes the same field differently just before the write:
    /// an `edit_conflict` opens, that field is not pushed, the other one is;
    /// the operator takes the gateway's side and the next sync sends it.
    static func raceOnTheSameField(_ region: String) async throws {
        let (gateway, data, id) = try await syncedForPush(region)
        defer { Task { await gateway.stop() } }
        try editProgram(gateway, region: data.code, id,
                        [("title", .string("Шахматный клуб «Ладья»")), ("hours_total", .int(36))])
        let raced = RaceOnce()
        data.beforeWrite { collection, sourceID in
            guard raced.first() else { return }
            data.update(collection, sourceID) { if case var .program(p) = $0 { p.title = "Игра го"; $0 = .program(p) } }
        }
        var report = try await gateway.sync()
        #expect(report.succeeded, "an edit conflict waits for an operator and is no failure: \(report.failures)")
        #expect(report.counts(region, .programs).conflictsOpened == 1)
        var p = try simProgram(data, id)
        #expect(p.title == "Игра го" && p.hoursTotal == 36)
        #expect(data.writesApplied == 1)
        let conflict = try #require(try gateway.store.conflicts().first { $0.kind == "edit_conflict" })
        #expect(conflict.collection == .programs && conflict.sourceID == id && conflict.region == data.code)
        #expect(try gateway.export(.programs) == data.expectedExport(.programs))

        // The operator takes the gateway's title: the next sync sends it.
        data.clearWriteHooks()
        _ = try gateway.store.resolveConflict(id: conflict.id, .takeGateway, operator: "test", reason: "confirmed")
        report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        p = try simProgram(data, id)
        #expect(p.title == "Шахматный клуб «Ладья»" && p.hoursTotal == 36)
        #expect(data.writesApplied == 2)
        #expect(try gateway.store.conflicts().allSatisfy { $0.kind != "edit_conflict" })
        #expect(try gateway.export(.programs) == data.expectedExport(.programs))
    }
}

/// Runs a real `dopsync sync` whose write lands in the region while its
/// answer is held back, and kills it with SIGKILL then: the region applied
/// the change once and the gateway's entry stays `sending`, to be resolved
/// by the next push without a second write.
func killSyncWhileTheAnswerIsHeld(_ gateway: GatewayUnderTest, _ data: RegionData) async throws {
    let landed = AsyncStream<Void>.makeStream(), release = AsyncStream<Void>.makeStream()
    data.afterWrite { _, _ in
        landed.continuation.yield()
        for await _ in release.stream {}
        return true
    }
    let process = try DopsyncBinary.launch(["sync", "--config", gateway.simulator.configPath])
    var landedIterator = landed.stream.makeAsyncIterator()
    await landedIterator.next()
    await DopsyncBinary.kill9(process)
    release.continuation.finish()
    data.clearWriteHooks()
    #expect(data.writesApplied == 1)
    #expect(try gateway.store.outbox().map(\.state) == ["sending"])
}
