public import Foundation

/// Certificates for a server under test that is not a simulated region (the
/// gateway's own HTTPS, say): made as the simulator makes its own.
public enum TestCertificates {
    /// Writes a fresh CA (`ca.pem`), and a server certificate for 127.0.0.1
    /// and localhost signed by it (`server.pem`) with its key (`server.key`,
    /// mode 0600), into `directory`.
    ///
    /// - Returns: the three files' paths.
    public static func writeServerFiles(into directory: String) throws -> (ca: String, certificate: String, key: String) {
        let tls = try TLSMaterial.generate()
        let dir = URL(fileURLWithPath: directory)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let ca = dir.appendingPathComponent("ca.pem"), certificate = dir.appendingPathComponent("server.pem"),
            key = dir.appendingPathComponent("server.key")
        try tls.caPEM.write(to: ca, atomically: true, encoding: .utf8)
        try tls.serverCertificatePEM.write(to: certificate, atomically: true, encoding: .utf8)
        try tls.serverKeyPEM.write(to: key, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key.path)
        return (ca.path, certificate.path, key.path)
    }
}
