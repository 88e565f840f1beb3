internal import Foundation
internal import Yams

/// A configuration error, naming the key by its path
/// (`regions.omsk.client_secret_env: OMSK_CLIENT_SECRET is not set`).
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    /// The key's path, or the file when the error is about the whole file.
    public let path: String
    public let message: String

    public init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// Several configuration errors, reported together before anything runs.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public let errors: [ConfigError]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// How a region setting is read and checked.
public enum SettingKind: Sendable {
    /// An `https://` URL.
    case url
    /// Plain text.
    case text
    /// A secret: given as `KEY_env` (an environment variable) or `KEY_file`
    /// (a file, trimmed), never in the file itself.
    case secret
    /// A readable file, relative to the configuration file.
    case file
    /// A whole number greater than zero.
    case positiveInteger
}

/// One setting a region adapter accepts.
public struct SettingSpec: Sendable {
    public let key: String
    public let kind: SettingKind
    public let required: Bool

    public init(_ key: String, _ kind: SettingKind, required: Bool = true) {
        self.key = key
        self.kind = kind
        self.required = required
    }

    /// The keys that may stand in the file for this setting.
    var acceptedKeys: [String] {
        kind == .secret ? ["\(key)_env", "\(key)_file"] : [key]
    }
}

/// A region's settings, checked against what its adapter accepts and with
/// secrets and files resolved.
public struct RegionSettings: Sendable {
    /// The region's name as in the file (`omsk`).
    public let name: String
    private let values: [String: String]

    init(name: String, values: [String: String]) {
        self.name = name
        self.values = values
    }

    /// Settings given directly, for tests and the simulator.
    public static func direct(name: String, _ values: [String: String]) -> RegionSettings {
        RegionSettings(name: name, values: values)
    }

    /// A setting's value: the text, the URL, the secret itself, or the file's
    /// absolute path, by its kind; `nil` when an optional setting is absent.
    public subscript(key: String) -> String? { values[key] }
}

/// The gateway's configuration file (interface.md, fixed).
public struct Configuration: Sendable {
    /// The file it was read from.
    public let path: String
    /// The absolute path of the store.
    public let storePath: String
    /// The absolute path of the СНИЛС link key.
    public let keyFilePath: String
    /// The configured regions, in the order of the file.
    public let regions: [RegionSettings]

    /// Reads and checks a configuration file.
    ///
    /// - Parameters:
    ///   - path: the file, relative to the current directory.
    ///   - regionSpecs: each known region's name and the settings its adapter accepts.
    ///   - environment: where `…_env` secrets are looked up (the process's by default).
    /// - Throws: `ConfigErrors` naming every key that is wrong, before any network call.
    public static func load(
        path: String,
        regionSpecs: [(name: String, settings: [SettingSpec])],
        environment: [String: String]? = nil
    ) throws(ConfigErrors) -> Configuration {
        let environment = environment ?? ProcessInfo.processInfo.environment
        let fileURL = URL(fileURLWithPath: path)
        guard let data = FileManager.default.contents(atPath: fileURL.path),
              let text = String(data: data, encoding: .utf8) else {
            throw ConfigErrors(errors: [ConfigError(path: path, "cannot read the configuration file")])
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw ConfigErrors(errors: [ConfigError(path: path, "not valid YAML: \(error)")])
        }
        let directory = fileURL.deletingLastPathComponent()
        var reader = Reader(directory: directory, environment: environment)
        let result = reader.read(node, regionSpecs: regionSpecs, path: fileURL.path)
        if !reader.errors.isEmpty { throw ConfigErrors(errors: reader.errors) }
        return result!
    }
}

/// Walks the YAML tree, collecting every error rather than stopping at the first.
private struct Reader {
    let directory: URL
    let environment: [String: String]
    var errors: [ConfigError] = []

    init(directory: URL, environment: [String: String]) {
        self.directory = directory
        self.environment = environment
    }

    mutating func fail(_ path: String, _ message: String) {
        errors.append(ConfigError(path: path, message))
    }

    func resolve(_ relative: String) -> String {
        if relative.hasPrefix("/") { return relative }
        return directory.appendingPathComponent(relative).standardizedFileURL.path
    }

