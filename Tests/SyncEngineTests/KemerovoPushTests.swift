import DopsyncConfig
import DopsyncModel
import DopsyncStore
import DopsyncTesting
import Foundation
import Regions
import Simulator
import SyncEngine
import Testing

/// Edits at the gateway pushed to Kemerovo as import packages over real
/// HTTPS (mutual TLS): the package is processed after 4 seconds and its
/// status asked until it is; a `Конфликт` is merged with the record read
/// back, and a package sent again (same id) applies nothing.
@Suite("Kemerovo pushes gateway edits as import packages")
struct KemerovoPushTests {
    func synced() async throws -> (GatewayUnderTest, RegionData, String) {
        try await syncedForPush("kemerovo")
    }

    func edit(_ gateway: GatewayUnderTest, _ id: String, _ changes: [(String, JSONValue)]) throws {
        try editProgram(gateway, region: "42", id, changes)
    }

    /// Edits the program's title and pushes it with an adapter that asks the
    /// package's status once: the package is still `В обработке`.
    func sendTitleOnce(_ gateway: GatewayUnderTest, _ id: String) async throws -> PushReport {
        try edit(gateway, id, [("title", .string("Шахматный клуб «Ладья»"))])
        let settings = try #require(gateway.configuration.regions.first { $0.name == "kemerovo" })
        let impatient = try KemerovoAdapter(settings: settings, pageSize: 1000, statusPolls: 1)
        return try await Pusher(store: gateway.store, adapter: impatient).run()
    }

    @Test func anEditIsImportedOnceAndTheExportShowsTheNewState() async throws {
        let (gateway, kemerovo, id) = try await synced()
        defer { Task { await gateway.stop() } }
        let before = try #require(kemerovo.entry(.programs, id)?.updatedAt)
        try edit(gateway, id, [("title", .string("Шахматы & шашки <для начинающих>")), ("price_month_kopecks", .int(123_450)),
                               ("provider.name", .string("АНО «Гамбит»")), ("direction", .string("art")),
                               ("age_max", .int(17)), ("ends_on", .string("2027-06-30"))])

        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(kemerovo.writesApplied == 1)
        let p = try simProgram(kemerovo, id)
        #expect(p.title == "Шахматы & шашки <для начинающих>" && p.priceMonth == Kopecks(123_450))
        #expect(p.provider.name == "АНО «Гамбит»" && p.direction == .art && p.ageMax == 17)
        #expect(p.endsOn == (try LocalDate(iso: "2027-06-30")))
        #expect(try #require(kemerovo.entry(.programs, id)?.updatedAt) > before)
        #expect(try gateway.export(.programs) == kemerovo.expectedExport(.programs))
        #expect(try gateway.store.outbox().map(\.state) == ["done"])
        #expect(try gateway.store.auditLog().map(\.action) == ["edit", "push"])

        // Nothing is left to send: the next sync writes nothing.
        #expect(try await gateway.sync().succeeded)
        #expect(kemerovo.writesApplied == 1)
        #expect(try gateway.export(.programs) == kemerovo.expectedExport(.programs))
    }

    @Test func aCertificateStatusIsImported() async throws {
        let (gateway, kemerovo, _) = try await synced()
        defer { Task { await gateway.stop() } }
        let number = try #require(try goodIDs(kemerovo, .certificates).first { try simCertificate(kemerovo, $0).status == .active })
        _ = try gateway.store.edit(region: "42", collection: .certificates, sourceID: number,
                                   set: [("status", .string("closed"))], operator: "test", reason: nil)
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(try simCertificate(kemerovo, number).status == .closed)
        #expect(kemerovo.writesApplied == 1)
        #expect(try gateway.export(.certificates) == kemerovo.expectedExport(.certificates))
        #expect(try gateway.store.outbox().map(\.state) == ["done"])
    }

    @Test func aRaceOnAnotherFieldIsMergedAndImportedAgain() async throws {
        try await PushScenarios.raceOnAnotherField("kemerovo")
    }

    @Test func aRaceOnTheSameFieldOpensAnEditConflictAndTheRestIsImported() async throws {
        try await PushScenarios.raceOnTheSameField("kemerovo")
    }

    @Test func aLostStatusAnswerIsAskedAgainAndAppliedOnce() async throws {
        let (gateway, kemerovo, id) = try await synced()
        defer { Task { await gateway.stop() } }
        try edit(gateway, id, [("title", .string("Шахматный клуб «Ладья»"))])
        let lost = RaceOnce()
        // The package is applied; the status that tells of it is lost on
        // the way (a 503 from the proxy): the client asks again.
        kemerovo.afterWrite { _, _ in lost.first() }
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(kemerovo.writesApplied == 1)
        #expect(try simProgram(kemerovo, id).title == "Шахматный клуб «Ладья»")
        #expect(try gateway.export(.programs) == kemerovo.expectedExport(.programs))
        #expect(try gateway.store.pushQueue(region: "42").isEmpty)
    }

