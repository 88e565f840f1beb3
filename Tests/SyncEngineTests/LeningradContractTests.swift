import DopsyncModel
import DopsyncTesting
import Foundation
import Regions
import Simulator
import Synchronization
import Testing
import Transport

/// The simulated Leningrad API against its page (regions/leningrad.md) and its
/// contract (contracts/regions/leningrad.openapi.yaml), over HTTPS: the
/// adapter is tested against it, so it must be a faithful reading of the wire.
@Suite("The Leningrad simulator keeps to its page and contract")
struct LeningradContractTests {
    static let contract = Result { try OpenAPIContract(repositoryPath: "contracts/regions/leningrad.openapi.yaml") }

    /// A running simulator and a client that keeps to its 10 requests a second.
    struct Region {
        let gateway: GatewayUnderTest
        let data: RegionData
        let client: RegionClient
        let key: String
        var baseURL: String { gateway.simulator.baseURL("leningrad") }

        static func start(scale: Int, invalidRecords: Int = 2) async throws -> Region {
            let gateway = try await GatewayUnderTest.start(regions: ["leningrad"], scale: scale) { $0.invalidRecords = invalidRecords }
            let key = try String(contentsOf: gateway.directory.appendingPathComponent("leningrad.key"), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let client = try RegionClient(region: "leningrad", tls: TLSOptions(caFile: gateway.simulator.caPath), requestsPerSecond: 10)
            return Region(gateway: gateway, data: gateway.simulator.data("leningrad"), client: client, key: key)
        }

        /// Sends a request with the key (or `key`), retrying only 429s and 5xx.
        func call(_ method: String = "GET", _ path: String, body: String? = nil, key: String? = nil) async throws -> (Int, JSONValue) {
            var headers: [(name: String, value: String)] = [("X-Api-Key", key ?? self.key)]
            if body != nil { headers.append(("Content-Type", "application/json")) }
            let response = try await client.send(HTTPRequest(method: method, url: baseURL + path, headers: headers,
                                                             body: body.map { Array($0.utf8) }), collection: nil)
            return (response.status, try JSONParser.parse(response.body))
        }

        func version(_ collection: String, _ id: String) async throws -> Int {
            let (_, record) = try await call("GET", "/api/v1/\(collection)/\(id)")
            guard case let .number(v)? = record["version"], let version = Int(v) else { throw ValueError("no version") }
            return version
        }
    }

    static func expectConforms(_ value: JSONValue, _ schema: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let problems = Array(try contract.get().problems(value, schema: schema).prefix(5))
        #expect(problems.isEmpty, "\(schema)", sourceLocation: sourceLocation)
    }

    static func expectConforms(_ value: JSONValue, response: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let c = try contract.get()
        let schema = try #require(c.document.value(atPath: "components.responses.\(response).content.application/json.schema"))
        let problems = c.problems(value, against: schema)
        #expect(problems.isEmpty, "\(response): \(problems)", sourceLocation: sourceLocation)
    }

    static let schemas: [CollectionName: String] = [.programs: "Program", .certificates: "Certificate",
                                                    .contracts: "Contract", .charges: "Charge"]

