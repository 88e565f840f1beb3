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
