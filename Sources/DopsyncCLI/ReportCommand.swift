internal import ArgumentParser
internal import DopsyncConfig
internal import DopsyncModel
internal import DopsyncStore
internal import Reporting

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Federal reports from the store.",
        subcommands: [Coverage.self])

    struct Coverage: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Coverage on a date: certificates, children enrolled by age and direction, charges by month; no personal data.")

        @OptionGroup var global: GlobalOptions

        @Option(name: .customLong("as-of"), help: "The date, YYYY-MM-DD.")
        var asOf: String

        @Option(name: .long, help: "json or csv.")
        var format: Format = .json

        enum Format: String, ExpressibleByArgument { case json, csv }

        func validate() throws {
            guard (try? LocalDate(iso: asOf)) != nil else {
                throw ValidationError("--as-of \(asOf): expected a date YYYY-MM-DD")
            }
        }

        func run() throws {
            let context = try Context.open(global)
            let report: CoverageReport
            do {
                let key = try LinkKey.loadOrCreate(path: context.configuration.keyFilePath)
                report = try CoverageReport.compute(store: context.store, asOf: try LocalDate(iso: asOf),
                                                    regions: context.regionCodes.map(\.code), link: key)
            } catch {
                printError("\(error)")
                throw ExitCode(1)
            }
            print(format == .json ? report.json.serialized() : report.csv, terminator: format == .json ? "\n" : "")
        }
    }
}
