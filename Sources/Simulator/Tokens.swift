internal import Foundation
internal import Synchronization

/// OAuth2 client-credential tokens as the simulated regions issue them:
/// they expire after a lifetime and can all be revoked at once.
final class TokenIssuer: Sendable {
    let clientID: String
    let clientSecret: String
    let lifetime: Duration
    private let tokens = Mutex<[String: ContinuousClock.Instant]>([:])

    init(clientID: String, clientSecret: String, lifetime: Duration) {
        self.clientID = clientID; self.clientSecret = clientSecret; self.lifetime = lifetime
    }

    /// A new token for the right credentials, or nil.
    func issue(form: [String: String]) -> String? {
        guard form["grant_type"] == "client_credentials", form["client_id"] == clientID,
              form["client_secret"] == clientSecret else { return nil }
        let token = (0..<4).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 16) }.joined()
        tokens.withLock { $0[token] = ContinuousClock.now + lifetime }
        return token
    }

    /// Whether `Authorization: Bearer …` carries a live token.
    func isValid(authorization: String?) -> Bool {
        guard let authorization, authorization.hasPrefix("Bearer ") else { return false }
        let token = String(authorization.dropFirst(7))
        return tokens.withLock { $0[token].map { ContinuousClock.now < $0 } ?? false }
    }

    func revokeAll() { tokens.withLock { $0.removeAll() } }

    var lifetimeSeconds: Int { Int(lifetime / .seconds(1)) }
}

/// Reads an `application/x-www-form-urlencoded` body.
func formFields(_ body: [UInt8]) -> [String: String] {
    var fields: [String: String] = [:]
    for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
        let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        func decode(_ s: Substring) -> String {
            String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s)
        }
        fields[decode(kv[0])] = kv.count > 1 ? decode(kv[1]) : ""
    }
    return fields
}
