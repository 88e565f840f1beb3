import DopsyncConfig
import DopsyncModel
import DopsyncStore
import Regions
import SyncEngine
import Testing

/// A region whose adapter reads but cannot write yet.
struct ReadOnlyRegion: RegionAdapter {
    static let descriptor = RegionDescriptor(name: "leningrad", code: "47", title: "Ленинградская область",
                                             utcOffsetSeconds: 3 * 3600, collections: [.programs], pageSize: 100,
                                             requestsPerSecond: 10, settings: [])
    init(settings: RegionSettings) {}
    init() {}
    func pull(into sink: any PullSink, full: Bool) async throws {}
    static func decode(raw: String, collection: CollectionName) -> PageItem { .quarantine(sourceID: nil, raw: raw, reason: "") }
}

@Suite("Regions that cannot write yet")
struct PushContractTests {
    @Test func anEmptyOutboxIsASuccessfulPush() async throws {
        let store = try Store.inMemory()
        let report = try await Pusher(store: store, adapter: ReadOnlyRegion()).run()
        #expect(report.applied == 0 && report.failure == nil)
    }

    @Test func aQueuedChangeFailsThePushAndStaysQueued() async throws {
        let store = try Store.inMemory()
        let p = Program(
            meta: SourceMeta(region: "47", sourceID: "7", updatedAt: nil, version: "3"), title: "Шахматы", description: "",
            provider: Provider(inn: "4704000000", ogrn: nil, name: "ООО", kind: .private), direction: .technical,
            ageMin: 7, ageMax: 12, hoursTotal: nil, priceMonth: Kopecks(0), registry: .municipal,
            municipality: Municipality(oktmo: "41601000", name: nil), format: .offline, status: .published,
            startsOn: nil, endsOn: nil)
        _ = try store.apply(region: "47", collection: .programs, items: [.upsert(.program(p), raw: "{}")], position: nil)
        _ = try store.edit(region: "47", collection: .programs, sourceID: "7", set: [("title", .string("Шахматный клуб"))],
                           operator: "test", reason: nil)
        await #expect {
            try await Pusher(store: store, adapter: ReadOnlyRegion()).run()
        } throws: { error in
            "\(error)".contains("push is not supported for leningrad yet")
        }
        #expect(try store.pushQueue(region: "47").count == 1)
    }
}