    /// Every documented field is present with its documented type in every
    /// rendered record, live, deleted, blocked, closed or created by a write,
    /// and nothing undocumented is sent.
    @Test func everyRenderedRecordMatchesTheContract() async throws {
        let region = try await Region.start(scale: 60, invalidRecords: 0)
        defer { Task { await region.gateway.stop() } }
        let lo = region.data
        lo.touch(.programs, count: 2)
        lo.delete(.certificates, count: 1)
        lo.delete(.contracts, count: 1)
        // A closed certificate and a contract made by a write.
        let (_, first) = try await region.call("GET", "/api/v1/certificates?per_page=1")
        guard case let .array(items)? = first["items"], case let .number(certificate)? = items.first?["id"],
              case let .number(program)? = try await region.call("GET", "/api/v1/programs?per_page=1").1["items"]?.firstItem?["id"] else {
            Issue.record("no certificate or program to write with")
            return
        }
        let version = try await region.version("certificates", certificate)
        #expect(try await region.call("PATCH", "/api/v1/certificates/\(certificate)", body: #"{"version":\#(version),"close":true}"#).0 == 200)
        let post = #"{"request_id":"\#(UUID().uuidString)","certificate_id":\#(certificate),"program_id":\#(program),"date_start":"01.11.2026","date_end":"31.05.2027","month_price":150000}"#
        #expect(try await region.call("POST", "/api/v1/contracts", body: post).0 == 200)

        var seen = Set<String>()
        for collection in CollectionName.allCases {
            let (status, page) = try await region.call("GET", "/api/v1/\(collection.rawValue)?per_page=500")
            #expect(status == 200)
            try Self.expectConforms(page, "Page")
            guard case let .array(records)? = page["items"] else { continue }
            #expect(records.count == lo.recordCount(collection), "\(collection)")
            for record in records {
                try Self.expectConforms(record, Self.schemas[collection]!)
                for (flag, value) in [("is_deleted", "1"), ("blocked", "1"), ("is_online", "1")] where record[flag] == .number(value) {
                    seen.insert("\(collection.rawValue).\(flag)")
                }
                if case .string? = record["closed_at"] { seen.insert("closed_at") }
                if record["snils"] == .null { seen.insert("snils null") }
            }
            let (_, one) = try await region.call("GET", "/api/v1/\(collection.rawValue)/\(records[0]["id"]!.serialized())")
            try Self.expectConforms(one, Self.schemas[collection]!)
            #expect(one == records[0])
        }
        // The check covered the record forms that matter.
        #expect(seen.isSuperset(of: ["certificates.is_deleted", "contracts.is_deleted", "certificates.blocked",
                                     "programs.is_online", "closed_at", "snils null"]), "\(seen)")
    }

    /// The check itself is not vacuous: it finds a missing field, a wrong
    /// type, an undocumented field, a wrong form and a wrong code.
    @Test func theContractCheckFindsWhatDiffers() throws {
        let c = try Self.contract.get()
        let good = #"{"id":600001,"contract_id":30001,"period":"10.2026","price":125050,"from_certificate":125050,"from_parent":0,"is_deleted":0,"updated_at":"2026-10-31 23:59:00","version":1}"#
        #expect(c.problems(try JSONParser.parse(good), schema: "Charge").isEmpty)
        let cases: [(String, String, String)] = [
            (#","from_parent":0"#, "", "$.from_parent: is missing"),
            (#""price":125050"#, #""price":"1250.50""#, "$.price: expected integer"),
            (#""version":1"#, #""version":1,"comment":"x""#, "$.comment: is not documented"),
            (#""period":"10.2026""#, #""period":"2026-10""#, "$.period: does not match"),
            (#""is_deleted":0"#, #""is_deleted":2"#, "$.is_deleted: 2 is not one of [0,1]"),
            (#""version":1"#, #""version":2"#, "$.version: expected 1, got 2"),
        ]
        for (from, to, problem) in cases {
            let problems = c.problems(try JSONParser.parse(good.replacingOccurrences(of: from, with: to)), schema: "Charge")
            #expect(problems.count == 1 && problems[0].hasPrefix(problem), "\(problems)")
        }
    }

    /// The quirk is real: a walk by page numbers, with records changing
    /// under it, misses records that never changed.
    @Test func aPageNumberWalkMissesRecordsWhenPagesShift() async throws {
        let region = try await Region.start(scale: 100, invalidRecords: 0)
        defer { Task { await region.gateway.stop() } }
        let lo = region.data
        let before = Set(try lo.expectedExport(.certificates).map { line -> String in
            guard case let .string(id)? = try JSONParser.parse(line)["source_id"] else { throw ValueError("no source_id") }
            return id
        })
        let reads = Mutex(0)
        let touched = Mutex<[String]>([])
        lo.onRead { collection in
            if collection == .certificates, reads.withLock({ $0 += 1; return $0 }) == 2 {
                touched.withLock { $0 += lo.touch(.certificates, count: 30) }
            }
        }
        var read = Set<String>()
        for page in 1... {
            let (status, answer) = try await region.call("GET", "/api/v1/certificates?page=\(page)&per_page=20")
            #expect(status == 200)
            guard case let .array(items)? = answer["items"], !items.isEmpty else { break }
            for item in items { if case let .number(id)? = item["id"] { read.insert(id) } }
        }
        let missed = before.subtracting(touched.withLock { $0 }).subtracting(read)
        #expect(!missed.isEmpty, "no unchanged record was missed")
    }

    @Test func updatedFromIsInclusiveAndParametersAreChecked() async throws {
        let region = try await Region.start(scale: 30)
        defer { Task { await region.gateway.stop() } }
        let (_, all) = try await region.call("GET", "/api/v1/contracts?per_page=500")
        guard case let .array(items)? = all["items"], items.count > 10, case let .string(time)? = items[5]["updated_at"],
              case let .number(total)? = all["total"] else {
            Issue.record("no contracts")
            return
        }
        // Moscow time, inclusive: the record stamped with that very second comes first.
        let encoded = time.replacingOccurrences(of: " ", with: "%20")
        let (_, from) = try await region.call("GET", "/api/v1/contracts?per_page=500&updated_from=\(encoded)")
        guard case let .array(later)? = from["items"] else { Issue.record("no items"); return }
        #expect(later.first?["updated_at"] == .string(time))
        #expect(later.allSatisfy { if case let .string(t)? = $0["updated_at"] { t >= time } else { false } })
        #expect(later.count < items.count)

        // The page past the end is a 200 with no items.
        let (status, past) = try await region.call("GET", "/api/v1/contracts?page=99&per_page=50")
        #expect(status == 200)
        #expect(past["items"] == .array([]) && past["total"] == .number(total) && past["page"] == .number("99"))
        try Self.expectConforms(past, "Page")

        for query in ["per_page=501", "per_page=0", "page=0", "updated_from=2026-09-01T13:00:00%2B03:00"] {
            let (status, answer) = try await region.call("GET", "/api/v1/contracts?\(query)")
            #expect(status == 400, "\(query)")
            try Self.expectConforms(answer, "BadRequest")
        }
        for key in ["", "wrong"] {
            let (status, answer) = try await region.call("GET", "/api/v1/programs", key: key)
            #expect(status == 403)
            try Self.expectConforms(answer, response: "Forbidden")
        }
        let (missing, notFound) = try await region.call("GET", "/api/v1/programs/999999")
        #expect(missing == 404)
        try Self.expectConforms(notFound, response: "NotFound")
    }

    @Test func writesCheckTheVersionInTheBodyAndPostsAreIdempotent() async throws {
        let region = try await Region.start(scale: 30)
        defer { Task { await region.gateway.stop() } }
        let lo = region.data
        let (_, programs) = try await region.call("GET", "/api/v1/programs?per_page=1")
        let (_, certificates) = try await region.call("GET", "/api/v1/certificates?per_page=1")
        guard case let .number(program)? = programs["items"]?.firstItem?["id"],
              case let .number(certificate)? = certificates["items"]?.firstItem?["id"] else {
            Issue.record("no records")
            return
        }
        let v = try await region.version("programs", program)

        // A stale version: 409 with the actual one, nothing written.
        var (status, answer) = try await region.call("PATCH", "/api/v1/programs/\(program)", body: #"{"version":\#(v + 3),"name":"Шахматы"}"#)
        #expect(status == 409)
        #expect(answer == .object([("error", .string("stale")), ("actual_version", .number(String(v)))]))
        try Self.expectConforms(answer, "Stale")
        #expect(lo.writesApplied == 0)

        // The current version: 200 with the whole stored record.
        (status, answer) = try await region.call("PATCH", "/api/v1/programs/\(program)",
                                                 body: #"{"version":\#(v),"name":"Шахматы","month_price":150000,"is_online":1}"#)
        #expect(status == 200)
        try Self.expectConforms(answer, "Program")
        #expect(answer["version"] == .number(String(v + 1)) && answer["name"] == .string("Шахматы"))
        #expect(answer["month_price"] == .number("150000") && answer["is_online"] == .number("1"))
        #expect(try await region.call("GET", "/api/v1/programs/\(program)").1 == answer)

        // A bad record: 400 with a message, nothing written.
        for body in [#"{"version":\#(v + 1),"month_price":"1500.00"}"#, #"{"version":\#(v + 1),"id":5}"#, #"{"name":"x"}"#] {
            (status, answer) = try await region.call("PATCH", "/api/v1/programs/\(program)", body: body)
            #expect(status == 400, "\(body)")
            try Self.expectConforms(answer, "BadRequest")
        }
        #expect(lo.writesApplied == 1)

        // Certificates: blocked, then closed; a closed one cannot be unblocked.
        let c = try await region.version("certificates", certificate)
        (status, answer) = try await region.call("PATCH", "/api/v1/certificates/\(certificate)", body: #"{"version":\#(c),"blocked":1}"#)
        #expect(status == 200 && answer["blocked"] == .number("1") && answer["closed_at"] == .null)
        (status, answer) = try await region.call("PATCH", "/api/v1/certificates/\(certificate)", body: #"{"version":\#(c + 1),"close":true}"#)
        #expect(status == 200)
        #expect(answer["closed_at"] == answer["updated_at"])
        try Self.expectConforms(answer, "Certificate")
        (status, _) = try await region.call("PATCH", "/api/v1/certificates/\(certificate)", body: #"{"version":\#(c + 2),"blocked":0}"#)
        #expect(status == 400)
        (status, _) = try await region.call("PATCH", "/api/v1/certificates/\(certificate)", body: #"{"version":\#(c),"blocked":0}"#)
        #expect(status == 409)

        // A POST repeated with its request_id answers the first contract and creates no other.
        let writes = lo.writesApplied
        let body = #"{"request_id":"5f0c1f7e-2a43-4c55-9d1e-3b7a8c0d9e21","certificate_id":\#(certificate),"program_id":\#(program),"date_start":"01.11.2026","date_end":"31.05.2027","month_price":150000,"status":1}"#
        let (firstStatus, created) = try await region.call("POST", "/api/v1/contracts", body: body)
        let (againStatus, again) = try await region.call("POST", "/api/v1/contracts", body: body)
        #expect(firstStatus == 200 && againStatus == 200)
        #expect(again == created)
        try Self.expectConforms(created, "Contract")
        #expect(created["certificate_id"] == .number(certificate) && created["status"] == .number("1"))
        #expect(lo.writesApplied == writes + 1)
        for bad in [#"{"certificate_id":\#(certificate)}"#,
                    #"{"request_id":"7c1d2e3f-0000-4000-8000-000000000001","certificate_id":1,"program_id":\#(program),"date_start":"01.11.2026","date_end":"31.05.2027","month_price":1}"#] {
            (status, answer) = try await region.call("POST", "/api/v1/contracts", body: bad)
            #expect(status == 400)
            try Self.expectConforms(answer, "BadRequest")
        }
        #expect(lo.writesApplied == writes + 1)
    }

    /// Over 10 requests a second the region answers 429 with Retry-After.
    @Test func moreThanTenRequestsASecondAreRefused() async throws {
        let region = try await Region.start(scale: 10)
        defer { Task { await region.gateway.stop() } }
        // A client without the gateway's pacing, asking as fast as it can.
        let http = try HTTPClient(configuration: HTTPClientConfiguration(tls: TLSOptions(caFile: region.gateway.simulator.caPath)))
        let request = HTTPRequest(url: region.baseURL + "/api/v1/programs?per_page=1", headers: [("X-Api-Key", region.key)])
        var responses: [HTTPResponse] = []
        // The first ten pass; one of the next, asked within the same second or so, is refused.
        while responses.count < 100, responses.last?.status != 429 {
            responses.append(try await http.execute(request))
        }
        let refused = try #require(responses.last)
        #expect(refused.status == 429)
        #expect(refused.header("retry-after") == "1")
        #expect(responses.prefix(10).allSatisfy { $0.status == 200 })
    }
}

extension JSONValue {
    /// The first element of an array.
    var firstItem: JSONValue? {
        if case let .array(items) = self { return items.first }
        return nil
    }
}
