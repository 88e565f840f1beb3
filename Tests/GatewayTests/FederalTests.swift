import DopsyncModel
import DopsyncStore
import DopsyncTesting
import Foundation
import Gateway
import Reporting
import Testing
import Transport

@Suite("Federal pulls: the coverage report and the programs feed")
struct FederalTests {
    @Test func coverageIsTheReportOfTheSameStore() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let token = try world.token(.federal)
        let report = try CoverageReport.compute(store: world.store, asOf: try LocalDate(iso: "2026-11-01"),
                                                regions: World.regions.map(\.code), link: world.served.environment.link)
        let json = try await world.client.get("/federal/v1/coverage?as_of=2026-11-01", token: token)
        #expect(json.status == 200)
        #expect(json.header("content-type")?.hasPrefix("application/json") == true)
        // What `dopsync report coverage` prints: the JSON and a newline.
        #expect(json.bodyText == report.json.serialized() + "\n")
        // The shared child counts once nationally: the figures are real, not empty.
        #expect(json.json?["national"]?["children_enrolled"]?.int == 3)
        #expect(json.json?["regions"]?.array.map { $0["region"]?.string } == ["47", "55"])

        let csv = try await world.client.get("/federal/v1/coverage?as_of=2026-11-01", token: token, accept: "text/csv")
        #expect(csv.status == 200)
        #expect(csv.header("content-type")?.hasPrefix("text/csv") == true)
        #expect(csv.bodyText == report.csv)
        let preferred = try await world.client.get("/federal/v1/coverage?as_of=2026-11-01", token: token,
                                                   accept: "application/json;q=0.5, text/csv")
        #expect(preferred.bodyText == report.csv)
        let xml = try await world.client.get("/federal/v1/coverage?as_of=2026-11-01", token: token, accept: "application/xml")
        #expect(xml.status == 406)
    }

    @Test func aMissingOrBadDateIs400NamingIt() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let token = try world.token(.federal)
        for query in ["", "?as_of=", "?as_of=2026-13-01", "?as_of=01.11.2026", "?asof=2026-11-01"] {
            let r = try await world.client.get("/federal/v1/coverage\(query)", token: token)
            #expect(r.status == 400, "\(query)")
            #expect(r.errorCode == "bad_request", "\(query)")
            #expect(r.json?["error"]?["message"]?.string?.hasPrefix("as_of:") == true, "\(query)")
        }
        for query in ["cursor=abc", "cursor=v1.-4", "cursor=v1..4", "limit=0", "limit=5001", "limit=ten", "updated_since=yesterday"] {
            let r = try await world.client.get("/federal/v1/programs?\(query)", token: token)
            #expect(r.status == 400, "\(query)")
            let name = query.split(separator: "=")[0]
            #expect(r.json?["error"]?["message"]?.string?.hasPrefix("\(name):") == true, "\(query)")
        }
    }

    /// Pages through the feed from `cursor`; returns the items and the cursor to resume from.
    func drain(_ client: GatewayClient, token: String, from cursor: String? = nil, limit: Int,
               onPage: (Int) throws -> Void = { _ in }) async throws -> (items: [JSONBody], cursor: String) {
        var cursor = cursor
        var items: [JSONBody] = []
        var page = 0
        while true {
            var path = "/federal/v1/programs?limit=\(limit)"
            if let cursor { path += "&cursor=\(cursor)" }
            let r = try await client.get(path, token: token)
            #expect(r.status == 200)
            let body = try #require(r.json)
            let got = body["items"]?.array ?? []
            #expect(got.count <= limit)
            items += got
            cursor = try #require(body["next_cursor"]?.string)
            try onPage(page)
            page += 1
            if body["has_more"]?.bool != true { break }
            #expect(got.count == limit)
        }
        return (items, cursor!)
    }

    func key(_ item: JSONBody) -> String { "\(item["region"]?.string ?? "?")/\(item["source_id"]?.string ?? "?")" }

    @Test func theProgramsFeedPagesThroughEverythingThenGivesOnlyChanges() async throws {
        let store = try Store.inMemory()
        _ = try store.apply(region: "55", collection: .programs,
                            items: (1...5).map { .upsert(World.program("55", String($0), .art), raw: "{}") }, position: nil)
        _ = try store.apply(region: "47", collection: .programs,
                            items: (1...2).map { .upsert(World.program("47", String($0), .sport), raw: "{}") }, position: nil)
        let world = try await World.start(store: store, seed: false)
        defer { Task { await world.stop() } }
        let token = try world.token(.federal)

        let all = try await drain(world.client, token: token, limit: 3)
        #expect(all.items.count == 7)
        #expect(Set(all.items.map(key)) == ["55/1", "55/2", "55/3", "55/4", "55/5", "47/1", "47/2"])
        // Each item is the program as exported.
        var exported: [String: String] = [:]
        try store.export(.programs) { line in
            let json = try JSONParser.parse(line)
            if case let .string(r)? = json["region"], case let .string(id)? = json["source_id"] { exported["\(r)/\(id)"] = line }
        }
        #expect(all.items.allSatisfy { $0["deleted"]?.bool == false && $0["title"]?.string == "Робототехника" })
        #expect(exported.count == 7)

        // A change, a deletion and a re-read of an unchanged record.
        _ = try store.apply(region: "55", collection: .programs, items: [
            .upsert(World.program("55", "2", .art, title: "Акварель", version: 2), raw: "{}"),
            .upsert(World.program("55", "3", .art), raw: "{}"),
        ], position: nil)
        _ = try store.apply(region: "47", collection: .programs, items: [
            .delete(sourceID: "1", updatedAt: try Timestamp(iso: "2026-10-01T00:00:00Z"), version: "2", raw: "{}"),
        ], position: nil)
        let changes = try await drain(world.client, token: token, from: all.cursor, limit: 3)
        #expect(changes.items.map(key) == ["55/2", "47/1"])
        #expect(changes.items[0]["title"]?.string == "Акварель")
        #expect(changes.items[1]["deleted"]?.bool == true)
        #expect(changes.items[1]["source_version"]?.string == "2")
        #expect(changes.items[1]["title"]?.string == "Робототехника")

        // Nothing new: an empty page and the same cursor.
        let none = try await drain(world.client, token: token, from: changes.cursor, limit: 3)
        #expect(none.items.isEmpty && none.cursor == changes.cursor)
    }

    /// A sole trader is a person: the feed keeps the program and the kind,
    /// not the trader's name, ИНН or ОГРНИП.
    @Test func theProgramsFeedLeavesOutASoleTradersNameAndNumbers() async throws {
        let store = try Store.inMemory()
        guard case var .program(sole) = World.program("55", "2", .art) else { return }
        sole.provider = Provider(inn: "550412345678", ogrn: "304550000123456", name: "ИП Соколова Анна Игоревна",
                                 kind: .individual)
        _ = try store.apply(region: "55", collection: .programs,
                            items: [.upsert(World.program("55", "1", .art), raw: "{}"), .upsert(.program(sole), raw: "{}")],
                            position: nil)
        let world = try await World.start(store: store, seed: false)
        defer { Task { await world.stop() } }
        let r = try await world.client.get("/federal/v1/programs", token: try world.token(.federal))
        #expect(r.status == 200)
        for secret in ["Соколова", "550412345678", "304550000123456"] { #expect(!r.bodyText.contains(secret), "\(secret)") }
        let items = try #require(r.json?["items"]?.array)
        #expect(items.count == 2)
        let provider = try #require(items.first { $0["source_id"]?.string == "2" }?["provider"])
        #expect(provider["kind"]?.string == "individual")
        for key in ["name", "inn", "ogrn"] { #expect(provider[key]?.value is NSNull, "\(key)") }
        #expect(r.bodyText.contains("ООО «Кванториум»"), "an organisation's name stays")
    }

    @Test func aProgramChangedWhilePagingComesAgainLater() async throws {
        let store = try Store.inMemory()
        _ = try store.apply(region: "55", collection: .programs,
                            items: (1...6).map { .upsert(World.program("55", String($0), .art), raw: "{}") }, position: nil)
        let world = try await World.start(store: store, seed: false)
        defer { Task { await world.stop() } }
        let token = try world.token(.federal)
        let seen = try await drain(world.client, token: token, limit: 2) { page in
            // After the first page, the first program changes.
            if page == 0 {
                _ = try store.apply(region: "55", collection: .programs,
                                    items: [.upsert(World.program("55", "1", .art, title: "Новое", version: 2), raw: "{}")],
                                    position: nil)
            }
        }
        #expect(seen.items.map(key) == ["55/1", "55/2", "55/3", "55/4", "55/5", "55/6", "55/1"])
        #expect(seen.items.last?["title"]?.string == "Новое")
    }

    @Test func aCursorOfAnotherStoreIs410() async throws {
        let first = try await World.start(), second = try await World.start()
        defer { Task { await first.stop(); await second.stop() } }
        let page = try await first.client.get("/federal/v1/programs?limit=2", token: try first.token(.federal))
        let cursor = try #require(page.json?["next_cursor"]?.string)
        let elsewhere = try await second.client.get("/federal/v1/programs?cursor=\(cursor)", token: try second.token(.federal))
        #expect(elsewhere.status == 410 && elsewhere.errorCode == "cursor_reset")
        #expect(try await first.client.get("/federal/v1/programs?cursor=\(cursor)", token: try first.token(.federal)).status == 200)
    }

    @Test func updatedSinceKeepsWhatChangedAtTheGatewaySinceThen() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let token = try world.token(.federal)
        let past = try await world.client.get("/federal/v1/programs?updated_since=2020-01-01", token: token)
        #expect(past.json?["items"]?.array.count == 4)
        let future = try await world.client.get("/federal/v1/programs?updated_since=2999-01-01T00:00:00Z", token: token)
        #expect(future.json?["items"]?.array.isEmpty == true)
    }

    @Test func noFederalAnswerCarriesPersonalData() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let token = try world.token(.federal)
        var answers: [HTTPResponse] = []
        for date in ["2026-09-01", "2026-11-01", "2027-06-01", "2026-10-31"] {
            answers.append(try await world.client.get("/federal/v1/coverage?as_of=\(date)", token: token))
            answers.append(try await world.client.get("/federal/v1/coverage?as_of=\(date)", token: token, accept: "text/csv"))
        }
        var cursor = ""
        repeat {
            let r = try await world.client.get("/federal/v1/programs?limit=1\(cursor)", token: token)
            answers.append(r)
            guard r.json?["has_more"]?.bool == true, let next = r.json?["next_cursor"]?.string else { break }
            cursor = "&cursor=\(next)"
        } while true
        answers.append(try await world.client.get("/federal/v1/programs?updated_since=2020-01-01", token: token))
        answers.append(try await world.client.get("/federal/v1/coverage?as_of=bad", token: token))
        answers.append(try await world.client.get("/federal/v1/programs?cursor=bad", token: token))
        answers.append(try await world.client.get("/federal/v1/coverage?as_of=2026-11-01"))
        #expect(answers.count > 12)

        let secrets = World.children.flatMap(\.secrets) + World.quarantinedSecrets
            + ["snils", "birth_date", "last_name", "first_name", "middle_name", "\"child\""]
        for answer in answers {
            let text = answer.bodyText + answer.headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
            for secret in secrets {
                #expect(!text.contains(secret), "a federal answer holds \(secret)")
            }
        }
        // The scan is not vacuous: the same secrets are in the store's certificates.
        var certificates = ""
        try world.store.export(.certificates) { certificates += $0 }
        for child in World.children { #expect(certificates.contains(child.born) && certificates.contains(child.last)) }
    }
}
