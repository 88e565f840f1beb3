public import DopsyncModel
internal import Foundation
internal import Synchronization
public import Transport

/// OAuth2 client credentials (RFC 6749 §4.4): a token fetched when needed,
/// renewed shortly before it expires and at once when the region says it is
/// no longer valid; the failed call is then repeated (twice at most per
/// token it saw die).
public actor OAuthClientCredentials {
    let client: RegionClient
    let tokenURL: String
    let clientID: String
    let clientSecret: String
    private var token: String?
    private var expiresAt: ContinuousClock.Instant?
    private let clock = ContinuousClock()
    /// The most times one call is repeated after `401`s.
    static let maxRepeats = 6

    public init(client: RegionClient, tokenURL: String, clientID: String, clientSecret: String) {
        self.client = client; self.tokenURL = tokenURL; self.clientID = clientID; self.clientSecret = clientSecret
    }

    /// A valid token, fetching a new one when there is none or it is about to expire.
    func current() async throws(RegionError) -> String {
        if let token, let expiresAt, clock.now < expiresAt { return token }
        return try await renew()
    }

    /// Forgets `stale` if it is still the current token (the next call
    /// fetches a new one); whether it was.
    func forget(_ stale: String) -> Bool {
        guard token == stale else { return false }
        token = nil
        return true
    }

    private func renew() async throws(RegionError) -> String {
        let form = "grant_type=client_credentials&client_id=\(formEncode(clientID))&client_secret=\(formEncode(clientSecret))"
        let request = HTTPRequest(method: "POST", url: tokenURL,
                                  headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
                                  body: Array(form.utf8))
        let response = try await client.send(request, collection: nil)
        guard response.status == 200 else {
            let hint = response.status == 401 ? " (check client_id and the client secret)" : ""
            throw RegionError(region: client.region, url: tokenURL,
                              "token request refused: \(TransportError.httpStatus(response.status, url: tokenURL, body: response.body).detail)\(hint)")
        }
        guard let json = try? JSONParser.parse(response.body), case let .string(access)? = json["access_token"] else {
            throw RegionError(region: client.region, url: tokenURL, "token answer has no access_token")
        }
        var lifetime = 300
        if case let .number(n)? = json["expires_in"], let s = Int(n) { lifetime = s }
        token = access
        // Renew a little early (a tenth of the lifetime, at least a second,
        // at most thirty) so that a request does not reach the region on a
        // token that died on the way.
        expiresAt = clock.now + .seconds(max(1, lifetime - max(1, min(30, lifetime / 10))))
        return access
    }

    /// Sends `request` with the bearer token; on `401` gets a new token and
    /// repeats the call (twice at most: a fresh token can still arrive dead
    /// when the machine or the network stalls longer than its lifetime).
    /// A `401` on a token another call has already replaced is no news: the
    /// call goes again with the new token without counting it (up to
    /// `maxRepeats` in all), so calls running at once do not use up each
    /// other's renewals when the region revokes its tokens.
    ///
    /// The token is taken when the request is about to go, after its wait for
    /// the region's rate limit (and again on each retry), so a token that
    /// dies during that wait is never sent.
    public func send(_ request: HTTPRequest, collection: CollectionName?) async throws(RegionError) -> HTTPResponse {
        let used = UsedToken()
        let authorize: @Sendable (HTTPRequest) async throws(RegionError) -> HTTPRequest = { r throws(RegionError) in
            let token = try await self.current()
            used.set(token)
            return Self.authorized(r, token)
        }
        var response = try await client.send(request, collection: collection, prepare: authorize)
        var renewals = 0, repeats = 0
        while response.status == 401 && renewals < 2 && repeats < Self.maxRepeats {
            repeats += 1
            if let stale = used.get(), forget(stale) { renewals += 1 }
            response = try await client.send(request, collection: collection, prepare: authorize)
        }
        return response
    }

    private static func authorized(_ request: HTTPRequest, _ token: String) -> HTTPRequest {
        var r = request
        r.headers.append(("Authorization", "Bearer \(token)"))
        return r
    }

    /// The token a request last went out with, to forget it on `401`.
    final class UsedToken: Sendable {
        private let token = Mutex<String?>(nil)
        func set(_ t: String) { token.withLock { $0 = t } }
        func get() -> String? { token.withLock { $0 } }
    }
}

/// Percent-encodes a value for a form or query string (RFC 3986 unreserved kept).
public func formEncode(_ s: String) -> String {
    var out = ""
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.unicodeScalars.append(Unicode.Scalar(b))
        default:
            out += "%" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
        }
    }
    return out
}
