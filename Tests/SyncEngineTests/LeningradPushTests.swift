import DopsyncModel
import DopsyncStore
import DopsyncTesting
import Foundation
import Regions
import Simulator
import SyncEngine
import Testing

/// Edits at the gateway pushed to Leningrad over real HTTPS: a `PATCH` with
/// the version and the changed fields in wire form; a `409` (which carries no
/// record) is followed by a read of the record and merged; every change is
/// applied at most once however the answer is lost.
@Suite("Leningrad pushes gateway edits")
struct LeningradPushTests {
    static let code = "47"

    /// A gateway synced once, and the id of a program it holds.
    func synced() async throws -> (GatewayUnderTest, RegionData, String) {
        let (gateway, lo) = try await syncedGateway("leningrad")
        return (gateway, lo, try goodIDs(lo, .programs)[3])
    }

    @Test func programFieldsArePatchedOnceAndTheExportShowsTheRegionsNewState() async throws {
        let (gateway, lo, id) = try await synced()
        defer { Task { await gateway.stop() } }
        let before = try simProgram(lo, id)
        let version = try #require(lo.entry(.programs, id)?.version)
        // Values other than the region's, so that every field goes on the wire.
        let kind: ProviderKind = before.provider.kind == .private ? .municipal : .private
        let direction: Direction = before.direction == .sport ? .art : .sport
        let registry: Registry = before.registry == .paid ? .certified : .paid
        let format: ProgramFormat = before.format == .online ? .offline : .online
        let status: ProgramStatus = before.status == .published ? .archived : .published
        try gateway.edit(Self.code, .programs, id, [
            ("title", .string("Шахматы для начинающих")), ("price_month_kopecks", .int(123_450)),
            ("provider.name", .string("АНО «Гамбит»")), ("provider.kind", .string(kind.rawValue)),
            ("direction", .string(direction.rawValue)), ("registry", .string(registry.rawValue)),
            ("format", .string(format.rawValue)), ("status", .string(status.rawValue)), ("hours_total", .int(72)),
            ("starts_on", .string("2026-09-01")), ("ends_on", .string("2027-05-31")),
            ("provider.inn", .string("7801234567")), ("provider.ogrn", .string("1027800000017")),
            ("age_min", .int(6)), ("age_max", .int(16)), ("municipality.oktmo", .string("41612101")),
        ])

        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(lo.writesApplied == 1)
        let p = try simProgram(lo, id)
        #expect(p.title == "Шахматы для начинающих" && p.priceMonth == Kopecks(123_450) && p.provider.name == "АНО «Гамбит»")
        #expect(p.provider.kind == kind && p.direction == direction && p.registry == registry)
        #expect(p.format == format && p.status == status && p.hoursTotal == 72)
        let (start, end) = (try LocalDate(iso: "2026-09-01"), try LocalDate(iso: "2027-05-31"))
        #expect(p.startsOn == start && p.endsOn == end)
        #expect(p.provider.inn == "7801234567" && p.provider.ogrn == "1027800000017")
        #expect(p.ageMin == 6 && p.ageMax == 16 && p.municipality.oktmo == "41612101")
        #expect(lo.entry(.programs, id)?.version == version + 1)
        #expect(try gateway.export(.programs) == lo.expectedExport(.programs))
        #expect(try gateway.store.outbox().map(\.state) == ["done"])
        #expect(try gateway.store.auditLog().map(\.action) == ["edit", "push"])

        // Nothing is left to send: the next sync writes nothing.
        #expect(try await gateway.sync().succeeded)
        #expect(lo.writesApplied == 1)
    }

    @Test func aCertificateIsSuspendedResumedAndClosed() async throws {
        let (gateway, lo, _) = try await synced()
        defer { Task { await gateway.stop() } }
        let id = try #require(try certificateID(lo, status: .active))
        for (n, status) in [CertificateStatus.suspended, .active, .closed].enumerated() {
            try gateway.edit(Self.code, .certificates, id, [("status", .string(status.rawValue))])
            let report = try await gateway.sync()
            #expect(report.succeeded, "\(status): \(report.failures)")
            #expect(try simCertificate(lo, id).status == status)
            #expect(lo.writesApplied == n + 1)
            #expect(try gateway.export(.certificates) == lo.expectedExport(.certificates), "\(status)")
        }
        #expect(try gateway.store.outbox().map(\.state) == ["done", "done", "done"])
    }

