internal import ArgumentParser
internal import DopsyncModel
internal import DopsyncStore
internal import Foundation

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Per region: last good pull and push, positions, records held, open conflicts, quarantined records, outbox.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Print one JSON document, as the operator API's /operator/v1/status answers.")
    var json = false

    func run() throws {
        let context = try Context.open(global)
        let regions = context.regionCodes
        let statuses: [RegionStatus]
        do {
            statuses = try context.store.status(regions: regions.map(\.code))
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        var out = StdoutWriter()
        if json {
            out.line(RegionStatus.json(statuses, names: regions.map(\.name)).serialized())
            out.flush()
            return
        }
        for (status, region) in zip(statuses, regions) {
            out.line("\(region.name) (\(region.code))")
            out.line("  last pull:    \(status.lastPullOKAt ?? "never")")
            out.line("  last push:    \(status.lastPushOKAt ?? "never")")
            if let error = status.lastError, let at = status.lastErrorAt,
               at >= (status.lastPullOKAt ?? "") {
                out.line("  last error:   \(at) \(error)")
            }
            for c in CollectionName.allCases {
                let r = status.records[c] ?? (0, 0)
                let label = (c.rawValue + ":").padding(toLength: 14, withPad: " ", startingAt: 0)
                out.line("  \(label)\(r.live) held, \(r.deleted) deleted")
            }
            out.line("  conflicts:    \(status.openConflicts) open")
            out.line("  quarantined:  \(status.quarantined)")
            out.line("  outbox:       \(status.outboxPending) waiting")
            for (stream, position) in status.positions.sorted(by: { $0.key < $1.key }) {
                out.line("  position \(stream): \(position)")
            }
        }
        out.flush()
    }
}
