internal import ArgumentParser
internal import DopsyncModel
internal import DopsyncStore

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "The audit log of edits, resolutions and pushes: who, when, what and why; newest last.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: #"One JSON object a line: {"id","at","operator","action","region","collection","source_id","conflict_id","detail","reason"}."#)
    var json = false

    func run() throws {
        let context = try Context.open(global)
        let entries: [AuditEntry]
        do {
            entries = try context.store.auditLog()
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        var out = StdoutWriter()
        for e in entries {
            if json {
                out.line(e.json.serialized())
            } else {
                let record = [e.region.map(regionName(code:)), e.collection, e.sourceID].compactMap { $0 }.joined(separator: " ")
                var line = "\(e.id)\t\(e.at)\t\(e.operatorName)\t\(e.action)\t\(record.isEmpty ? "-" : record)"
                line += "\t\(e.conflictID.map { "conflict \($0)" } ?? "-")\t\(e.detail)"
                if let reason = e.reason { line += "\tbecause: \(reason)" }
                out.line(line)
            }
        }
        out.flush()
    }
}
