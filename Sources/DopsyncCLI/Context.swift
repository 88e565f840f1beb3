public import ArgumentParser
internal import DopsyncConfig
public import DopsyncModel
internal import DopsyncStore
internal import Regions
internal import SyncEngine

/// What the commands share: the checked configuration and the store.
struct Context {
    let configuration: Configuration
    let store: Store

    /// Reads the configuration (exit 2 on any error, naming the key) and opens the store.
    static func open(_ options: GlobalOptions) throws -> Context {
        let configuration = try loadConfiguration(options)
        do {
            return Context(configuration: configuration, store: try Store(path: configuration.storePath))
        } catch {
            printError("store: \(error)")
            throw ExitCode(2)
        }
    }

    static func loadConfiguration(_ options: GlobalOptions) throws -> Configuration {
        do {
            return try Configuration.load(path: options.config, regionSpecs: regionSettingSpecs)
        } catch {
            printError(error.description)
            throw ExitCode(2)
        }
    }

    /// The region codes of the configured regions, in configuration order.
    var regionCodes: [(name: String, code: String)] {
        configuration.regions.compactMap { r in adapterType(named: r.name).map { (r.name, $0.descriptor.code) } }
    }
}

/// A region given by name (`omsk`) or code (`55`), as its code.
func regionCode(_ nameOrCode: String) -> String? { OperatorInput.regionCode(nameOrCode) }

/// A region's name by its code.
func regionName(code: String) -> String { OperatorInput.regionName(code: code) }

extension CollectionName: ExpressibleByArgument {}
