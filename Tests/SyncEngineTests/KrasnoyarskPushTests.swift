import DopsyncModel
import DopsyncStore
import DopsyncTesting
import Foundation
import Regions
import Simulator
import SyncEngine
import Testing

/// Edits at the gateway pushed to Krasnoyarsk over real HTTPS: `PUT` of a
/// whole program rebuilt from its last raw record, `PATCH` of a certificate's
/// status, both with `If-Match`; a record last read from a snapshot has no
/// ETag and is read with `GET` first. Merged with the region's changes,
/// conflicts opened where both sides changed a field, every change applied
/// at most once however the answer is lost.
@Suite("Krasnoyarsk pushes gateway edits")
struct KrasnoyarskPushTests {
    static let region = "krasnoyarsk"
    static let code = "24"
    /// The wire's direction codes by normalized direction (regions/krasnoyarsk.md).
    static let directionCodes = ["technical": "technical", "natural_science": "natural_science", "sport": "physical_sport",
                                 "art": "artistic", "tourism": "tourist_local_history", "social": "social_humanitarian"]

    /// A gateway synced once, and the id of a program it holds (read from a
    /// snapshot: without an ETag).
    func synced(scale: Int = 100) async throws -> (GatewayUnderTest, RegionData, String) {
        let gateway = try await GatewayUnderTest.start(regions: [Self.region], scale: scale)
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        let data = gateway.simulator.data(Self.region)
        return (gateway, data, try goodIDs(data, .programs)[3])
    }

    func edit(_ gateway: GatewayUnderTest, _ id: String, _ changes: [(String, JSONValue)],
              in collection: CollectionName = .programs) throws {
        _ = try gateway.store.edit(region: Self.code, collection: collection, sourceID: id, set: changes.map { ($0.0, $0.1) },
                                   operator: "test", reason: nil)
    }

    func sourceVersion(_ gateway: GatewayUnderTest, _ collection: CollectionName, _ id: String) throws -> String? {
        for line in try gateway.export(collection) {
            let json = try JSONParser.parse(line)
            if json["source_id"] == .string(id) {
                if case let .string(v)? = json["source_version"] { return v }
                return nil
            }
        }
        throw StoreError("no \(collection.rawValue) \(id) in the export")
    }

    func wireStrings(_ value: JSONValue?) -> [String] {
        guard case let .array(items)? = value else { return [] }
        return items.compactMap { if case let .string(s) = $0 { s } else { nil } }
    }

    @Test func anEditIsPutOnceAndTheExportShowsTheNewVersion() async throws {
        let (gateway, data, id) = try await synced()
        defer { Task { await gateway.stop() } }
        let version = try #require(data.entry(.programs, id)?.version)
        let ageMax = try simProgram(data, id).ageMax + 1
        #expect(try sourceVersion(gateway, .programs, id) == nil, "read from a snapshot: no ETag yet")
        try edit(gateway, id, [("title", .string("Шахматы для начинающих")), ("price_month_kopecks", .int(123_450)),
                               ("provider.name", .string("АНО «Гамбит»")), ("age_max", .int(ageMax))])

        let head = data.changeLogHead
        var report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(data.writesApplied == 1)
        #expect(data.changeLogHead == head + 1, "the write is in the region's change feed")
        var p = try simProgram(data, id)
        #expect(p.title == "Шахматы для начинающих" && p.priceMonth == Kopecks(123_450) && p.provider.name == "АНО «Гамбит»")
        #expect(p.ageMax == ageMax)
        #expect(data.entry(.programs, id)?.version == version + 1)
        #expect(try sourceVersion(gateway, .programs, id) == String(version + 1), "the new ETag without its quotes")
        #expect(try gateway.export(.programs) == data.expectedExport(.programs))
        #expect(try gateway.store.outbox().map(\.state) == ["done"])
        #expect(try gateway.store.auditLog().map(\.action) == ["edit", "push"])

        // Nothing is left to send: the next sync writes nothing.
        report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(data.writesApplied == 1)

        // The record now has an ETag: the next edit is written with it at once.
        try edit(gateway, id, [("hours_total", .int(72)), ("format", .string("online"))])
        report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(data.writesApplied == 2)
        p = try simProgram(data, id)
        #expect(p.hoursTotal == 72 && p.format == .online && p.title == "Шахматы для начинающих")
        #expect(try sourceVersion(gateway, .programs, id) == String(version + 2))
        #expect(try gateway.export(.programs) == data.expectedExport(.programs))
    }