    @Test func aClosedCertificateIsNotReopened() async throws {
        let (gateway, lo, _) = try await synced()
        defer { Task { await gateway.stop() } }
        let id = try #require(try certificateID(lo, status: .active))
        lo.update(.certificates, id) { if case var .certificate(c) = $0 { c.status = .closed; $0 = .certificate(c) } }
        #expect(try await gateway.sync().succeeded)
        try gateway.edit(Self.code, .certificates, id, [("status", .string("active"))])

        let report = try await gateway.sync()
        #expect(!report.succeeded)
        #expect(report.failures["leningrad"]?.contains(
            "certificates \(id): status: the certificate is closed in Leningrad, and a closed certificate cannot be reopened") == true,
            "\(report.failures)")
        #expect(lo.writesApplied == 0)
        #expect(try simCertificate(lo, id).status == .closed)
        #expect(try gateway.store.outbox().map(\.state) == ["rejected"])
        #expect(try gateway.export(.certificates) == lo.expectedExport(.certificates))
        #expect(try await gateway.sync().succeeded)
    }

    @Test func aRaceOnAnotherFieldIsReadMergedAndWrittenAgain() async throws {
        try await PushScenarios.raceOnAnotherField("leningrad")
    }

    @Test func aRaceOnTheSameFieldOpensAnEditConflictAndTheRestIsPushed() async throws {
        try await PushScenarios.raceOnTheSameField("leningrad")
    }

    @Test(arguments: [false, true])
    func aLostAnswerIsNotAppliedTwice(certificate: Bool) async throws {
        let (gateway, lo, program) = try await synced()
        defer { Task { await gateway.stop() } }
        let collection: CollectionName = certificate ? .certificates : .programs
        let id = certificate ? try #require(try certificateID(lo, status: .active)) : program
        try gateway.edit(Self.code, collection, id,
                         [certificate ? ("status", .string("closed")) : ("title", .string("Шахматный клуб «Ладья»"))])
        let lost = RaceOnce()
        // The write lands; its answer is lost on the way (a 503 from the
        // proxy): the client sends it again, meets 409, reads the record and
        // finds its own change there.
        lo.afterWrite { _, _ in lost.first() }
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(lo.writesApplied == 1)
        if certificate {
            #expect(try simCertificate(lo, id).status == .closed)
        } else {
            #expect(try simProgram(lo, id).title == "Шахматный клуб «Ладья»")
        }
        #expect(try gateway.export(collection) == lo.expectedExport(collection))
        #expect(try gateway.store.pushQueue(region: Self.code).isEmpty)
        // Done by the merge of the record read after the 409, not by a second write.
        let entry = try #require(try gateway.store.outbox().first)
        #expect(entry.state == "done" && entry.result?.contains("nothing left to send") == true, "\(entry)")
        #expect(try gateway.store.conflicts().isEmpty)
    }

    @Test func aPushKilledBeforeTheAnswerIsNeverAppliedTwice() async throws {
        let (gateway, lo, id) = try await synced()
        defer { Task { await gateway.stop() } }
        try gateway.edit(Self.code, .programs, id, [("title", .string("Шахматный клуб «Ладья»"))])
        try await killSyncWhileTheAnswerIsHeld(gateway, lo)

        // Pushed again without a pull first: the stored request goes out
        // again, meets 409, the record read after it holds the change: done.
        let pushed = try await gateway.push(region: "leningrad")
        #expect(pushed.applied == 0 && pushed.rejected.isEmpty)
        #expect(lo.writesApplied == 1)
        #expect(try gateway.store.pushQueue(region: Self.code).isEmpty)
        #expect(try gateway.store.outbox().map(\.state) == ["done"])
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        #expect(lo.writesApplied == 1)
        #expect(try gateway.export(.programs) == lo.expectedExport(.programs))
    }

    @Test func aRefusedChangeFailsThePushAndTheRegionsValuesStay() async throws {
        let (gateway, lo, id) = try await synced()
        defer { Task { await gateway.stop() } }
        // The simulator refuses ages that run backwards (400 bad_request).
        let p = try simProgram(lo, id)
        try gateway.edit(Self.code, .programs, id, [("age_min", .int(p.ageMax + 1))])
        let report = try await gateway.sync()
        #expect(!report.succeeded)
        #expect(report.failures["leningrad"]?.contains("programs \(id): age_min is greater than age_max") == true,
                "\(report.failures)")
        #expect(lo.writesApplied == 0)
        #expect(try simProgram(lo, id).ageMin == p.ageMin)
        #expect(try gateway.export(.programs) == lo.expectedExport(.programs))
        #expect(try gateway.store.outbox().map(\.state) == ["rejected"])
        #expect(try await gateway.sync().succeeded)
    }

    @Test func aFieldLeningradDoesNotKeepIsRefusedWithoutWriting() async throws {
        let (gateway, lo, id) = try await synced()
        defer { Task { await gateway.stop() } }
        try gateway.edit(Self.code, .programs, id, [("description", .string("Для детей 7–10 лет")), ("hours_total", .int(36))])
        let report = try await gateway.sync()
        #expect(!report.succeeded)
        #expect(report.failures["leningrad"]?.contains("programs \(id): description: Leningrad keeps no description of a program") == true,
                "\(report.failures)")
        #expect(lo.writesApplied == 0)
        #expect(try gateway.export(.programs) == lo.expectedExport(.programs))
        #expect(try gateway.store.outbox().map(\.state) == ["rejected"])
    }
}
