import DopsyncModel
import DopsyncTesting
import Foundation
import Simulator
import Testing
import Transport

/// `dopsync serve` and `dopsync token` run as a user runs them, against a
/// store synced from the simulator.
@Suite("dopsync serve and dopsync token")
struct ServeTests {
    @Test func servesWhatTheCommandsPrintAndNothingPersonal() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["omsk"], scale: 60)
        defer { Task { await gateway.stop() } }
        let config = gateway.simulator.configPath
        #expect(try await DopsyncBinary.run(["sync", "--config", config]).status == 0)

        let federal = try await DopsyncBinary.run(["token", "create", "--role", "federal", "--name", "fed", "--config", config])
        let op = try await DopsyncBinary.run(["token", "create", "--role", "operator", "--name", "ops", "--config", config])
        #expect(federal.status == 0 && op.status == 0)
        let federalToken = federal.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let operatorToken = op.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(federalToken.hasPrefix("dps_") && !federalToken.contains("\n"))
        let list = try await DopsyncBinary.run(["token", "list", "--config", config])
        #expect(list.stdout.contains("fed\tfederal\t") && list.stdout.contains("ops\toperator\t"))
        #expect(!list.stdout.contains(federalToken) && !list.stdout.contains(operatorToken))
        let duplicate = try await DopsyncBinary.run(["token", "create", "--role", "admin", "--name", "fed", "--config", config])
        #expect(duplicate.status == 1)

        let serve = try await DopsyncBinary.serve(["--port", "0", "--config", config])
        #expect(serve.url.hasPrefix("http://127.0.0.1:"))
        let client = try GatewayClient(baseURL: serve.url)

        // Coverage: byte for byte what `report coverage` prints, JSON and CSV.
        for date in ["2026-09-15", "2026-10-31"] {
            let cli = try await DopsyncBinary.run(["report", "coverage", "--as-of", date, "--config", config])
            let api = try await client.get("/federal/v1/coverage?as_of=\(date)", token: federalToken)
            #expect(api.status == 200 && api.bodyText == cli.stdout)
            let cliCSV = try await DopsyncBinary.run(["report", "coverage", "--as-of", date, "--format", "csv", "--config", config])
            let apiCSV = try await client.get("/federal/v1/coverage?as_of=\(date)", token: federalToken, accept: "text/csv")
            #expect(apiCSV.bodyText == cliCSV.stdout)
        }
        // Conflicts and status: the objects the commands print.
        let conflicts = try await DopsyncBinary.run(["conflicts", "list", "--json", "--config", config])
        let apiConflicts = try await client.get("/operator/v1/conflicts", token: operatorToken)
        let cliLines = conflicts.stdout.split(separator: "\n").map(String.init)
        #expect(apiConflicts.bodyText == #"{"items":["# + cliLines.joined(separator: ",") + "]}\n")
        let status = try await DopsyncBinary.run(["status", "--json", "--config", config])
        #expect(try await client.get("/operator/v1/status", token: operatorToken).bodyText == status.stdout)

        // Every federal answer, searched for every child's personal data.
        var answers: [String] = []
        var cursor = ""
        var programs = 0
        repeat {
            let r = try await client.get("/federal/v1/programs?limit=7\(cursor)", token: federalToken)
            answers.append(r.bodyText)
            programs += r.json?["items"]?.array.count ?? 0
            guard r.json?["has_more"]?.bool == true, let next = r.json?["next_cursor"]?.string else { break }
            cursor = "&cursor=\(next)"
        } while true
        #expect(programs == gateway.simulator.data("omsk").expectedExport(.programs).count)
        for date in ["2026-09-01", "2026-10-15", "2027-01-01"] {
            answers.append(try await client.get("/federal/v1/coverage?as_of=\(date)", token: federalToken).bodyText)
            answers.append(try await client.get("/federal/v1/coverage?as_of=\(date)", token: federalToken, accept: "text/csv").bodyText)
        }
        var secrets = Set<String>()
        for line in try gateway.export(.certificates) {
            let child = try JSONParser.parse(line)["child"]!
            for key in ["last_name", "first_name"] {
                if case let .string(s)? = child[key] { secrets.insert("\"\(s)\"") }
            }
            if case let .string(last)? = child["last_name"], case let .string(first)? = child["first_name"] {
                secrets.insert("\(last) \(first)")
            }
            for key in ["birth_date", "snils"] {
                if case let .string(s)? = child[key] { secrets.insert(s) }
            }
            if case let .string(s)? = child["snils"] { secrets.insert(s.filter(\.isNumber)) }
        }
        #expect(secrets.count > 100)
        for answer in answers {
            for secret in secrets where answer.contains(secret) {
                Issue.record("a federal answer holds \(secret)")
            }
        }

        // A token revoked while the server runs stops working at once.
        #expect(try await DopsyncBinary.run(["token", "revoke", "fed", "--config", config]).status == 0)
        #expect(try await client.get("/federal/v1/programs", token: federalToken).status == 401)
        #expect(try await DopsyncBinary.run(["token", "revoke", "fed", "--config", config]).status == 1)

        let stopped = await serve.stop(signal: SIGTERM)
        #expect(stopped.status == 0)
        #expect(stopped.stdout.hasSuffix("dopsync serve: stopped\n"))
        await #expect(throws: TransportError.self) { _ = try await client.get("/healthz") }
    }

    @Test func httpsWithTheTwoFlagsAndUsageErrors() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dopsync-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("dopsync.yaml").path
        try "store: ./dopsync.sqlite\nkey_file: ./dopsync.key\nregions: {}\n".write(toFile: config, atomically: true, encoding: .utf8)
        let files = try TestCertificates.writeServerFiles(into: dir.path)

        let half = try await DopsyncBinary.run(["serve", "--tls-cert", files.certificate, "--config", config])
        #expect(half.status == 2)
        #expect(half.stderr.contains("--tls-cert and --tls-key go together"))
        let unreadable = try await DopsyncBinary.run(["serve", "--port", "0", "--tls-cert", dir.path + "/none.pem",
                                                      "--tls-key", files.key, "--config", config])
        #expect(unreadable.status == 2)
        #expect(unreadable.stderr.contains("none.pem"))

        let serve = try await DopsyncBinary.serve(["--port", "0", "--tls-cert", files.certificate, "--tls-key", files.key,
                                                   "--config", config])
        #expect(serve.url.hasPrefix("https://127.0.0.1:"))
        let health = try await GatewayClient(baseURL: serve.url, caFile: files.ca).get("/healthz")
        #expect(health.status == 200)
        let stopped = await serve.stop(signal: SIGINT)
        #expect(stopped.status == 0)
    }
}
