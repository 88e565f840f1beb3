internal import ArgumentParser
internal import DopsyncModel
internal import DopsyncStore
internal import Foundation
internal import SyncEngine

extension ConflictsCommand {
    struct Resolve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resolve a conflict: take one side, set values, close a duplicate certificate, or dismiss it with a reason.",
            discussion: """
                Give exactly one of --take region, --take gateway, --set FIELD=VALUE…, --close REGION:SOURCE_ID \
                (a duplicate_certificate: queues status closed for that certificate, pushed to the region that issued it) \
                or --dismiss --reason TEXT. Every resolution is kept in the audit log; what it changes is pushed by the next sync.
                """)

        enum Side: String, ExpressibleByArgument, CaseIterable { case region, gateway }

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The conflict's id.")
        var id: Int64

        @Option(name: .long, help: "region: keep the region's values; gateway: send the gateway's (edit conflicts).")
        var take: Side?

        @Option(name: .customLong("set"), parsing: .upToNextOption, help: ArgumentHelp("Fields of the conflict's record (edit conflicts).", valueName: "FIELD=VALUE"))
        var assignments: [String] = []

        @Option(name: .long, help: "REGION:SOURCE_ID of the certificate to close (duplicate_certificate).")
        var close: String?

        @Flag(name: .long, help: "Close the conflict without changing anything (needs --reason); it is not raised again.")
        var dismiss = false

        @Option(name: .long, help: "Why, for the audit log.")
        var reason: String?

        @OptionGroup var who: OperatorOptions

        /// The resolution asked for, checked as the operator API checks it;
        /// `set` is read against the conflict's collection when it is given.
        func resolution(collection: CollectionName?) throws -> ConflictResolution {
            do {
                return try OperatorInput.resolution(take: take?.rawValue, set: try OperatorInput.pairs(assignments),
                                                    close: close, dismiss: dismiss, reason: reason, collection: collection)
            } catch {
                throw ValidationError(error.optionText)
            }
        }

        func validate() throws {
            _ = try resolution(collection: nil)
        }

        func run() throws {
            let context = try Context.open(global)
            var collection: CollectionName? = nil
            if !assignments.isEmpty {
                guard let conflict = try context.store.conflict(id: id) else {
                    printError("conflict \(id) does not exist")
                    throw ExitCode(1)
                }
                collection = conflict.collection
            }
            let resolution = try resolution(collection: collection)
            do {
                let outcome = try context.store.resolveConflict(id: id, resolution, operator: who.name, reason: reason)
                print(outcome.description + (outcome.outboxEntry.map { "; outbox entry \($0) waits for the next sync" } ?? ""))
            } catch {
                printError("\(error)")
                throw ExitCode(1)
            }
        }
    }
}

/// Writes an edit conflict's three states side by side, one field a line:
/// `!` marks a field changed differently on both sides (not pushed until
/// resolved), `*` one whose states differ otherwise.
func writeSideBySide(_ view: EditConflictView, into out: inout StdoutWriter) {
    let conflicting = Set(view.fields.map(\.path))
    func text(_ value: JSONValue?) -> String {
        let s: String
        switch value {
        case nil: s = "-"
        case let .string(v)?: s = v
        case let v?: s = v.serialized()
        }
        return s.count > 32 ? String(s.prefix(31)) + "…" : s
    }
    var rows: [[String]] = [["", "field", "base", "region", "gateway"]]
    for path in view.region.leafPaths {
        let b = view.base.value(atPath: path), r = view.region.value(atPath: path), g = view.gateway.value(atPath: path)
        let mark = conflicting.contains(path) ? "!" : (b == r && r == g ? "" : "*")
        rows.append([mark, path, text(b), text(r), text(g)])
    }
    let widths = (0..<5).map { column in rows.map { $0[column].count }.max() ?? 0 }
    for row in rows {
        let cells = row.enumerated().map { i, cell in cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
        out.line(cells.joined(separator: "  ").trimmingTrailingSpaces)
    }
    out.line("")
    out.line("marks: ! changed differently at the gateway and in the region (kept as the region has it, not pushed); * differs")
    out.line("resolve: --take region | --take gateway | --set FIELD=VALUE… | --dismiss --reason TEXT")
}

extension String {
    var trimmingTrailingSpaces: String {
        var s = Substring(self)
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
