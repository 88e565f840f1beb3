internal import ArgumentParser
internal import DopsyncConfig
internal import DopsyncStore
internal import Foundation
internal import Gateway
internal import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API: federal pulls, the operator API, health and metrics.",
        discussion: """
            Plain HTTP on loopback by default; HTTPS with --tls-cert and --tls-key. Every route but /healthz and \
            /metrics needs a bearer token (see `dopsync token create`). Prints the address it listens on, and stops \
            cleanly on SIGINT or SIGTERM.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The address to listen on.")
    var host: String = "127.0.0.1"

    @Option(name: .long, help: "The port; 0 picks a free one.")
    var port: Int = 8080

    @Option(name: .customLong("tls-cert"), help: "A PEM certificate chain: serve HTTPS (needs --tls-key).")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "The PEM private key of --tls-cert.")
    var tlsKey: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port \(port): expected 0 to 65535") }
        if (tlsCert == nil) != (tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key go together: give both for HTTPS, or neither")
        }
    }

    func run() async throws {
        let context = try Context.open(global)
        let link: LinkKey
        do {
            link = try LinkKey.loadOrCreate(path: context.configuration.keyFilePath)
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        let environment = GatewayEnvironment(
            store: context.store, regions: context.regionCodes.map { GatewayRegion(name: $0.name, code: $0.code) }, link: link)
        var options = GatewayOptions(host: host, port: port)
        if let tlsCert, let tlsKey { options.tls = (tlsCert, tlsKey) }
        let server: GatewayServer
        do {
            server = try await GatewayServer.start(environment: environment, options: options,
                                                   stopOnSignals: true)
        } catch let error as GatewayStartError {
            printError("serve: \(error)")
            throw ExitCode(error.kind == .tlsFiles ? 2 : 1)
        }
        if options.tls == nil && !["127.0.0.1", "::1", "localhost"].contains(host) {
            printError("serve: warning: plain HTTP on \(host): bearer tokens and operator data cross the network unencrypted; use --tls-cert and --tls-key")
        }
        print("dopsync serve: listening on \(server.url)")
        fflush(nil)
        try await server.waitUntilStopped()
        print("dopsync serve: stopped")
        fflush(nil)
    }
}
