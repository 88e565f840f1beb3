public import DopsyncConfig
public import DopsyncModel
public import DopsyncStore
public import Foundation
internal import Regions
public import Simulator
public import SyncEngine

/// A simulator on loopback (HTTPS, port 0) and a gateway configured against
/// it with a store in a fresh temporary folder: what integration tests sync.
public struct GatewayUnderTest: Sendable {
    public let simulator: Simulator
    public let directory: URL
    public let configuration: Configuration
    public let store: Store

    /// Starts the simulator for `regions` and opens a store beside its configuration.
    public static func start(regions: [String], scale: Int = 200, seed: UInt64 = 7,
                             configure: (inout SimulatorOptions) -> Void = { _ in }) async throws -> GatewayUnderTest {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dopsync-it-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var options = SimulatorOptions(directory: directory.path)
        options.regions = regions
        options.scale = scale
        options.seed = seed
        options.ports = [:]
        configure(&options)
        let simulator = try await Simulator.start(options)
        let configuration = try Configuration.load(path: simulator.configPath, regionSpecs: regionSettingSpecs)
        let store = try Store(path: configuration.storePath)
        return GatewayUnderTest(simulator: simulator, directory: directory, configuration: configuration, store: store)
    }

    /// Runs one sync of the configured regions (or the named ones) through
    /// the real adapters, over HTTPS through libcurl.
    public func sync(full: Bool = false, regions names: [String]? = nil, progress: any SyncProgressReporting = SilentProgress(),
                     bulkLoadMinimum: Int = 100_000) async throws -> SyncReport {
        var adapters: [(settings: RegionSettings, adapter: any RegionAdapter)] = []
        for settings in configuration.regions where names?.contains(settings.name) ?? true {
            let type = adapterType(named: settings.name)!
            adapters.append((settings, try type.init(settings: settings)))
        }
        let link = try LinkKey.loadOrCreate(path: configuration.keyFilePath)
        return await SyncEngine(store: store, link: link, regions: adapters, progress: progress,
                                bulkLoadMinimum: bulkLoadMinimum).run(full: full)
    }

    /// The export lines of a collection, as `dopsync export` prints them.
    public func export(_ collection: CollectionName, region: String? = nil) throws -> [String] {
        var lines: [String] = []
        try store.export(collection, region: region) { lines.append($0) }
        return lines
    }

    /// Stops the simulator and removes the folder.
    public func stop() async {
        await simulator.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

extension SyncReport {
    /// The counts of one region's collection.
    public func counts(_ region: String, _ collection: CollectionName) -> ApplyCounts {
        summaries.first { $0.region == region && $0.collection == collection }?.counts ?? ApplyCounts()
    }
}
