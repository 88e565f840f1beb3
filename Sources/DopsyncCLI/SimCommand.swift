internal import ArgumentParser
internal import Dispatch
internal import Foundation
internal import Simulator

struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Serve the regional APIs on loopback over HTTPS with generated data, and write a configuration that points at them.",
        discussion: "The CA, the client certificate, the secrets and dopsync.yaml are written into --dir. SIGUSR1 changes 1% of every region's records. Stop with Ctrl-C.")

    @Option(name: .long, help: "Where to write the CA, secrets and dopsync.yaml.")
    var dir: String = "./sim"

    @Option(name: .long, help: "Certificates per region (programs, contracts and charges in proportion).")
    var scale: Int = 2000

    @Option(name: .long, help: "Seed of the generated data.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Serve only this region (repeatable); all by default.")
    var region: [String] = []

    @Option(name: .long, help: "Port of the first region; the others follow in the order omsk, leningrad, kemerovo, krasnoyarsk. 0 picks free ports.")
    var portBase: Int = 8443

    @Option(name: .long, help: "Deliberately bad records per collection, to exercise quarantine.")
    var invalidRecords: Int = 2

    @Option(name: .long, help: ArgumentHelp(
        "Production faults to play, each a probability per data request (token requests are spared): 429=0.05,503=0.02,cut=0.01,reset=0.01,shift=0.02,revoke=0.01,seed=7.",
        discussion: """
            429: Too Many Requests with Retry-After: 1. 503: the front proxy's HTML page. \
            cut: a 200 whose body is cut short, Content-Length matching the cut. \
            reset: a 200 whose connection is reset half way through its body. \
            shift: before a page is read, three records of its collection change (they move to the end of the order) \
            and, where the region reports deletions, one the client has seen is deleted; charges get a new one; \
            a page of Krasnoyarsk's change feed changes every collection. \
            revoke: every bearer token of the region is revoked, so the call answers 401 \
            (no-op for Leningrad and Kemerovo, which have no tokens). \
            seed: the faults' own generator, so that a run reproduces.
            """,
        valueName: "SPEC"))
    var faults: String?

    @Flag(name: .long, help: "Serve without the regions' request limits, and let the written configuration's client go as fast as it can (requests_per_second: 1000): for benchmarks.")
    var noRateLimits = false

    /// Every region the simulator serves, in the order their ports follow.
    static var allRegions: [String] { SimulatorOptions.availableRegions }

    func validate() throws {
        guard scale > 0 else { throw ValidationError("--scale must be positive") }
        for r in region where !Self.allRegions.contains(r) {
            throw ValidationError("--region \(r): unknown region (known: \(Self.allRegions.joined(separator: ", ")))")
        }
    }

    func run() async throws {
        let regions = region.isEmpty ? SimulatorOptions.availableRegions : region
        var ports: [String: Int] = [:]
        for (i, name) in Self.allRegions.enumerated() { ports[name] = portBase == 0 ? 0 : portBase + i }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var options = SimulatorOptions(directory: URL(fileURLWithPath: dir).standardizedFileURL.path)
        options.regions = regions
        options.scale = scale
        options.seed = seed
        options.ports = ports
        options.invalidRecords = invalidRecords
        options.rateLimits = !noRateLimits
        if let faults {
            do {
                options.faults = try SimFaults(parsing: faults)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        let simulator = try await Simulator.start(options)
        for name in simulator.regions {
            print("\(name): \(simulator.baseURL(name))")
        }
        print("configuration: \(simulator.configPath)")
        print("CA: \(simulator.caPath)")
        fflush(nil)
        let signals = [SIGINT, SIGTERM].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { Task { await simulator.stop() } }
            source.resume()
            return source
        }
        // SIGUSR1 changes 1% of every region's records (make bench uses it).
        signal(SIGUSR1, SIG_IGN)
        let change = DispatchSource.makeSignalSource(signal: SIGUSR1, queue: .global())
        change.setEventHandler {
            simulator.change(percent: 1)
            print("changed 1% of the records")
            fflush(nil)
        }
        change.resume()
        await simulator.waitUntilStopped()
        // Used after the wait, so that the sources live through it.
        for source in signals + [change] { source.cancel() }
    }
}
