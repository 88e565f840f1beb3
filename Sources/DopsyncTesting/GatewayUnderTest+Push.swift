internal import DopsyncConfig
internal import Regions
public import SyncEngine

extension GatewayUnderTest {
    /// Pushes one region's outbox through its real adapter without pulling
    /// first: what a sync killed between its pull and its push goes on with.
    /// `unsettledOnly`: the step a sync takes before its pull (see `Pusher.run`).
    public func push(region name: String, unsettledOnly: Bool = false) async throws -> PushReport {
        guard let settings = configuration.regions.first(where: { $0.name == name }), let type = adapterType(named: name) else {
            throw RegionError(region: name, "not configured")
        }
        return try await Pusher(store: store, adapter: try type.init(settings: settings)).run(unsettledOnly: unsettledOnly)
    }
}
