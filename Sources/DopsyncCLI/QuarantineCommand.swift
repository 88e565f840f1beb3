internal import ArgumentParser
internal import DopsyncModel
internal import DopsyncStore
internal import SyncEngine

struct QuarantineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarantine",
        abstract: "Records that could not be taken, with their raw text and why.",
        subcommands: [List.self, Show.self, Retry.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the quarantined records.")
        @OptionGroup var global: GlobalOptions
        @Option(name: .long, help: "Only this region (name or code).")
        var region: String?

        func run() throws {
            let context = try Context.open(global)
            let entries = try context.store.quarantined(region: region.flatMap(regionCode))
            var out = StdoutWriter()
            for e in entries {
                out.line("\(e.id)\t\(regionName(code: e.region))\t\(e.collection.rawValue)\t\(e.sourceID ?? "-")\t\(e.reason)")
            }
            out.flush()
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one quarantined record with its raw text.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The entry's id from `quarantine list`.")
        var id: Int64

        func run() throws {
            let context = try Context.open(global)
            guard let e = try context.store.quarantineEntry(id: id) else {
                printError("quarantine entry \(id) does not exist")
                throw ExitCode(1)
            }
            var out = StdoutWriter()
            out.line("id:          \(e.id)")
            out.line("region:      \(regionName(code: e.region)) (\(e.region))")
            out.line("collection:  \(e.collection.rawValue)")
            out.line("source id:   \(e.sourceID ?? "unknown")")
            out.line("first seen:  \(e.firstSeenAt)")
            out.line("last seen:   \(e.lastSeenAt)")
            out.line("reason:      \(e.reason)")
            out.line("raw:")
            out.line(e.raw)
            out.flush()
        }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode quarantined records again from their raw text (after a fix of the gateway) and take those that now pass.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Entry ids; all open entries when none is given.")
        var ids: [Int64] = []

        func run() throws {
            let context = try Context.open(global)
            let entries = try ids.isEmpty ? context.store.quarantined() : ids.compactMap { try context.store.quarantineEntry(id: $0) }
            var out = StdoutWriter()
            let outcomes = try OperatorInput.retryQuarantined(entries, store: context.store)
            for o in outcomes {
                out.line(o.taken ? "\(o.id): taken" : "\(o.id): still quarantined: \(o.reason ?? "")")
            }
            let taken = outcomes.filter(\.taken).count
            out.line("\(taken) of \(entries.count) taken")
            out.flush()
        }
    }
}
