internal import ArgumentParser
internal import DopsyncModel
internal import DopsyncStore
internal import Foundation
internal import SyncEngine

struct EditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edit",
        abstract: "Change fields of a normalized record at the gateway; the next sync pushes the change to its region.",
        discussion: """
            programs: any field but identity, nested ones with a dot (provider.name), money in kopecks \
            (price_month_kopecks=125050), null clears an optional field; certificates: status only. \
            The change shows in exports at once and is kept in the audit log.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "programs or certificates.")
    var collection: CollectionName

    @Argument(help: "The record's id in its region (SOURCE_ID).")
    var sourceID: String

    @Option(name: .long, help: "The record's region (a name such as omsk, or a code such as 55).")
    var region: String

    @Option(name: .customLong("set"), parsing: .upToNextOption, help: ArgumentHelp("Several may follow, and --set may repeat.", valueName: "FIELD=VALUE"))
    var assignments: [String] = []

    @OptionGroup var who: OperatorOptions

    @Option(name: .long, help: "Why, for the audit log.")
    var reason: String?

    func validate() throws {
        guard regionCode(region) != nil else { throw ValidationError("--region \(region): unknown region") }
        guard !assignments.isEmpty else { throw ValidationError("--set FIELD=VALUE is required") }
        _ = try readAssignments(assignments, in: collection)
    }

    func run() throws {
        let context = try Context.open(global)
        let code = regionCode(region)!
        let outcome: EditOutcome
        do {
            outcome = try context.store.edit(region: code, collection: collection, sourceID: sourceID,
                                             set: try readAssignments(assignments, in: collection),
                                             operator: who.name, reason: reason)
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        let record = "\(regionName(code: code)) \(collection.rawValue) \(sourceID)"
        if outcome.changed.isEmpty {
            print("\(record): nothing changed")
        } else if let entry = outcome.outboxEntry {
            print("\(record): \(outcome.changed.joined(separator: ", ")) changed; outbox entry \(entry) waits for the next sync")
        } else {
            print("\(record): \(outcome.changed.joined(separator: ", ")) changed; the region already holds these values")
        }
    }
}

/// `--operator`: who acts, for the audit log.
struct OperatorOptions: ParsableArguments {
    @Option(name: .customLong("operator"), help: "Who acts, for the audit log (default: the OS user).")
    var operatorName: String?

    /// The operator given, else the user the process runs as.
    var name: String {
        if let operatorName, !operatorName.isEmpty { return operatorName }
        let user = ProcessInfo.processInfo.userName
        return user.isEmpty ? (ProcessInfo.processInfo.environment["USER"] ?? "uid \(getuid())") : user
    }
}

/// Reads `FIELD=VALUE` assignments of a collection, as the operator API does.
///
/// - Throws: `ValidationError` (exit 2) naming the field that cannot be set.
func readAssignments(_ texts: [String], in collection: CollectionName) throws -> [(path: String, value: JSONValue)] {
    do {
        return try OperatorInput.assignments(try OperatorInput.pairs(texts), in: collection)
    } catch {
        throw ValidationError(error.optionText)
    }
}

extension OperatorInputError {
    /// The error as the command line names its options: `--set title: …`, `--close …`.
    var optionText: String {
        if field == "resolution" { return reason }
        if field.hasPrefix("set.") { return "--set \(field.dropFirst(4)): \(reason)" }
        return "--\(field): \(reason)"
    }
}
