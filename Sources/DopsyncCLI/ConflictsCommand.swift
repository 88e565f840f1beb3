internal import ArgumentParser
internal import DopsyncModel
internal import DopsyncStore

struct ConflictsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflicts",
        abstract: "Where the regions' data disagrees with itself or with a change made at the gateway.",
        subcommands: [List.self, Show.self, Resolve.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The open conflicts, oldest first.")
        @OptionGroup var global: GlobalOptions
        @Flag(name: .long, help: #"One JSON object a line: {"id","kind","region","collection","source_id","opened_at","summary"}."#)
        var json = false

        func run() throws {
            let context = try Context.open(global)
            var out = StdoutWriter()
            for c in try context.store.conflicts() {
                if json {
                    // The same object the operator API answers with.
                    out.line(c.listJSON.serialized())
                } else {
                    out.line("\(c.id)\t\(c.kind)\t\(regionName(code: c.region))\t\(c.collection.rawValue)\t\(c.sourceID)\t\(c.summary)")
                }
            }
            out.flush()
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One conflict with what it is about; an edit conflict with the record's base, region and gateway states side by side.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The conflict's id.")
        var id: Int64

        func run() throws {
            let context = try Context.open(global)
            guard let c = try context.store.conflict(id: id) else {
                printError("conflict \(id) does not exist")
                throw ExitCode(1)
            }
            var out = StdoutWriter()
            out.line("conflict \(c.id): \(c.kind)")
            out.line("record:   \(regionName(code: c.region)) (\(c.region)) \(c.collection.rawValue) \(c.sourceID)")
            out.line("opened:   \(c.openedAt)")
            if let closed = c.closedAt { out.line("closed:   \(closed): \(c.closeReason ?? "")") }
            out.line("summary:  \(c.summary)")
            do {
                if let view = try context.store.editConflictView(id: c.id) {
                    out.line("")
                    writeSideBySide(view, into: &out)
                } else if c.detail != "{}" {
                    out.line("detail:   \(c.detail)")
                }
            } catch {
                printError("\(error)")
            }
            out.flush()
        }
    }
}
