internal import Crypto
internal import Foundation
internal import GRDB
internal import DopsyncModel

/// What a token holder may do at the gateway's HTTP API.
public enum APIRole: String, Sendable, CaseIterable {
    /// Federal pulls: reports and the programs catalogue only.
    case federal
    /// The operator API: conflicts, quarantine, status.
    case `operator`
    /// Everything, token management included.
    case admin
}

/// A token as the store knows it: never the token itself, only its hash.
public struct APIToken: Sendable, Equatable {
    /// Unique among live tokens; shown in lists and the audit log.
    public var name: String
    public var role: APIRole
    /// When it was made (UTC, `YYYY-MM-DDTHH:MM:SSZ`).
    public var createdAt: String
    /// When it was revoked, or `nil` while it is live.
    public var revokedAt: String?

    /// Why `name` cannot name a token, or `nil` when it can: 1 to 64 of
    /// `A-Z a-z 0-9 . _ -`, so that names are safe in URLs, logs and shells.
    public static func problem(withName name: String) -> String? {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard (1...64).contains(name.count), name.allSatisfy(allowed.contains) else {
            return "a token name is 1 to 64 letters, digits, '.', '_' or '-'"
        }
        return nil
    }
}

/// A token just made: the only time its text exists outside the holder's hands.
public struct IssuedToken: Sendable {
    /// The bearer token, to be shown once.
    public var token: String
    public var info: APIToken
}

extension Store {
    static func registerAPITokens(_ m: inout DatabaseMigrator) {
        m.registerMigration("serve-2 api tokens") { db in
            // Only the SHA-256 of a token is kept: a copy of the store does
            // not let anyone call the API. A name is unique among live tokens
            // and may be reused once its token is revoked.
            try db.execute(sql: """
                CREATE TABLE api_token (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    role TEXT NOT NULL,
                    token_sha256 TEXT NOT NULL UNIQUE,
                    created_at TEXT NOT NULL,
                    revoked_at TEXT
                );
                CREATE UNIQUE INDEX api_token_live_name ON api_token(name) WHERE revoked_at IS NULL;
                """)
        }
    }

    /// Makes a token for `role`, keeps its hash and notes it in the audit log.
    ///
    /// - Parameter by: who asked (`cli`, or the name of an admin token).
    /// - Returns: the token, whose text is not kept anywhere; `nil` when a
    ///   live token already has that name.
    /// - Throws: `StoreError` for a bad name or a failed write.
    public func createToken(name: String, role: APIRole, by actor: String) throws(StoreError) -> IssuedToken? {
        if let problem = APIToken.problem(withName: name) { throw StoreError("token \(name): \(problem)") }
        // 32 random bytes, base64url: 256 bits that no one guesses.
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let token = "dps_" + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return try write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM api_token WHERE name = ? AND revoked_at IS NULL",
                                 arguments: [name]) ?? false {
                return nil
            }
            let now = nowText()
            try db.execute(sql: "INSERT INTO api_token(name, role, token_sha256, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [name, role.rawValue, Self.tokenHash(token), now])
            try db.execute(sql: """
                INSERT INTO audit(at, operator, action, detail) VALUES (?, ?, 'token.create', ?)
                """, arguments: [now, actor, JSONValue.object([("name", .string(name)), ("role", .string(role.rawValue))]).serialized()])
            return IssuedToken(token: token, info: APIToken(name: name, role: role, createdAt: now, revokedAt: nil))
        }
    }

    /// Every token, live and revoked, oldest first.
    public func tokens() throws(StoreError) -> [APIToken] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT name, role, created_at, revoked_at FROM api_token ORDER BY id")
                .compactMap(APIToken.init)
        }
    }

    /// Revokes the live token called `name`, noting it in the audit log.
    ///
    /// - Returns: `false` when no live token has that name.
    public func revokeToken(name: String, by actor: String) throws(StoreError) -> Bool {
        try write { db in
            let now = nowText()
            try db.execute(sql: "UPDATE api_token SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                           arguments: [now, name])
            guard db.changesCount > 0 else { return false }
            try db.execute(sql: """
                INSERT INTO audit(at, operator, action, detail) VALUES (?, ?, 'token.revoke', ?)
                """, arguments: [now, actor, JSONValue.object([("name", .string(name))]).serialized()])
            return true
        }
    }

    /// The live token whose text is `token`, or `nil` (unknown or revoked).
    public func authenticate(token: String) throws(StoreError) -> APIToken? {
        try read { db in
            try Row.fetchOne(db, sql: """
                SELECT name, role, created_at, revoked_at FROM api_token
                WHERE token_sha256 = ? AND revoked_at IS NULL
                """, arguments: [Self.tokenHash(token)]).flatMap(APIToken.init)
        }
    }

    /// The hex SHA-256 of a token's text.
    static func tokenHash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).hexString
    }
}

extension APIToken {
    /// `nil` for a role this build does not know: such a token grants nothing.
    init?(_ row: Row) {
        guard let role = APIRole(rawValue: row["role"]) else { return nil }
        name = row["name"]
        self.role = role
        createdAt = row["created_at"]
        revokedAt = row["revoked_at"]
    }
}