    mutating func read(_ node: Node?, regionSpecs: [(name: String, settings: [SettingSpec])],
                       path: String) -> Configuration? {
        guard let top = node?.mapping else {
            fail(path, "the configuration must be a mapping with store, key_file and regions")
            return nil
        }
        var store = "./dopsync.sqlite"
        var keyFile = "./dopsync.key"
        var regions: [RegionSettings] = []
        for (keyNode, value) in top {
            let key = keyNode.string ?? "?"
            switch key {
            case "store":
                if let s = scalar(value, key) { store = s }
            case "key_file":
                if let s = scalar(value, key) { keyFile = s }
            case "regions":
                guard let mapping = value.mapping else {
                    if value.scalar?.string.isEmpty == false || value.mapping == nil && value.scalar == nil {
                        fail("regions", "expected a mapping of region names")
                    }
                    continue
                }
                for (nameNode, section) in mapping {
                    let name = nameNode.string ?? "?"
                    guard let spec = regionSpecs.first(where: { $0.name == name }) else {
                        fail("regions.\(name)", "unknown region (known: \(regionSpecs.map(\.name).joined(separator: ", ")))")
                        continue
                    }
                    if let settings = readRegion(name: name, section, specs: spec.settings) {
                        regions.append(settings)
                    }
                }
            default:
                fail(key, "unknown key (expected store, key_file, regions)")
            }
        }
        return Configuration(path: path, storePath: resolve(store), keyFilePath: resolve(keyFile), regions: regions)
    }

    mutating func scalar(_ node: Node, _ path: String) -> String? {
        guard let s = node.scalar?.string, !s.isEmpty else {
            fail(path, "expected a value")
            return nil
        }
        return s
    }

    mutating func readRegion(name: String, _ node: Node, specs: [SettingSpec]) -> RegionSettings? {
        let base = "regions.\(name)"
        guard let mapping = node.mapping else {
            fail(base, "expected a mapping of settings")
            return nil
        }
        var given: [String: (String, Node)] = [:]
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? "?"
            guard specs.contains(where: { $0.acceptedKeys.contains(key) }) else {
                let accepted = specs.flatMap(\.acceptedKeys).joined(separator: ", ")
                fail("\(base).\(key)", "unknown key (accepted: \(accepted))")
                continue
            }
            given[key] = (key, value)
        }
        var values: [String: String] = [:]
        let errorCount = errors.count
        for spec in specs {
            let present = spec.acceptedKeys.filter { given[$0] != nil }
            if present.isEmpty {
                if spec.required {
                    let what = spec.kind == .secret ? "\(spec.key)_env or \(spec.key)_file" : spec.key
                    fail("\(base).\(present.first ?? spec.acceptedKeys[0])", "missing (set \(what))")
                }
                continue
            }
            if present.count > 1 {
                fail("\(base).\(present[1])", "give only one of \(present.joined(separator: " and "))")
                continue
            }
            let key = present[0]
            let path = "\(base).\(key)"
            guard let text = scalar(given[key]!.1, path) else { continue }
            switch spec.kind {
            case .text:
                values[spec.key] = text
            case .positiveInteger:
                guard let n = Int(text), n > 0 else {
                    fail(path, "\"\(text)\" is not a whole number greater than zero")
                    continue
                }
                values[spec.key] = String(n)
            case .url:
                guard let url = URL(string: text), url.scheme == "https", url.host != nil else {
                    fail(path, "\"\(text)\" is not an https:// URL (TLS is required)")
                    continue
                }
                values[spec.key] = text.hasSuffix("/") ? String(text.dropLast()) : text
            case .file:
                let file = resolve(text)
                guard FileManager.default.isReadableFile(atPath: file) else {
                    fail(path, "\(file) cannot be read")
                    continue
                }
                values[spec.key] = file
            case .secret:
                if key.hasSuffix("_env") {
                    guard let secret = environment[text], !secret.isEmpty else {
                        fail(path, "\(text) is not set")
                        continue
                    }
                    values[spec.key] = secret
                } else {
                    let file = resolve(text)
                    guard let data = FileManager.default.contents(atPath: file),
                          let secret = String(data: data, encoding: .utf8) else {
                        fail(path, "\(file) cannot be read")
                        continue
                    }
                    let trimmed = secret.trimmingCharacters(in: .whitespacesAndNewlines)
                    guard !trimmed.isEmpty else {
                        fail(path, "\(file) is empty")
                        continue
                    }
                    values[spec.key] = trimmed
                }
            }
        }
        return errors.count == errorCount ? RegionSettings(name: name, values: values) : nil
    }
}
