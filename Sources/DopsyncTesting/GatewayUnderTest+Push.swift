internal import DopsyncConfig
internal import Regions
public import SyncEngine

extension GatewayUnderTest {
    /// Pushes one region's outbox through its real adapter without pulling
    /// first: what a sync killed between its pull and its push goes on with.
    public func push(region name: String) async throws -> PushReport {
        guard let settings = configuration.regions.first(where: { $0.name == name }), let type = adapterType(named: name) else {
            throw RegionError(region: name, "not configured")
        }
        return try await Pusher(store: store, adapter: try type.init(settings: settings)).run()
    }
}