    @Test func aPushKilledBeforeTheStatusSendsThePackageAgainAndItAppliesNothing() async throws {
        let (gateway, kemerovo, id) = try await synced()
        defer { Task { await gateway.stop() } }
        try edit(gateway, id, [("title", .string("Шахматный клуб «Ладья»"))])
        try await killSyncWhileTheAnswerIsHeld(gateway, kemerovo)

        // Pushed again without a pull first: the same package (same id) goes
        // out again, is answered with the first receipt, and its status says
        // the first sending was applied.
        let pushed = try await gateway.push(region: "kemerovo")
        #expect(pushed.applied == 1 && pushed.rejected.isEmpty)
        #expect(kemerovo.writesApplied == 1)
        #expect(try gateway.store.pushQueue(region: "42").isEmpty)
        #expect(try gateway.store.outbox().map(\.state) == ["done"])
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(kemerovo.writesApplied == 1)
        #expect(try gateway.export(.programs) == kemerovo.expectedExport(.programs))
    }

    @Test func aPackageStillInProcessingIsAskedAboutOnTheNextPushAndAppliedOnce() async throws {
        let (gateway, kemerovo, id) = try await synced()
        defer { Task { await gateway.stop() } }
        let first = try await sendTitleOnce(gateway, id)
        #expect(first.applied == 0 && first.waiting == ["programs \(id)"])
        #expect(try gateway.store.outbox().map(\.state) == ["sending"])
        #expect(kemerovo.writesApplied == 0)

        // The next push sends the same package (same id), which the region
        // answers with its first receipt, and reads the outcome from its status.
        let second = try await gateway.push(region: "kemerovo")
        #expect(second.applied == 1 && second.waiting.isEmpty)
        #expect(kemerovo.writesApplied == 1)
        #expect(try simProgram(kemerovo, id).title == "Шахматный клуб «Ладья»")
        #expect(try gateway.store.outbox().map(\.state) == ["done"])
        #expect(try await gateway.sync().succeeded)
        #expect(kemerovo.writesApplied == 1)
        #expect(try gateway.export(.programs) == kemerovo.expectedExport(.programs))
    }

    /// The package is applied between two syncs, then the region changes the
    /// same field again: the package was the last common version, so the
    /// next sync takes the region's value and opens no conflict.
    @Test func aPackageAppliedBetweenSyncsIsTheBaseOfTheNextPull() async throws {
        let (gateway, kemerovo, id) = try await synced()
        defer { Task { await gateway.stop() } }
        #expect(try await sendTitleOnce(gateway, id).waiting == ["programs \(id)"])
        // The region processes a package 4 seconds after it arrives, on its next request.
        try await Task.sleep(for: .seconds(4.5))
        let raced = RaceOnce()
        kemerovo.onRead { collection in
            guard collection == .programs, kemerovo.writesApplied == 1, raced.first() else { return }
            kemerovo.update(.programs, id) { if case var .program(p) = $0 { p.title = "Игра го"; $0 = .program(p) } }
        }
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(try gateway.store.conflicts().isEmpty, "no change of the gateway's is left against the region's")
        #expect(try simProgram(kemerovo, id).title == "Игра го")
        #expect(kemerovo.writesApplied == 1)
        #expect(try gateway.export(.programs) == kemerovo.expectedExport(.programs))
        #expect(try gateway.store.outbox().map(\.state) == ["done"])
    }

    @Test func aRefusedChangeEndsRejectedWithTheRegionsReason() async throws {
        let (gateway, kemerovo, id) = try await synced()
        defer { Task { await gateway.stop() } }
        // The region refuses ages that run backwards: `Отклонено`.
        let p = try simProgram(kemerovo, id)
        try edit(gateway, id, [("age_min", .int(p.ageMax + 1))])
        let report = try await gateway.sync()
        #expect(!report.succeeded)
        #expect(report.failures["kemerovo"]?.contains("programs \(id): Неверно указан возраст") == true)
        #expect(kemerovo.writesApplied == 0)
        #expect(try gateway.export(.programs) == kemerovo.expectedExport(.programs))
        #expect(try gateway.store.outbox().map(\.state) == ["rejected"])
        #expect(try await gateway.sync().succeeded)
    }

    @Test func aDescriptionIsRejectedWithoutAPackage() async throws {
        let (gateway, kemerovo, id) = try await synced()
        defer { Task { await gateway.stop() } }
        try edit(gateway, id, [("description", .string("Описание"))])
        let report = try await gateway.sync()
        #expect(report.failures["kemerovo"]?.contains("carry no description") == true)
        #expect(kemerovo.writesApplied == 0)
        #expect(try gateway.store.outbox().map(\.state) == ["rejected"])
        #expect(try gateway.export(.programs) == kemerovo.expectedExport(.programs))
    }
}