    /// A write whose answer was lost, of a record the region then deleted:
    /// the sync sends it again before its pull and meets `404`; that is no
    /// refusal to report, since the pull then stores the deletion, which
    /// drops the edit quietly (as a deletion always does).
    @Test func aLostWriteOfARecordDeletedSinceIsDroppedWithTheDeletion() async throws {
        let (gateway, data, _) = try await synced()
        defer { Task { await gateway.stop() } }
        let gone = try #require(data.delete(.certificates, count: 1).first)
        let held = try #require(try gateway.export(.certificates).first { $0.contains("\"source_id\":\"\(gone)\"") })
        let status = held.contains("\"status\":\"suspended\"") ? "active" : "suspended"
        try edit(gateway, gone, [("status", .string(status))], in: .certificates)
        // Sent, and no answer came (the store marks it sent before it goes).
        _ = try #require(try gateway.store.preparePush(region: Self.code, collection: .certificates, sourceID: gone))
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(try gateway.store.outbox().map(\.state) == ["rejected"])
        #expect(try gateway.export(.certificates).contains { $0.contains("\"source_id\":\"\(gone)\"") && $0.contains("\"deleted\":true") })
        #expect(try gateway.store.auditLog().contains { $0.action == "edit_dropped" && $0.sourceID == gone })
    }

    @Test func aCertificateStatusIsPatched() async throws {
        let (gateway, data, _) = try await synced()
        defer { Task { await gateway.stop() } }
        let id = try #require(try goodIDs(data, .certificates).first { (try? simCertificate(data, $0).status) == .active })
        try edit(gateway, id, [("status", .string("suspended"))], in: .certificates)
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(try simCertificate(data, id).status == .suspended)
        #expect(data.wireRecord(.certificates, id)?["status"] == .string("paused"))
        #expect(data.writesApplied == 1)
        #expect(try gateway.export(.certificates) == data.expectedExport(.certificates))
        #expect(try gateway.store.outbox().map(\.state) == ["done"])
    }

    @Test func aSecondDirectionAndTheLegalFormSurviveThePut() async throws {
        let (gateway, data, _) = try await synced()
        defer { Task { await gateway.stop() } }
        let id = try #require(try goodIDs(data, .programs).first { wireStrings(data.wireRecord(.programs, $0)?["directions"]).count >= 2 })
        let before = try #require(data.wireRecord(.programs, id))
        let directions = wireStrings(before["directions"])
        let legalForm = before.value(atPath: "provider.legal_form")

        try edit(gateway, id, [("title", .string("Робототехника"))])
        var report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        var after = try #require(data.wireRecord(.programs, id))
        #expect(after["title"] == .string("Робототехника"))
        #expect(wireStrings(after["directions"]) == directions)
        #expect(after.value(atPath: "provider.legal_form") == legalForm)

        // A new main direction replaces the first and keeps the others; a new
        // kind of provider gets a legal form of that kind.
        let (newMain, newCode) = try #require(Self.directionCodes.sorted { $0.key < $1.key }.first { !directions.contains($0.value) })
        try edit(gateway, id, [("direction", .string(newMain)), ("provider.kind", .string("municipal"))])
        report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        after = try #require(data.wireRecord(.programs, id))
        #expect(wireStrings(after["directions"]) == [newCode] + directions.dropFirst())
        #expect(after.value(atPath: "provider.legal_form") == .string("mun"))
        #expect(data.writesApplied == 2)
        #expect(try gateway.export(.programs) == data.expectedExport(.programs))
    }

