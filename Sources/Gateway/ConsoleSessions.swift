internal import Foundation
internal import Synchronization

/// The console's logins, in memory: a session id (the cookie) maps to the
/// operator's token and a CSRF token made for that session; a login ticket
/// (`POST /operator/v1/console/tickets`) maps to a token for one minute and
/// one use.
///
/// Invariants: the token is kept so that every request authenticates it
/// again against the store (a revoked token ends its sessions at once); it is
/// never written into a page, a URL or a log. Sessions end after `lifetime`,
/// on logout, or when the server stops (operators then log in again).
final class ConsoleSessions: Sendable {
    struct Session: Sendable {
        let token: String
        let csrf: String
        let expires: ContinuousClock.Instant
    }

    private struct State {
        var sessions: [String: Session] = [:]
        var tickets: [String: (token: String, expires: ContinuousClock.Instant)] = [:]
    }

    private let state = Mutex(State())
    let lifetime: Duration
    let ticketLifetime: Duration

    init(lifetime: Duration = .seconds(12 * 3600), ticketLifetime: Duration = .seconds(60)) {
        self.lifetime = lifetime
        self.ticketLifetime = ticketLifetime
    }

    /// Opens a session for a token already checked; returns its id.
    func open(token: String) -> String {
        let id = Self.random(), csrf = Self.random()
        let now = ContinuousClock.now
        state.withLock { s in
            s.sessions = s.sessions.filter { $0.value.expires > now }
            s.sessions[id] = Session(token: token, csrf: csrf, expires: now.advanced(by: lifetime))
        }
        return id
    }

    /// The live session of an id.
    func session(_ id: String) -> Session? {
        let now = ContinuousClock.now
        return state.withLock { s in
            guard let session = s.sessions[id] else { return nil }
            guard session.expires > now else { s.sessions[id] = nil; return nil }
            return session
        }
    }

    func close(_ id: String) {
        _ = state.withLock { $0.sessions.removeValue(forKey: id) }
    }

    /// A single-use ticket for `token`, valid for `ticketLifetime`.
    func ticket(token: String) -> String {
        let ticket = Self.random()
        let now = ContinuousClock.now
        state.withLock { s in
            s.tickets = s.tickets.filter { $0.value.expires > now }
            s.tickets[ticket] = (token, now.advanced(by: ticketLifetime))
        }
        return ticket
    }

    /// The token of a ticket, which is used up; `nil` when unknown or expired.
    func redeem(ticket: String) -> String? {
        let now = ContinuousClock.now
        return state.withLock { s in
            guard let t = s.tickets.removeValue(forKey: ticket), t.expires > now else { return nil }
            return t.token
        }
    }

    /// 32 random bytes as hex (from the system's CSPRNG).
    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
    }

    /// Compares two secrets in time independent of where they differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in x.indices { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}
