public import ArgumentParser
internal import Foundation

/// `dopsync`: the multi-region sync gateway for ПФДО data.
public struct Dopsync: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "dopsync",
        abstract: "Sync gateway for the regional systems of personalized financing of supplementary education.",
        subcommands: [SyncCommand.self, ExportCommand.self, ReportCommand.self, EditCommand.self, ConflictsCommand.self,
                      AuditCommand.self, StatusCommand.self, QuarantineCommand.self, SimCommand.self, ServeCommand.self,
                      TokenCommand.self])

    public init() {}

    /// Runs the command line, mapping usage errors to exit status 2 as the
    /// interface promises (ArgumentParser's own is 64).
    public static func runMain() async -> Never {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            Foundation.exit(0)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "The configuration file.")
    var config: String = "./dopsync.yaml"
}

/// Prints to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Buffered writing to standard output, for long outputs such as exports.
struct StdoutWriter {
    private var buffer: [UInt8] = []

    init() { buffer.reserveCapacity(1 << 16) }

    mutating func line(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        buffer.append(0x0A)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}
