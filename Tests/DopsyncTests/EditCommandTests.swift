import DopsyncModel
import DopsyncTesting
import Foundation
import Simulator
import Testing

/// `edit`, `conflicts` and `audit` as an operator runs them.
@Suite("Editing and resolving from the command line")
struct EditCommandTests {
    @Test(arguments: [
        (["programs", "101", "--set", "source_id=7"], "source_id"),
        (["programs", "101", "--set", "region=47"], "region"),
        (["programs", "101", "--set", "colour=red"], "colour"),
        (["programs", "101", "--set", "price_month_kopecks=1250.50"], "price_month_kopecks"),
        (["programs", "101", "--set", "direction=chess"], "direction"),
        (["programs", "101", "--set", "title"], "title"),
        (["certificates", "5500010001", "--set", "balance_kopecks=0"], "balance_kopecks"),
        (["certificates", "5500010001", "--set", "status=lost"], "status"),
        (["contracts", "5001", "--set", "status=active"], "contracts"),
    ])
    func editUsageErrorsExitTwoNamingTheField(arguments: [String], field: String) async throws {
        let result = try await DopsyncBinary.run(["edit"] + arguments + ["--region", "omsk"])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains(field), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test func editWithoutSetOrWithAnUnknownRegionExitsTwo() async throws {
        #expect(try await DopsyncBinary.run(["edit", "programs", "101", "--region", "omsk"]).status == 2)
        #expect(try await DopsyncBinary.run(["edit", "programs", "101", "--region", "tver", "--set", "title=X"]).status == 2)
    }

    @Test func editSyncConflictResolveAndAudit() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["omsk"], scale: 100)
        defer { Task { await gateway.stop() } }
        let config = gateway.simulator.configPath
        let omsk = gateway.simulator.data("omsk")
        #expect(try await DopsyncBinary.run(["sync", "--config", config]).status == 0)
        guard case let .string(id)? = try JSONParser.parse(omsk.expectedExport(.programs)[5])["source_id"] else {
            Issue.record("the export has no source_id")
            return
        }

        // The edit shows in the export at once.
        let edit = try await DopsyncBinary.run(["edit", "programs", id, "--region", "omsk", "--set", "title=Шахматный клуб «Ладья»",
                                                "hours_total=36", "--operator", "ivanova", "--reason", "ticket 42",
                                                "--config", config])
        #expect(edit.status == 0, "\(edit.stderr)")
        #expect(edit.stdout.contains("outbox entry"))
        let export = try await DopsyncBinary.run(["export", "programs", "--config", config])
        #expect(export.stdout.contains(#""source_id":"\#(id)","title":"Шахматный клуб «Ладья»""#))

        // A region user changes the title just before the write lands.
        omsk.beforeWrite { collection, sourceID in
            omsk.update(collection, sourceID) { if case var .program(p) = $0 { p.title = "Игра го"; $0 = .program(p) } }
            omsk.clearWriteHooks()
        }
        let sync = try await DopsyncBinary.run(["sync", "--config", config])
        #expect(sync.status == 0, "an edit conflict is no failure: \(sync.stdout) \(sync.stderr)")
        #expect(sync.stdout.contains("omsk programs:") && sync.stdout.contains("conflicts opened 1"))

        let list = try await DopsyncBinary.run(["conflicts", "list", "--json", "--config", config])
        let lines = list.stdout.split(separator: "\n").map(String.init)
        let line = try #require(lines.first { $0.contains("edit_conflict") })
        let json = try JSONParser.parse(line)
        guard case let .object(members) = json, case let .number(conflictID)? = json["id"] else {
            Issue.record("not an object with a numeric id: \(line)")
            return
        }
        #expect(members.map(\.0) == ["id", "kind", "region", "collection", "source_id", "opened_at", "summary"])
        #expect(json["kind"] == .string("edit_conflict") && json["region"] == .string("55"))
        #expect(json["collection"] == .string("programs") && json["source_id"] == .string(id))

        let show = try await DopsyncBinary.run(["conflicts", "show", conflictID, "--config", config])
        #expect(show.status == 0)
        // The conflicting field is marked `!`, with its three values side by side.
        let marked = show.stdout.split(separator: "\n").filter { $0.hasPrefix("!") }
        #expect(marked.count == 1, "\(show.stdout)")
        #expect(marked.first?.split(separator: " ").dropFirst().first == "title", "\(show.stdout)")
        #expect(marked.first?.contains("Игра го") == true && marked.first?.contains("Шахматный клуб «Ладья»") == true)
        #expect(show.stdout.contains("field") && show.stdout.contains("base") && show.stdout.contains("gateway"))

        let twoWays = try await DopsyncBinary.run(["conflicts", "resolve", conflictID, "--take", "region", "--dismiss",
                                                   "--reason", "x", "--config", config])
        #expect(twoWays.status == 2)
        let resolve = try await DopsyncBinary.run(["conflicts", "resolve", conflictID, "--take", "gateway",
                                                   "--operator", "petrov", "--reason", "the provider confirmed",
                                                   "--config", config])
        #expect(resolve.status == 0, "\(resolve.stderr)")
        #expect(try await DopsyncBinary.run(["sync", "--config", config]).status == 0)
        guard case let .program(p)? = omsk.entry(.programs, id)?.record else {
            Issue.record("program \(id) is gone")
            return
        }
        #expect(p.title == "Шахматный клуб «Ладья»" && p.hoursTotal == 36)
        #expect(omsk.writesApplied == 2)

        let audit = try await DopsyncBinary.run(["audit", "--config", config])
        let rows = audit.stdout.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(rows.map { $0[3] } == ["edit", "push", "resolve", "push"])
        #expect(rows[0][2] == "ivanova" && rows[0].last == "because: ticket 42")
        #expect(rows[2][2] == "petrov" && rows[2][5] == "conflict \(conflictID)")
    }
}
