import DopsyncModel
import DopsyncStore
import DopsyncTesting
import Foundation
import Regions
import Simulator
import SyncEngine
import Synchronization
import Testing

/// Edits at the gateway pushed to Omsk over real HTTPS: merged with the
/// region's changes, conflicts opened where both sides changed a field, and
/// every change applied at most once however the answer is lost.
@Suite("Omsk pushes gateway edits")
struct OmskPushTests {
    /// A gateway synced once, and the id of a program it holds.
    func synced(scale: Int = 100) async throws -> (GatewayUnderTest, RegionData, String) {
        try await syncedForPush("omsk", scale: scale)
    }

    func edit(_ gateway: GatewayUnderTest, _ id: String, _ changes: [(String, JSONValue)]) throws {
        try editProgram(gateway, region: "55", id, changes)
    }

    @Test func anEditIsPushedOnceAndTheExportShowsTheNewVersion() async throws {
        let (gateway, omsk, id) = try await synced()
        defer { Task { await gateway.stop() } }
        let version = try #require(omsk.entry(.programs, id)?.version)
        try edit(gateway, id, [("title", .string("Шахматы для начинающих")), ("price_month_kopecks", .int(123_450)),
                               ("provider.name", .string("АНО «Гамбит»"))])

        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(omsk.writesApplied == 1)
        let p = try simProgram(omsk, id)
        #expect(p.title == "Шахматы для начинающих" && p.priceMonth == Kopecks(123_450) && p.provider.name == "АНО «Гамбит»")
        #expect(omsk.entry(.programs, id)?.version == version + 1)
        #expect(try gateway.export(.programs) == omsk.expectedExport(.programs))
        #expect(try gateway.store.outbox().map(\.state) == ["done"])
        #expect(try gateway.store.auditLog().map(\.action) == ["edit", "push"])

        // Nothing is left to send: the next sync writes nothing.
        _ = try await gateway.sync()
        #expect(omsk.writesApplied == 1)
    }

    /// Before its pull, a sync sends again only the change sent before whose
    /// answer never came; an edit queued behind it waits for the push after
    /// the pull (it is not marked sent).
    @Test func theStepBeforeThePullSendsOnlyTheChangeSentBefore() async throws {
        let (gateway, omsk, id) = try await synced()
        defer { Task { await gateway.stop() } }
        try edit(gateway, id, [("title", .string("Шахматный клуб «Ладья»"))])
        // Sent, and no answer came (the store marks it sent before it goes).
        _ = try #require(try gateway.store.preparePush(region: "55", collection: .programs, sourceID: id))
        try edit(gateway, id, [("hours_total", .int(999))])
        var entries = try gateway.store.outbox()
        #expect(entries.map(\.state) == ["sending", "pending"], "\(entries.map { "\($0.state) \($0.fields)" })")
        let report = try await gateway.push(region: "omsk", unsettledOnly: true)
        #expect(report.applied == 1)
        #expect(omsk.writesApplied == 1)
        entries = try gateway.store.outbox()
        #expect(entries.map(\.state) == ["done", "pending"], "\(entries.map { "\($0.state) \($0.fields)" })")
        #expect(try await gateway.sync().succeeded)
        #expect(omsk.writesApplied == 2)
        #expect(try simProgram(omsk, id).hoursTotal == 999)
    }

