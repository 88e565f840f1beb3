internal import ArgumentParser
internal import DopsyncModel
internal import DopsyncStore

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print the normalized records of a collection as JSON Lines, ordered by region then source id.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "programs, certificates, contracts or charges.")
    var collection: CollectionName

    @Option(name: .long, help: "Only this region (a name such as omsk, or a code such as 55).")
    var region: String?

    func run() throws {
        let context = try Context.open(global)
        var code: String? = nil
        if let region {
            guard let c = regionCode(region) else {
                printError("--region \(region): unknown region")
                throw ExitCode(2)
            }
            code = c
        }
        var out = StdoutWriter()
        do {
            try context.store.export(collection, region: code) { out.line($0) }
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        out.flush()
    }
}
