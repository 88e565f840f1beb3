internal import Crypto
internal import Foundation
internal import DopsyncModel

/// The secret key of the keyed hash that links a child's certificates across
/// regions by СНИЛС without keeping the number itself anywhere else.
public struct LinkKey: Sendable {
    let bytes: Data
    var key: SymmetricKey { SymmetricKey(data: bytes) }

    /// Reads the key file, creating it (32 random bytes, mode 0600) when missing.
    ///
    /// - Throws: `StoreError` when the file cannot be read or created, or is too short.
    public static func loadOrCreate(path: String) throws(StoreError) -> LinkKey {
        let fm = FileManager.default
        if !fm.fileExists(atPath: path) {
            let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
            guard fm.createFile(atPath: path, contents: bytes, attributes: [.posixPermissions: 0o600]) else {
                throw StoreError("key_file: cannot create \(path)")
            }
        }
        guard let data = fm.contents(atPath: path) else { throw StoreError("key_file: cannot read \(path)") }
        guard data.count >= 16 else { throw StoreError("key_file: \(path) holds fewer than 16 bytes") }
        return LinkKey(bytes: data)
    }

    /// The hex HMAC-SHA256 of a СНИЛС's eleven digits under this key.
    public func link(snilsDigits: String) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(snilsDigits.utf8), using: key).hexString
    }
}
