internal import Foundation
internal import Synchronization

/// One kind of production fault, by the name `--faults` gives it.
public enum SimFault: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    /// `429 Too Many Requests` with `Retry-After: 1`.
    case tooManyRequests = "429"
    /// `503` from the front proxy with an HTML body.
    case unavailable = "503"
    /// A `200` whose body is cut short, with a `Content-Length` that matches
    /// the cut (the proxy's fault of regions/leningrad.md): only the body's
    /// syntax tells.
    case cutShort = "cut"
    /// A `200` whose connection is reset in the middle of its body: the
    /// head announces the whole length, half of the body goes out, and the
    /// TCP connection is aborted (a RST, no TLS close), so that the client
    /// sees a transfer that failed, not a short answer.
    case reset
    /// A page shift: before a page of a collection is computed, the region
    /// changes as a concurrent writer would (see `RegionData.playShift`):
    /// three records move to the end of the order and, where the region
    /// reports deletions, one a client holds is deleted, so that what
    /// follows the walker's position moves under it. A page of
    /// Krasnoyarsk's change feed, which spans every collection, changes
    /// them all.
    case shift
    /// Every bearer token the region issued is revoked before the answer,
    /// so the call (and any later one with such a token) answers `401`.
    /// A no-op for regions without tokens (Leningrad's API key, Kemerovo's
    /// client certificate).
    case revoke

    public var description: String { rawValue }
}

/// Production faults the simulator can play on any region (regions/README.md,
/// "Common faults"): each a probability per request, drawn from a seeded
/// generator so that a failing test reproduces. The token endpoint is spared,
/// so that faults hit the data calls a sync is made of.
public struct SimFaults: Sendable, Equatable {
    /// See `SimFault` for what each does.
    public var tooManyRequests: Double = 0
    public var unavailable: Double = 0
    public var cutShort: Double = 0
    public var reset: Double = 0
    public var shift: Double = 0
    public var revoke: Double = 0
    public var seed: UInt64 = 1

    public init(tooManyRequests: Double = 0, unavailable: Double = 0, cutShort: Double = 0, reset: Double = 0,
                shift: Double = 0, revoke: Double = 0, seed: UInt64 = 1) {
        self.tooManyRequests = tooManyRequests; self.unavailable = unavailable; self.cutShort = cutShort
        self.reset = reset; self.shift = shift; self.revoke = revoke
        self.seed = seed
    }

    /// No faults at all.
    public static let none = SimFaults()

    /// The probability of one kind.
    public subscript(kind: SimFault) -> Double {
        get {
            switch kind {
            case .tooManyRequests: tooManyRequests
            case .unavailable: unavailable
            case .cutShort: cutShort
            case .reset: reset
            case .shift: shift
            case .revoke: revoke
            }
        }
        set {
            switch kind {
            case .tooManyRequests: tooManyRequests = newValue
            case .unavailable: unavailable = newValue
            case .cutShort: cutShort = newValue
            case .reset: reset = newValue
            case .shift: shift = newValue
            case .revoke: revoke = newValue
            }
        }
    }

    /// The names `--faults` knows, for help and errors.
    public static var knownNames: [String] { SimFault.allCases.map(\.rawValue) + ["seed"] }

    /// Reads `429=0.05,503=0.02,cut=0.01,reset=0.01,shift=0.02,revoke=0.01,seed=7`
    /// (the `--faults` flag).
    ///
    /// - Throws: `SimulatorError` naming the part that is not `NAME=VALUE`,
    ///   an unknown name (with the known ones), or a value that is not a
    ///   probability from 0 to 1 (a seed: not a whole number).
    public init(parsing text: String) throws {
        for part in text.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, !kv[0].isEmpty else {
                throw SimulatorError(description: "--faults: \(part) is not NAME=VALUE")
            }
            if kv[0] == "seed" {
                guard let s = UInt64(kv[1]) else { throw SimulatorError(description: "--faults: seed \(kv[1]) is not a whole number") }
                seed = s
                continue
            }
            guard let kind = SimFault(rawValue: kv[0]) else {
                throw SimulatorError(description: "--faults: unknown fault \(kv[0]) (known: \(Self.knownNames.joined(separator: ", ")))")
            }
            guard let p = Double(kv[1]), (0...1).contains(p) else {
                throw SimulatorError(description: "--faults: \(kv[0]) needs a probability from 0 to 1, not \(kv[1])")
            }
            self[kind] = p
        }
    }
}

