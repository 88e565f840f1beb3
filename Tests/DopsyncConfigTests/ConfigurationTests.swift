import DopsyncConfig
import Foundation
import Testing

/// A configuration in a temporary folder, with the files it names.
struct ConfigFolder {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dopsync-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    func load(_ yaml: String, environment: [String: String] = [:]) throws(ConfigErrors) -> Configuration {
        try? write("dopsync.yaml", yaml)
        return try Configuration.load(path: directory.appendingPathComponent("dopsync.yaml").path,
                                      regionSpecs: Self.specs, environment: environment)
    }

    static let specs: [(name: String, settings: [SettingSpec])] = [
        ("omsk", [SettingSpec("base_url", .url), SettingSpec("client_id", .text), SettingSpec("client_secret", .secret),
                  SettingSpec("ca_file", .file, required: false),
                  SettingSpec("requests_per_second", .positiveInteger, required: false)]),
        ("kemerovo", [SettingSpec("base_url", .url), SettingSpec("client_cert_file", .file)]),
    ]
}

@Suite("Configuration errors name the key before any network call")
struct ConfigurationTests {
    func errors(_ yaml: String, environment: [String: String] = [:], files: [String: String] = [:]) throws -> [String] {
        let folder = try ConfigFolder()
        for (name, text) in files { try folder.write(name, text) }
        do {
            _ = try folder.load(yaml, environment: environment)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test func readsAValidFile() throws {
        let folder = try ConfigFolder()
        try folder.write("omsk.secret", "s3cret\n")
        try folder.write("ca.pem", "PEM")
        let c = try folder.load("""
            store: ./data/store.sqlite
            regions:
              omsk:
                base_url: https://127.0.0.1:8443/navigator/
                client_id: gateway
                client_secret_file: ./omsk.secret
                ca_file: ca.pem
            """)
        #expect(c.storePath == folder.directory.appendingPathComponent("data/store.sqlite").path)
        #expect(c.keyFilePath == folder.directory.appendingPathComponent("dopsync.key").path)
        #expect(c.regions.map(\.name) == ["omsk"])
        let omsk = c.regions[0]
        #expect(omsk["client_secret"] == "s3cret")
        #expect(omsk["base_url"] == "https://127.0.0.1:8443/navigator")
        #expect(omsk["ca_file"] == folder.directory.appendingPathComponent("ca.pem").path)
    }

    @Test func secretFromTheEnvironment() throws {
        let folder = try ConfigFolder()
        let c = try folder.load("""
            regions:
              omsk: {base_url: "https://h/navigator", client_id: g, client_secret_env: OMSK_CLIENT_SECRET}
            """, environment: ["OMSK_CLIENT_SECRET": "x"])
        #expect(c.regions[0]["client_secret"] == "x")
    }

    @Test func missingEnvironmentVariable() throws {
        #expect(try errors("""
            regions:
              omsk: {base_url: "https://h/navigator", client_id: g, client_secret_env: OMSK_CLIENT_SECRET}
            """) == ["regions.omsk.client_secret_env: OMSK_CLIENT_SECRET is not set"])
    }

    @Test func unknownKeys() throws {
        let e = try errors("""
            stroe: x
            regions:
              omsk: {base_url: "https://h/navigator", client_id: g, client_secret_env: S, verify_tls: false}
            """, environment: ["S": "x"])
        #expect(e.count == 2)
        #expect(e[0].hasPrefix("stroe: unknown key"))
        #expect(e[1].hasPrefix("regions.omsk.verify_tls: unknown key"))
    }

    @Test func wholeNumbers() throws {
        let folder = try ConfigFolder()
        let c = try folder.load("""
            regions:
              omsk: {base_url: "https://h/navigator", client_id: g, client_secret_env: S, requests_per_second: 50}
            """, environment: ["S": "x"])
        #expect(c.regions[0]["requests_per_second"] == "50")
        for bad in ["0", "-3", "fast", "2.5"] {
            #expect(try errors("""
                regions:
                  omsk: {base_url: "https://h/navigator", client_id: g, client_secret_env: S, requests_per_second: \(bad)}
                """, environment: ["S": "x"]) == ["regions.omsk.requests_per_second: \"\(bad)\" is not a whole number greater than zero"])
        }
    }

    @Test func unknownRegion() throws {
        let e = try errors("regions:\n  moscow: {base_url: x}\n")
        #expect(e.count == 1 && e[0].hasPrefix("regions.moscow: unknown region"))
    }

    @Test func missingSettings() throws {
        let e = try errors("regions:\n  omsk: {base_url: \"https://h\"}\n")
        #expect(e == ["regions.omsk.client_id: missing (set client_id)",
                      "regions.omsk.client_secret_env: missing (set client_secret_env or client_secret_file)"])
    }

    @Test func unreadableFiles() throws {
        let e = try errors("""
            regions:
              kemerovo: {base_url: "https://h", client_cert_file: ./nope.pem}
              omsk: {base_url: "https://h", client_id: g, client_secret_file: ./missing.secret}
            """)
        #expect(e.count == 2)
        #expect(e[0].hasPrefix("regions.kemerovo.client_cert_file: ") && e[0].hasSuffix("nope.pem cannot be read"))
        #expect(e[1].hasPrefix("regions.omsk.client_secret_file: ") && e[1].hasSuffix("missing.secret cannot be read"))
    }

    @Test func plainHTTPIsRefused() throws {
        let e = try errors("regions:\n  kemerovo: {base_url: \"http://h\", client_cert_file: ./c.pem}\n", files: ["c.pem": "x"])
        #expect(e == ["regions.kemerovo.base_url: \"http://h\" is not an https:// URL (TLS is required)"])
    }

    @Test func bothSecretForms() throws {
        let e = try errors("""
            regions:
              omsk: {base_url: "https://h", client_id: g, client_secret_env: S, client_secret_file: ./s}
            """, environment: ["S": "x"], files: ["s": "y"])
        #expect(e == ["regions.omsk.client_secret_file: give only one of client_secret_env and client_secret_file"])
    }

    @Test func unreadableConfigurationFile() {
        #expect(throws: ConfigErrors.self) {
            try Configuration.load(path: "/nonexistent/dopsync.yaml", regionSpecs: ConfigFolder.specs)
        }
    }

    @Test func notYAML() throws {
        let e = try errors("regions: [unclosed\n")
        #expect(e.count == 1 && e[0].contains("not valid YAML"))
    }
}
