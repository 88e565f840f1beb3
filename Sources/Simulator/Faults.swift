internal import Foundation
internal import Synchronization

/// Production faults the simulator can play on any region (regions/README.md,
/// "Common faults"): each a probability per request, drawn from a seeded
/// generator so that a failing test reproduces. The token endpoint is spared,
/// so that faults hit the data calls a sync is made of.
public struct SimFaults: Sendable, Equatable {
    /// `429 Too Many Requests` with `Retry-After: 1`.
    public var tooManyRequests: Double = 0
    /// `503` from the front proxy with an HTML body.
    public var unavailable: Double = 0
    /// A `200` whose body is cut short, with a `Content-Length` that matches
    /// the cut (the proxy's fault of regions/leningrad.md): only the body's
    /// syntax tells.
    public var cutShort: Double = 0
    public var seed: UInt64 = 1

    public init(tooManyRequests: Double = 0, unavailable: Double = 0, cutShort: Double = 0, seed: UInt64 = 1) {
        self.tooManyRequests = tooManyRequests; self.unavailable = unavailable; self.cutShort = cutShort
        self.seed = seed
    }

    /// No faults at all.
    public static let none = SimFaults()

    /// Reads `429=0.05,503=0.02,cut=0.01,seed=7` (the `--faults` flag).
    public init(parsing text: String) throws {
        for part in text.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2 else { throw SimulatorError(description: "--faults: \(part) is not NAME=VALUE") }
            if kv[0] == "seed" {
                guard let s = UInt64(kv[1]) else { throw SimulatorError(description: "--faults: seed \(kv[1]) is not a whole number") }
                seed = s
                continue
            }
            guard let p = Double(kv[1]), (0...1).contains(p) else {
                throw SimulatorError(description: "--faults: \(kv[0]) needs a probability from 0 to 1, not \(kv[1])")
            }
            switch kv[0] {
            case "429": tooManyRequests = p
            case "503": unavailable = p
            case "cut": cutShort = p
            default: throw SimulatorError(description: "--faults: unknown fault \(kv[0]) (known: 429, 503, cut, seed)")
            }
        }
    }
}

/// Draws the faults of each request.
final class FaultPlayer: Sendable {
    private let state: Mutex<(faults: SimFaults, random: SeededRandom)>

    init(_ faults: SimFaults) { state = Mutex((faults, SeededRandom(seed: faults.seed))) }

    func set(_ faults: SimFaults) { state.withLock { $0 = (faults, SeededRandom(seed: faults.seed)) } }

    /// The fault to play instead of (or on) the answer, if any.
    func draw() -> Fault? {
        state.withLock { s in
            func roll(_ p: Double) -> Bool {
                p > 0 && Double(s.random.next() >> 11) / Double(1 << 53) < p
            }
            if roll(s.faults.tooManyRequests) { return .tooManyRequests }
            if roll(s.faults.unavailable) { return .unavailable }
            if roll(s.faults.cutShort) { return .cutShort }
            return nil
        }
    }

    enum Fault { case tooManyRequests, unavailable, cutShort }

    /// Plays `fault` on `answer`.
    static func play(_ fault: Fault, on answer: SimResponse) -> SimResponse {
        switch fault {
        case .tooManyRequests:
            return SimResponse(status: 429, headers: [("Retry-After", "1"), ("Content-Type", "text/plain")],
                               body: Array("Too Many Requests".utf8))
        case .unavailable:
            return SimResponse(status: 503, headers: [("Content-Type", "text/html")],
                               body: Array("<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>".utf8))
        case .cutShort:
            guard answer.status == 200, answer.body.count > 2 else { return answer }
            var cut = answer
            cut.body = Array(answer.body.prefix(answer.body.count * 2 / 3))
            return cut
        }
    }
}
