import DopsyncConfig
import DopsyncModel
import DopsyncStore
import DopsyncTesting
import Foundation
import Regions
import Simulator
import SyncEngine
import Testing

/// `--faults` as `dopsync sim` reads it.
@Suite("--faults is read strictly")
struct SimFaultsParsingTests {
    @Test func everyNameSetsItsOwnProbability() throws {
        let faults = try SimFaults(parsing: "429=0.01,503=0.02,cut=0.03,reset=0.04,shift=0.05,revoke=0.06,seed=9")
        #expect(faults == SimFaults(tooManyRequests: 0.01, unavailable: 0.02, cutShort: 0.03, reset: 0.04, shift: 0.05,
                                    revoke: 0.06, seed: 9))
    }

    @Test(arguments: SimFault.allCases)
    func aNameAloneSetsOnlyItsKind(_ kind: SimFault) throws {
        let faults = try SimFaults(parsing: " \(kind.rawValue) = 0.25 ")
        for other in SimFault.allCases {
            #expect(faults[other] == (other == kind ? 0.25 : 0), "\(other)")
        }
        #expect(faults.seed == 1)
    }

    @Test func anEmptySpecIsNoFaults() throws {
        #expect(try SimFaults(parsing: "") == .none)
    }

    @Test(arguments: [
        ("reset=1.5", "--faults: reset needs a probability from 0 to 1, not 1.5"),
        ("shift=often", "--faults: shift needs a probability from 0 to 1, not often"),
        ("revoke=-0.1", "--faults: revoke needs a probability from 0 to 1, not -0.1"),
        ("reset=nan", "--faults: reset needs a probability from 0 to 1, not nan"),
        ("shift=", "--faults: shift= is not NAME=VALUE"),
        ("revoke", "--faults: revoke is not NAME=VALUE"),
        ("=0.1", "--faults: =0.1 is not NAME=VALUE"),
        ("seed=x", "--faults: seed x is not a whole number"),
        ("drop=0.1", "--faults: unknown fault drop (known: 429, 503, cut, reset, shift, revoke, seed)"),
        ("resets=2", "--faults: unknown fault resets (known: 429, 503, cut, reset, shift, revoke, seed)"),
    ])
    func aBadPartIsRefusedWithAClearMessage(_ spec: String, _ message: String) {
        // A good part before it does not hide it.
        let error = #expect(throws: SimulatorError.self) { try SimFaults(parsing: "cut=0.1," + spec) }
        #expect(error?.description == message)
    }
}

/// All four regions at once under every production fault of regions/README.md
/// and the ones the region pages promise (a revoked token, pages that shift
/// under a walker), with a fixed seed: every sync must succeed, and once the
/// regions are quiet the store must hold exactly what they hold.
@Suite("Every region under every production fault")
struct AllFaultsTests {
    /// Moderate rates: the 429s, 503s and resets (each a failed attempt of
    /// the same request) stay well below the retry budget.
    static let faults = SimFaults(tooManyRequests: 0.03, unavailable: 0.06, cutShort: 0.12, reset: 0.1,
                                  shift: 0.25, revoke: 0.2, seed: 13)

    /// Syncs with small pages where the adapter lets a test choose them
    /// (Leningrad's `per_page` comes from the simulator's configuration;
    /// Omsk always asks for 1000), so that a small world takes many pages.
    static func sync(_ gateway: GatewayUnderTest, regions names: [String]? = nil) async throws -> SyncReport {
        var adapters: [(settings: RegionSettings, adapter: any RegionAdapter)] = []
        for settings in gateway.configuration.regions where names?.contains(settings.name) ?? true {
            let adapter: any RegionAdapter = switch settings.name {
            case "kemerovo": try KemerovoAdapter(settings: settings, pageSize: 15)
            case "krasnoyarsk": try KrasnoyarskAdapter(settings: settings, pageSize: 25)
            case "leningrad": try LeningradAdapter(settings: settings)
            default: try OmskAdapter(settings: settings)
            }
            adapters.append((settings, adapter))
        }
        let link = try LinkKey.loadOrCreate(path: gateway.configuration.keyFilePath)
        return await SyncEngine(store: gateway.store, link: link, regions: adapters, progress: SilentProgress()).run(full: false)
    }

    @Test func everyRegionSurvivesEveryFaultAndEndsAsTheRegionsDo() async throws {
        let gateway = try await GatewayUnderTest.start(regions: SimulatorOptions.availableRegions, scale: 30, seed: 13) { options in
            options.faults = Self.faults
            options.clientPageSize = 10
        }
        defer { Task { await gateway.stop() } }
        let regions = gateway.simulator.regions

        // The initial pass of all four. Omsk reads a collection in one page
        // of 1000, so it then syncs alone a few times while the regions
        // change, to meet every fault too.
        var report = try await Self.sync(gateway)
        #expect(report.succeeded, "initial: \(report.failures)")
        for round in 1...5 {
            gateway.simulator.change(percent: 10)
            report = try await Self.sync(gateway, regions: ["omsk"])
            #expect(report.succeeded, "omsk round \(round): \(report.failures)")
        }

        // The faults were played: a kind the simulator ignored would pass
        // the rest of this test unnoticed. The ones whose handling differs by
        // region (walks under shifting pages, tokens, deletions) on every
        // region they apply to; the transport's (429, 503, cut, reset go
        // through the one retrying client) on some region at least.
        for region in regions {
            let data = gateway.simulator.data(region)
            #expect(data.faultsPlayed(.shift) > 0, "\(region): no page shift was played")
            if region == "omsk" || region == "krasnoyarsk" {
                #expect(data.faultsPlayed(.revoke) > 0, "\(region): no token was revoked")
            } else {
                #expect(data.faultsPlayed(.revoke) == 0, "\(region) has no tokens to revoke")
            }
            if data.reportsDeletions {
                #expect(data.recordsDeletedByShifts > 0, "\(region): no page shift deleted a record")
            } else {
                #expect(data.recordsDeletedByShifts == 0, "\(region) reports no deletions")
            }
        }
        for kind in [SimFault.tooManyRequests, .unavailable, .cutShort, .reset] {
            let played = regions.map { gateway.simulator.data($0).faultsPlayed(kind) }.reduce(0, +)
            #expect(played > 0, "no \(kind) fault was played")
        }

        // The regions go quiet; one more sync brings every change they made.
        for region in regions { gateway.simulator.data(region).setFaults(.none) }
        report = try await Self.sync(gateway)
        #expect(report.succeeded, "quiet: \(report.failures)")
        for region in regions {
            let data = gateway.simulator.data(region)
            for c in CollectionName.allCases {
                let got = try gateway.export(c, region: data.code), want = data.expectedExport(c)
                let difference = zip(got, want).first { $0 != $1 }.map { "\($0)\n  vs\n\($1)" }
                    ?? "\(got.count) lines vs \(want.count)"
                #expect(got == want, "\(region) \(c): first difference \(difference)")
            }
        }
    }
}