    @Test func aCertificateStatusIsPatched() async throws {
        let (gateway, omsk, _) = try await synced()
        defer { Task { await gateway.stop() } }
        let number = try #require(try goodIDs(omsk, .certificates).first {
            if case let .certificate(c)? = omsk.entry(.certificates, $0)?.record { return c.status == .active }
            return false
        })
        _ = try gateway.store.edit(region: "55", collection: .certificates, sourceID: number,
                                   set: [("status", .string("suspended"))], operator: "test", reason: nil)
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        guard case let .certificate(c)? = omsk.entry(.certificates, number)?.record else { throw StoreError("gone") }
        #expect(c.status == .suspended)
        #expect(omsk.writesApplied == 1)
        #expect(try gateway.export(.certificates) == omsk.expectedExport(.certificates))
    }

    @Test func aRegionChangeToAnotherFieldIsMergedBeforeThePush() async throws {
        let (gateway, omsk, id) = try await synced()
        defer { Task { await gateway.stop() } }
        try edit(gateway, id, [("title", .string("Шахматный клуб «Ладья»"))])
        omsk.update(.programs, id) { if case var .program(p) = $0 { p.description = "Изменено в регионе"; $0 = .program(p) } }

        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        let p = try simProgram(omsk, id)
        #expect(p.title == "Шахматный клуб «Ладья»" && p.description == "Изменено в регионе")
        #expect(omsk.writesApplied == 1)
        #expect(try gateway.store.conflicts().isEmpty)
        #expect(try gateway.export(.programs) == omsk.expectedExport(.programs))
    }

    @Test func aRaceOnAnotherFieldIsMergedAndWrittenAgain() async throws {
        try await PushScenarios.raceOnAnotherField("omsk")
    }

    @Test func aRaceOnTheSameFieldOpensAnEditConflictAndTheRestIsPushed() async throws {
        try await PushScenarios.raceOnTheSameField("omsk")
    }

    @Test func aLostAnswerIsNotAppliedTwice() async throws {
        let (gateway, omsk, id) = try await synced()
        defer { Task { await gateway.stop() } }
        try edit(gateway, id, [("title", .string("Шахматный клуб «Ладья»"))])
        let lost = RaceOnce()
        // The write lands; its answer is lost on the way (a 503 from the
        // proxy): the client sends it again and meets 412 with its own change.
        omsk.afterWrite { _, _ in lost.first() }
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(omsk.writesApplied == 1)
        #expect(try simProgram(omsk, id).title == "Шахматный клуб «Ладья»")
        #expect(try gateway.export(.programs) == omsk.expectedExport(.programs))
        #expect(try gateway.store.pushQueue(region: "55").isEmpty)
    }

    @Test func aPushKilledBeforeTheAnswerIsNeverAppliedTwice() async throws {
        let (gateway, omsk, id) = try await synced()
        defer { Task { await gateway.stop() } }
        try edit(gateway, id, [("title", .string("Шахматный клуб «Ладья»"))])
        try await killSyncWhileTheAnswerIsHeld(gateway, omsk)

        // Pushed again without a pull first: the stored request goes out
        // again, meets 412 with the change in it, and is done.
        let pushed = try await gateway.push(region: "omsk")
        #expect(pushed.applied == 0 && pushed.rejected.isEmpty)
        #expect(omsk.writesApplied == 1)
        #expect(try gateway.store.pushQueue(region: "55").isEmpty)
        #expect(try gateway.store.outbox().map(\.state) == ["done"])
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(omsk.writesApplied == 1)
        #expect(try gateway.export(.programs) == omsk.expectedExport(.programs))
    }

    @Test func aRefusedChangeFailsThePushAndTheRegionsValuesStay() async throws {
        let (gateway, omsk, id) = try await synced()
        defer { Task { await gateway.stop() } }
        // The simulator refuses ages that run backwards (422).
        let p = try simProgram(omsk, id)
        try edit(gateway, id, [("age_min", .int(p.ageMax + 1))])
        let report = try await gateway.sync()
        #expect(!report.succeeded)
        #expect(report.failures["omsk"]?.contains("programs \(id): ageTo: less than ageFrom") == true)
        #expect(omsk.writesApplied == 0)
        #expect(try gateway.export(.programs) == omsk.expectedExport(.programs))
        #expect(try gateway.store.outbox().map(\.state) == ["rejected"])
        #expect(try await gateway.sync().succeeded)
    }

    @Test func closingADuplicateCertificateIsPushedToItsRegion() async throws {
        let (gateway, omsk, _) = try await synced()
        defer { Task { await gateway.stop() } }
        // One child, two active financing certificates of one year in Omsk.
        let active = try goodIDs(omsk, .certificates).compactMap { id -> Certificate? in
            guard case let .certificate(c)? = omsk.entry(.certificates, id)?.record,
                  c.status == .active, c.type == .financing, c.child.snils != nil else { return nil }
            return c
        }
        let (first, second) = (active[0], try #require(active.dropFirst().first { $0.year == active[0].year }))
        omsk.update(.certificates, second.number) {
            if case var .certificate(c) = $0 { c.child.snils = first.child.snils; $0 = .certificate(c) }
        }
        _ = try await gateway.sync()
        let conflict = try #require(try gateway.store.conflicts().first { $0.kind == "duplicate_certificate" })

        _ = try gateway.store.resolveConflict(id: conflict.id, .closeCertificate(region: "55", sourceID: second.number),
                                              operator: "test", reason: "the family moved")
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        guard case let .certificate(closed)? = omsk.entry(.certificates, second.number)?.record else { throw StoreError("gone") }
        #expect(closed.status == .closed)
        #expect(omsk.writesApplied == 1)
        #expect(try gateway.store.conflicts().allSatisfy { $0.kind != "duplicate_certificate" })
        #expect(try gateway.store.auditLog().map(\.action) == ["resolve", "push"])
    }
}
