import DopsyncConfig
import DopsyncModel
import DopsyncTesting
import Foundation
import Regions
import Simulator
import Testing
import Transport

/// The simulated Krasnoyarsk answers as its published contract
/// (contracts/regions/krasnoyarsk.openapi.yaml) says: every documented field
/// present with its documented type, nothing undocumented, and the write
/// semantics (ETags, 412, 428, 422) a later push will rely on.
@Suite("The Krasnoyarsk simulator keeps its contract")
struct KrasnoyarskContractTests {
    /// A client of the simulator through the shared rate limit and retries.
    struct Client {
        let base: String
        let http: RegionClient
        var token = ""

        func send(_ method: String, _ path: String, headers: [(String, String)] = [], body: String? = nil,
                  token: String? = nil) async throws -> HTTPResponse {
            var all = headers.map { (name: $0.0, value: $0.1) }
            all.append((name: "Authorization", value: "Bearer \(token ?? self.token)"))
            if body != nil { all.append((name: "Content-Type", value: "application/json")) }
            return try await http.send(HTTPRequest(method: method, url: base + path, headers: all, body: body.map { Array($0.utf8) }),
                                       collection: nil)
        }
    }

    static func contract() throws -> OpenAPIContract {
        var contract = try OpenAPIContract(repositoryPath: "contracts/regions/krasnoyarsk.openapi.yaml")
        contract.undocumentedMembersAreProblems = true
        return contract
    }

    static let schemaNames: [CollectionName: String] = [
        .programs: "Program", .certificates: "Certificate", .contracts: "Contract", .charges: "Charge",
    ]