/// Draws the faults of each request and counts the ones played.
final class FaultPlayer: Sendable {
    private struct State {
        var faults: SimFaults
        var random: SeededRandom
        var played: [SimFault: Int] = [:]
        /// Whether a revocation may be played: not again until a call has
        /// gone through after the last one (see `mayRevoke`).
        var revokeArmed = true
    }

    private let state: Mutex<State>

    init(_ faults: SimFaults) { state = Mutex(State(faults: faults, random: SeededRandom(seed: faults.seed))) }

    /// Sets the faults and restarts their generator from their seed.
    func set(_ faults: SimFaults) {
        state.withLock { s in
            s.faults = faults
            s.random = SeededRandom(seed: faults.seed)
            s.revokeArmed = true
        }
    }

    var faults: SimFaults { state.withLock { $0.faults } }

    /// Rolls one probability of the generator; a kind whose probability is
    /// 0 draws nothing, so a seed plays the same faults whichever kinds are
    /// added to it later.
    private static func roll(_ p: Double, _ random: inout SeededRandom) -> Bool {
        p > 0 && Double(random.next() >> 11) / Double(1 << 53) < p
    }

    /// Draws the changes a request meets before it is answered: a page
    /// shift while its page is computed, a revocation of the tokens.
    func drawBeforeAnswer() -> (shift: Bool, revoke: Bool) {
        state.withLock { s in
            let shift = Self.roll(s.faults.shift, &s.random)
            let revoke = Self.roll(s.faults.revoke, &s.random)
            return (shift, revoke)
        }
    }

    /// Draws what happens to a request's answer, once it is computed (so
    /// that faults a test sets while a page is read play on that page):
    /// `tooManyRequests`, `unavailable`, `cutShort`, `reset` or nothing.
    func drawOnAnswer() -> SimFault? {
        state.withLock { s in
            if Self.roll(s.faults.tooManyRequests, &s.random) { return .tooManyRequests }
            if Self.roll(s.faults.unavailable, &s.random) { return .unavailable }
            if Self.roll(s.faults.cutShort, &s.random) { return .cutShort }
            if Self.roll(s.faults.reset, &s.random) { return .reset }
            return nil
        }
    }

    /// Counts a fault actually played.
    func count(_ kind: SimFault) { state.withLock { $0.played[kind, default: 0] += 1 } }

    /// How many faults of a kind were played.
    func played(_ kind: SimFault) -> Int { state.withLock { $0.played[kind, default: 0] } }

    /// Whether a drawn revocation is played now, disarming the next ones.
    ///
    /// The region pages promise that after a `401` a new token and one
    /// repeat of the call suffice; a revocation that also hit the repeat
    /// (or a retry of it after a 503) would break that promise rather than
    /// test it. So after one, revocations wait until a call has gone through.
    func mayRevoke() -> Bool {
        state.withLock { s in
            guard s.revokeArmed else { return false }
            s.revokeArmed = false
            return true
        }
    }

    /// Notes a data call that went through (no fault on its answer, and
    /// not a `401`, `429` or `5xx`): revocations may be played again.
    func callWentThrough() { state.withLock { $0.revokeArmed = true } }

    /// Whether a fault of the answer can be played on `answer`: a cut or a
    /// reset needs a body to cut.
    static func applies(_ fault: SimFault, to answer: SimResponse) -> Bool {
        switch fault {
        case .tooManyRequests, .unavailable: true
        case .cutShort, .reset: canCut(answer)
        case .shift, .revoke: false
        }
    }

    /// Plays `fault` on `answer`: a `429` or `503` instead, or the answer cut
    /// short; the answer itself when the fault does not apply to it. A
    /// `reset` is played by the server itself (`Simulator.serve`).
    static func play(_ fault: SimFault, on answer: SimResponse) -> SimResponse {
        switch fault {
        case .tooManyRequests:
            return SimResponse(status: 429, headers: [("Retry-After", "1"), ("Content-Type", "text/plain")],
                               body: Array("Too Many Requests".utf8))
        case .unavailable:
            return SimResponse(status: 503, headers: [("Content-Type", "text/html")],
                               body: Array("<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>".utf8))
        case .cutShort:
            guard canCut(answer) else { return answer }
            var cut = answer
            cut.body = Array(answer.body.prefix(answer.body.count * 2 / 3))
            return cut
        case .reset, .shift, .revoke:
            return answer
        }
    }

    /// Whether an answer has a body worth cutting or resetting: a `200` of a few bytes at least.
    static func canCut(_ answer: SimResponse) -> Bool { answer.status == 200 && answer.body.count > 2 }
}