    @Test func aRegionChangeSinceTheSnapshotIsMergedBeforeThePut() async throws {
        let (gateway, data, id) = try await synced()
        defer { Task { await gateway.stop() } }
        try edit(gateway, id, [("title", .string("Шахматный клуб «Ладья»"))])
        data.update(.programs, id) { if case var .program(p) = $0 { p.hoursTotal = 999; $0 = .program(p) } }

        // Pushed without a pull first: the record has no ETag, the GET finds
        // it changed since the snapshot, and the change is merged over it.
        let pushed = try await gateway.push(region: Self.region)
        #expect(pushed.applied == 1 && pushed.rejected.isEmpty)
        let p = try simProgram(data, id)
        #expect(p.title == "Шахматный клуб «Ладья»" && p.hoursTotal == 999)
        #expect(data.writesApplied == 1)
        #expect(try gateway.store.conflicts().isEmpty)
        #expect(try gateway.store.outbox().map(\.state) == ["superseded", "done"])
        #expect(try await gateway.sync().succeeded)
        #expect(try gateway.export(.programs) == data.expectedExport(.programs))
    }

    @Test func aRaceOnAnotherFieldIsMergedAndWrittenAgain() async throws {
        try await PushScenarios.raceOnAnotherField("krasnoyarsk")
    }

    @Test func aRaceOnTheSameFieldOpensAnEditConflictAndTheRestIsPushed() async throws {
        try await PushScenarios.raceOnTheSameField("krasnoyarsk")
    }

    @Test func aLostAnswerIsNotAppliedTwice() async throws {
        let (gateway, data, id) = try await synced()
        defer { Task { await gateway.stop() } }
        try edit(gateway, id, [("title", .string("Шахматный клуб «Ладья»"))])
        let lost = RaceOnce()
        // The write lands; its answer is lost on the way (a 503 from the
        // proxy): the client sends it again, meets 412, and the record it
        // then reads holds its own change.
        data.afterWrite { _, _ in lost.first() }
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(data.writesApplied == 1)
        #expect(try simProgram(data, id).title == "Шахматный клуб «Ладья»")
        #expect(try gateway.export(.programs) == data.expectedExport(.programs))
        #expect(try gateway.store.pushQueue(region: Self.code).isEmpty)
    }

    @Test func aPushKilledBeforeTheAnswerIsNeverAppliedTwice() async throws {
        let (gateway, data, id) = try await synced()
        defer { Task { await gateway.stop() } }
        try edit(gateway, id, [("title", .string("Шахматный клуб «Ладья»"))])
        try await killSyncWhileTheAnswerIsHeld(gateway, data)

        // Pushed again without a pull first: the stored change (based on no
        // ETag) reads the record, finds it changed, with the change in it, and
        // is done without a second write.
        let pushed = try await gateway.push(region: Self.region)
        #expect(pushed.applied == 0 && pushed.rejected.isEmpty)
        #expect(data.writesApplied == 1)
        #expect(try gateway.store.pushQueue(region: Self.code).isEmpty)
        #expect(try gateway.store.outbox().map(\.state) == ["done"])
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(data.writesApplied == 1)
        #expect(try gateway.export(.programs) == data.expectedExport(.programs))
    }

    @Test func aRefusedChangeIsRejectedAndTheRegionsValuesStay() async throws {
        let (gateway, data, id) = try await synced()
        defer { Task { await gateway.stop() } }
        // A change in the region brings the record with its ETag through the
        // feed, so the PUT goes out at once (a record read from a snapshot is
        // first read with GET, and a gateway that keeps no answer of a refused
        // write still holds it without a version, which the simulator's
        // expected export cannot tell from a read).
        data.update(.programs, id) { if case var .program(p) = $0 { p.hoursTotal = (p.hoursTotal ?? 0) + 1; $0 = .program(p) } }
        #expect(try await gateway.sync().succeeded)
        #expect(try sourceVersion(gateway, .programs, id) != nil)
        // The region refuses ages that run backwards (422).
        let p = try simProgram(data, id)
        try edit(gateway, id, [("age_min", .int(p.ageMax + 1))])
        let report = try await gateway.sync()
        #expect(!report.succeeded)
        #expect(report.failures[Self.region]?.contains("programs \(id): age.max: is less than age.min") == true,
                "\(report.failures)")
        #expect(data.writesApplied == 0)
        #expect(try gateway.export(.programs) == data.expectedExport(.programs))
        #expect(try gateway.store.outbox().map(\.state) == ["rejected"])
        #expect(try await gateway.sync().succeeded)
    }
}