    @Test func answersFollowTheContract() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["krasnoyarsk"], scale: 60) { options in
            options.invalidRecords = 0
        }
        defer { Task { await gateway.stop() } }
        let data = gateway.simulator.data("krasnoyarsk")
        let contract = try Self.contract()
        let settings = try #require(gateway.configuration.regions.first { $0.name == "krasnoyarsk" })
        var client = Client(base: gateway.simulator.baseURL("krasnoyarsk"),
                            http: try RegionClient(region: "krasnoyarsk", tls: TLSOptions(caFile: gateway.simulator.caPath),
                                                   requestsPerSecond: 5))
        func expectConforms(_ response: HTTPResponse, _ path: String, _ method: String, _ status: Int,
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
            #expect(response.status == status, "\(method) \(path): \(response.bodyText)", sourceLocation: sourceLocation)
            let problems = try contract.problems(body: response.bodyText, path: path, method: method, status: status)
            #expect(problems.isEmpty, "\(method) \(path) \(status): \(problems.prefix(5))", sourceLocation: sourceLocation)
        }

        // Tokens: a valid client gets one; a wrong secret does not.
        let form = "grant_type=client_credentials&client_id=gateway&client_secret=\(formEncode(settings["client_secret"]!))"
        var response = try await client.http.send(HTTPRequest(method: "POST", url: client.base + "/v3/oauth/token",
            headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(form.utf8)), collection: nil)
        try expectConforms(response, "/v3/oauth/token", "post", 200)
        guard case let .string(token)? = try JSONParser.parse(response.body)["access_token"] else {
            Issue.record("no token")
            return
        }
        client.token = token
        response = try await client.http.send(HTTPRequest(method: "POST", url: client.base + "/v3/oauth/token",
            headers: [("Content-Type", "application/x-www-form-urlencoded")],
            body: Array("grant_type=client_credentials&client_id=gateway&client_secret=wrong".utf8)), collection: nil)
        try expectConforms(response, "/v3/oauth/token", "post", 401)
        try expectConforms(try await client.send("GET", "/v3/programs", token: "expired"), "/v3/{collection}", "get", 401)

        // Snapshots: every record conforms to its own collection's schema.
        var firstIDs: [CollectionName: String] = [:]
        for c in CollectionName.allCases {
            response = try await client.send("GET", "/v3/\(c.rawValue)?offset=0&limit=1000")
            try expectConforms(response, "/v3/{collection}", "get", 200)
            let page = try JSONParser.parse(response.body)
            guard case let .array(items)? = page["items"] else { continue }
            #expect(items.count == data.recordCount(c), "\(c)")
            let schema = try #require(contract.resolve("#/components/schemas/\(Self.schemaNames[c]!)"))
            for item in items {
                let problems = contract.problems(item, schema)
                #expect(problems.isEmpty, "\(c): \(problems.prefix(3))")
            }
            if case let .string(id)? = items.first?["id"] { firstIDs[c] = id }
        }
        try expectConforms(try await client.send("GET", "/v3/programs?limit=0"), "/v3/{collection}", "get", 400)

        // One record, with its ETag; 404 for none.
        let program = try #require(firstIDs[.programs])
        response = try await client.send("GET", "/v3/programs/\(program)")
        try expectConforms(response, "/v3/{collection}/{id}", "get", 200)
        let etag = try #require(response.header("etag"))
        #expect(etag == "\"1\"")
        try expectConforms(try await client.send("GET", "/v3/programs/00000000-0000-4000-8000-000000000000"),
                           "/v3/{collection}/{id}", "get", 404)

        // Writes: 428 without If-Match, 412 with a stale one, 422 on a bad record.
        var record = try JSONParser.parse(response.body)
        record = try #require(record.replacing(path: "directions", with: .array([.string("artistic"), .string("technical")])))
        record = try #require(record.replacing(path: "title", with: .string("Робототехника 2.0")))
        try expectConforms(try await client.send("PUT", "/v3/programs/\(program)", body: record.serialized()),
                           "/v3/programs/{id}", "put", 428)
        try expectConforms(try await client.send("PUT", "/v3/programs/\(program)", headers: [("If-Match", "\"9\"")],
                                                 body: record.serialized()), "/v3/programs/{id}", "put", 412)
        let bad = try #require(record.replacing(path: "price_month", with: .number("1250.505"))?
            .replacing(path: "directions", with: .array([])))
        response = try await client.send("PUT", "/v3/programs/\(program)", headers: [("If-Match", etag)], body: bad.serialized())
        try expectConforms(response, "/v3/programs/{id}", "put", 422)
        #expect(response.bodyText.contains("price_month") && response.bodyText.contains("directions"))
        let head = data.changeLogHead
        response = try await client.send("PUT", "/v3/programs/\(program)", headers: [("If-Match", etag)], body: record.serialized())
        try expectConforms(response, "/v3/programs/{id}", "put", 200)
        #expect(response.header("etag") == "\"2\"")
        // The region keeps what the model drops: the second direction.
        response = try await client.send("GET", "/v3/programs/\(program)")
        #expect(try JSONParser.parse(response.body)["directions"] == .array([.string("artistic"), .string("technical")]))
        #expect(try JSONParser.parse(response.body)["title"] == .string("Робототехника 2.0"))
        #expect(data.writesApplied == 1)

        let certificate = try #require(firstIDs[.certificates])
        let path = "/v3/certificates/\(certificate)"
        try expectConforms(try await client.send("PATCH", path, body: #"{"status":"paused"}"#), "/v3/certificates/{id}", "patch", 428)
        try expectConforms(try await client.send("PATCH", path, headers: [("If-Match", "\"1\"")], body: #"{"status":"suspended"}"#),
                           "/v3/certificates/{id}", "patch", 422)
        try expectConforms(try await client.send("PATCH", path, headers: [("If-Match", "\"1\"")], body: #"{"status":"paused","year":2027}"#),
                           "/v3/certificates/{id}", "patch", 422)
        response = try await client.send("PATCH", path, headers: [("If-Match", "\"1\"")], body: #"{"status":"paused"}"#)
        try expectConforms(response, "/v3/certificates/{id}", "patch", 200)
        #expect(try JSONParser.parse(response.body)["status"] == .string("paused"))
        try expectConforms(try await client.send("PATCH", path, headers: [("If-Match", "\"1\"")], body: #"{"status":"active"}"#),
                           "/v3/certificates/{id}", "patch", 412)

        // The feed: the writes and a deletion, in commit order.
        let deleted = data.delete(.charges, count: 1)
        response = try await client.send("GET", "/v3/changes?since=\(head)&limit=10")
        try expectConforms(response, "/v3/changes", "get", 200)
        let feed = try JSONParser.parse(response.body)
        guard case let .array(results)? = feed["results"] else { return }
        #expect(results.map { $0["id"] } == [.string(program), .string(certificate), .string(deleted[0])])
        #expect(results.map { $0["op"] } == [.string("upsert"), .string("upsert"), .string("delete")])
        #expect(results[0]["etag"] == .string("\"2\""))
        #expect(feed["pending"] == .number("0"))
        try expectConforms(try await client.send("GET", "/v3/changes"), "/v3/changes", "get", 400)
        data.compactChangeLog()
        response = try await client.send("GET", "/v3/changes?since=\(head)")
        try expectConforms(response, "/v3/changes", "get", 410)
        #expect(try JSONParser.parse(response.body)["oldest_seq"] == .number(String(data.changeLogHead + 1)))
    }

    /// Over 5 requests within a second, the region answers 429 with
    /// Retry-After (a client without a limiter trips it).
    @Test func aBurstIsRefusedWithRetryAfter() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["krasnoyarsk"], scale: 20)
        defer { Task { await gateway.stop() } }
        let contract = try Self.contract()
        let http = try HTTPClient(configuration: HTTPClientConfiguration(tls: TLSOptions(caFile: gateway.simulator.caPath)))
        defer { http.shutdown() }
        let url = gateway.simulator.baseURL("krasnoyarsk") + "/v3/changes?since=0"
        var refused: HTTPResponse? = nil
        // Batches of requests sent at once: on a busy machine too, some
        // second sees more than five.
        for _ in 0..<10 where refused == nil {
            refused = try await withThrowingTaskGroup(of: HTTPResponse.self) { group in
                for _ in 0..<8 { group.addTask { try await http.execute(HTTPRequest(url: url)) } }
                var first: HTTPResponse? = nil
                for try await response in group where response.status == 429 && first == nil { first = response }
                return first
            }
        }
        let response = try #require(refused)
        #expect(response.header("retry-after") == "1")
        #expect(try contract.problems(body: response.bodyText, path: "/v3/changes", method: "get", status: 429).isEmpty)
        #expect(gateway.simulator.data("krasnoyarsk").rateLimitedRequests >= 1)
    }

    /// `dopsync sim --no-rate-limits` (make bench): nothing is refused, and
    /// the configuration it writes lifts the client's own limit.
    @Test func withoutRateLimitsNothingIsRefused() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["krasnoyarsk"], scale: 20) { $0.rateLimits = false }
        defer { Task { await gateway.stop() } }
        let settings = try #require(gateway.configuration.regions.first { $0.name == "krasnoyarsk" })
        #expect(KrasnoyarskAdapter.descriptor.requestsPerSecond(settings) == 1000)
        let http = try HTTPClient(configuration: HTTPClientConfiguration(tls: TLSOptions(caFile: gateway.simulator.caPath)))
        defer { http.shutdown() }
        let url = gateway.simulator.baseURL("krasnoyarsk") + "/v3/changes?since=0"
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<24 { group.addTask { try await http.execute(HTTPRequest(url: url)).status } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.count == 24 && statuses.allSatisfy { $0 == 401 })
        #expect(gateway.simulator.data("krasnoyarsk").rateLimitedRequests == 0)
    }

    /// The deliberately bad records are bad on the wire in the region's own
    /// form (three decimals, an unknown code, a dotted month: outside the
    /// contract), and the contract check catches a record that breaks it.
    @Test func badRecordsBreakTheContract() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["krasnoyarsk"], scale: 60)
        defer { Task { await gateway.stop() } }
        let contract = try Self.contract()
        let settings = try #require(gateway.configuration.regions.first { $0.name == "krasnoyarsk" })
        let http = try RegionClient(region: "krasnoyarsk", tls: TLSOptions(caFile: gateway.simulator.caPath), requestsPerSecond: 5)
        let form = "grant_type=client_credentials&client_id=gateway&client_secret=\(formEncode(settings["client_secret"]!))"
        let auth = try await http.send(HTTPRequest(method: "POST", url: gateway.simulator.baseURL("krasnoyarsk") + "/v3/oauth/token",
            headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(form.utf8)), collection: nil)
        guard case let .string(token)? = try JSONParser.parse(auth.body)["access_token"] else { return }
        // A СНИЛС checksum is beyond a schema: the bad certificates still conform.
        let failing: [CollectionName: Int] = [.programs: 2, .certificates: 0, .contracts: 2, .charges: 2]
        for c in CollectionName.allCases {
            let response = try await http.send(HTTPRequest(url: gateway.simulator.baseURL("krasnoyarsk") + "/v3/\(c.rawValue)?limit=1000",
                                                           headers: [("Authorization", "Bearer \(token)")]), collection: c)
            guard case let .array(items)? = try JSONParser.parse(response.body)["items"] else { continue }
            let schema = try #require(contract.resolve("#/components/schemas/\(Self.schemaNames[c]!)"))
            #expect(items.filter { !contract.problems($0, schema).isEmpty }.count == failing[c], "\(c)")
        }
        let program = try #require(contract.resolve("#/components/schemas/Program"))
        let text = #"{"id":"7c9e6679-7425-40de-944b-e07fc1f90ae7","provider":{"inn":"2460000000","ogrn":"1022400000000","name":"ООО","legal_form":"llc"},"directions":[],"age":{"min":7,"max":12},"hours":144,"price_month":"1250.50","registry":"certified","municipality":{"oktmo":"04701000","name":"Красноярск"},"online":false,"status":"published","starts_on":"2026-09-01","ends_on":"2027-05-31","modified_at":"2026-09-01T10:00:00+07:00","format":"offline"}"#
        let problems = contract.problems(try JSONParser.parse(text), program).joined(separator: "\n")
        for expected in ["$.title: is missing", "$.directions: fewer than 1", "$.price_month: expected number",
                         "$.modified_at: does not match", "$.format: is not documented"] {
            #expect(problems.contains(expected), "\(expected) in \(problems)")
        }
    }
}
