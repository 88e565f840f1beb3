import DopsyncModel
import DopsyncStore
import DopsyncTesting
import Foundation
import Gateway
import Testing
import Transport

extension World {
    /// Opens an `edit_conflict` on Omsk program 1: the gateway sets one
    /// title, then the region sends another. Returns the conflict's id.
    func openEditConflict(gatewayTitle: String = "Робототехника <b>для всех</b>",
                          regionTitle: String = "Робототехника & программирование") throws -> Int64 {
        _ = try store.edit(region: "55", collection: .programs, sourceID: "1", set: [("title", .string(gatewayTitle))],
                           operator: "ivanova", reason: "ticket 1")
        _ = try store.apply(region: "55", collection: .programs,
                            items: [.upsert(World.program("55", "1", .technical, title: regionTitle, version: 2), raw: "{}")],
                            position: nil)
        return try #require(try store.conflicts().first { $0.kind == editConflictKind }?.id)
    }

    /// Opens an `edit_conflict` on a certificate's status (its child must never show).
    func openCertificateConflict() throws -> Int64 {
        let child = World.children[0]
        _ = try store.edit(region: "55", collection: .certificates, sourceID: child.number,
                           set: [("status", .string("suspended"))], operator: "ivanova", reason: nil)
        let certificate = Record.certificate(Certificate(
            meta: SourceMeta(region: "55", sourceID: child.number, updatedAt: World.stamp, version: "2"),
            number: child.number, type: .financing,
            child: Child(sourceID: child.id, lastName: child.last, firstName: child.first, middleName: child.middle,
                         birthDate: try LocalDate(iso: child.born), snils: child.snils),
            nominal: Kopecks(2_400_000), balance: Kopecks(2_300_000), year: 2026, status: .closed,
            municipality: Municipality(oktmo: "52701000", name: nil), issuedAt: World.stamp))
        _ = try store.apply(region: "55", collection: .certificates, items: [.upsert(certificate, raw: "{}")], position: nil)
        return try #require(try store.conflicts().first { $0.kind == editConflictKind && $0.collection == .certificates }?.id)
    }
}

@Suite("The operator API writes as the commands do: resolve, edit, retry, audit")
struct OperatorWriteTests {
    static let writes: [(method: String, path: String, body: String?)] = [
        ("POST", "/operator/v1/conflicts/1/resolve", #"{"dismiss":true,"reason":"checked"}"#),
        ("POST", "/operator/v1/edits", #"{"collection":"programs","region":"omsk","source_id":"2","set":{"title":"Акварель"}}"#),
        ("POST", "/operator/v1/quarantine/1/retry", nil),
        ("GET", "/operator/v1/audit", nil),
        ("POST", "/operator/v1/console/tickets", nil),
    ]

    @Test(arguments: OperatorWriteTests.writes.indices)
    func eachRouteNeedsAnOperatorOrAdminToken(index: Int) async throws {
        let route = Self.writes[index]
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let none = try await world.client.request(route.method, route.path, body: route.body)
        #expect(none.status == 401 && none.errorCode == "unauthorized", "\(route.path)")
        let unknown = try await world.client.request(route.method, route.path, token: "dps_nope", body: route.body)
        #expect(unknown.status == 401 && unknown.errorCode == "invalid_token")
        let federal = try await world.client.request(route.method, route.path, token: try world.token(.federal), body: route.body)
        #expect(federal.status == 403 && federal.errorCode == "forbidden", "\(route.path)")
        for role in [APIRole.operator, .admin] {
            let r = try await world.client.request(route.method, route.path, token: try world.token(role), body: route.body)
            #expect((200..<300).contains(r.status) || (role == .admin && r.status == 409), "\(role) \(route.path): \(r.status) \(r.bodyText)")
        }
    }

    @Test func resolvingChangesTheStoreWritesAnAuditRowAndQueuesThePush() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let id = try world.openEditConflict()
        let token = try world.token(.operator, name: "petrova")
        let r = try await world.client.request("POST", "/operator/v1/conflicts/\(id)/resolve", token: token,
                                               body: #"{"take":"gateway","reason":"the provider confirmed"}"#)
        #expect(r.status == 200, "\(r.bodyText)")
        let entry = try #require(r.json?["outbox_entry"]?.int)
        #expect(try world.store.conflict(id: id)?.closedAt != nil)
        let audit = try #require(try world.store.auditLog().last)
        #expect(audit.action == "resolve" && audit.operatorName == "petrova" && audit.conflictID == id)
        #expect(audit.reason == "the provider confirmed")
        let queued = try #require(try world.store.outbox(region: "55").first { $0.id == Int64(entry) })
        #expect(queued.state == "pending" && queued.fields.contains("Робототехника <b>для всех</b>"))
        #expect(try world.store.pushQueue(region: "55").contains { $0.collection == .programs && $0.sourceID == "1" })
        // The same log through the API, newest last.
        let log = try await world.client.get("/operator/v1/audit", token: token)
        #expect(log.json?["items"]?.array.last?["operator"]?.string == "petrova")
        #expect(log.json?["items"]?.array.last?["conflict_id"]?.int == Int(id))

        // A closed conflict cannot be resolved again.
        let again = try await world.client.request("POST", "/operator/v1/conflicts/\(id)/resolve", token: token,
                                                   body: #"{"take":"region"}"#)
        #expect(again.status == 409 && again.errorCode == "conflict")
    }

    @Test func badResolutionsAreTypedErrorsNamingTheField() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let id = try world.openEditConflict()
        let token = try world.token(.operator)
        func post(_ conflict: Int64, _ body: String) async throws -> HTTPResponse {
            try await world.client.request("POST", "/operator/v1/conflicts/\(conflict)/resolve", token: token, body: body)
        }
        let cases: [(Int64, String, Int, String)] = [
            (id, "not json", 400, "body: "),
            (id, "{}", 400, "resolution: give exactly one"),
            (id, #"{"take":"region","dismiss":true,"reason":"x"}"#, 400, "resolution: "),
            (id, #"{"take":"both"}"#, 400, "take: "),
            (id, #"{"dismiss":true}"#, 400, "reason: "),
            (id, #"{"set":{"region":"77"}}"#, 400, "set.region: "),
            (id, #"{"set":{"price_month_kopecks":"12.50"}}"#, 400, "set.price_month_kopecks: "),
            (id, #"{"set":{"title":["x"]}}"#, 400, "set.title: "),
            (id, #"{"close":"moscow:1"}"#, 400, "close: "),
            (1, #"{"take":"region"}"#, 400, "take: "),
            (1, #"{"close":"omsk:5500000002"}"#, 400, "close: "),
            (99, #"{"take":"region"}"#, 404, "conflict 99 does not exist"),
        ]
        for (conflict, body, status, prefix) in cases {
            let r = try await post(conflict, body)
            #expect(r.status == status, "\(body): \(r.bodyText)")
            #expect(r.json?["error"]?["message"]?.string?.hasPrefix(prefix) == true, "\(body): \(r.bodyText)")
        }
        // Nothing changed.
        #expect(try world.store.conflict(id: id)?.closedAt == nil)
        #expect(try world.store.auditLog().filter { $0.action == "resolve" }.isEmpty)
    }

    @Test func editsChangeTheRecordAndQueueIt() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let token = try world.token(.operator, name: "sidorov")
        let r = try await world.client.request("POST", "/operator/v1/edits", token: token, body: """
            {"collection":"programs","region":"omsk","source_id":"2","set":{"title":"Акварель","price_month_kopecks":125050,"hours_total":null},"reason":"ticket 7"}
            """)
        #expect(r.status == 200, "\(r.bodyText)")
        #expect(r.json?["changed"]?.array.compactMap(\.string) == ["title", "price_month_kopecks", "hours_total"])
        #expect(r.json?["outbox_entry"]?.int != nil)
        guard case let .program(p)? = try world.store.record(region: "55", collection: .programs, sourceID: "2") else {
            Issue.record("program 2 is gone")
            return
        }
        #expect(p.title == "Акварель" && p.priceMonth == Kopecks(125_050) && p.hoursTotal == nil)
        let audit = try #require(try world.store.auditLog().last)
        #expect(audit.action == "edit" && audit.operatorName == "sidorov" && audit.reason == "ticket 7")

        let cases: [(String, Int, String)] = [
            (#"{"region":"omsk","source_id":"2","set":{"title":"x"}}"#, 400, "collection: "),
            (#"{"collection":"programs","region":"moscow","source_id":"2","set":{"title":"x"}}"#, 400, "region: "),
            (#"{"collection":"programs","region":"omsk","set":{"title":"x"}}"#, 400, "source_id: "),
            (#"{"collection":"programs","region":"omsk","source_id":"2","set":{}}"#, 400, "set: "),
            (#"{"collection":"certificates","region":"omsk","source_id":"5500000001","set":{"status":"lost"}}"#, 400, "set.status: "),
            (#"{"collection":"certificates","region":"omsk","source_id":"5500000001","set":{"child.last_name":"x"}}"#, 400, "set.child.last_name: "),
            (#"{"collection":"programs","region":"omsk","source_id":"2","set":{"age_min":"x"}}"#, 400, "set.age_min: "),
            (#"{"collection":"programs","region":"omsk","source_id":"404","set":{"title":"x"}}"#, 404, "55 programs 404: "),
        ]
        for (body, status, prefix) in cases {
            let e = try await world.client.request("POST", "/operator/v1/edits", token: token, body: body)
            #expect(e.status == status, "\(body): \(e.bodyText)")
            #expect(e.json?["error"]?["message"]?.string?.hasPrefix(prefix) == true, "\(body): \(e.bodyText)")
            for secret in World.children.flatMap(\.secrets) { #expect(!e.bodyText.contains(secret)) }
        }
    }

    @Test func retryDecodesAgainAndSaysWhyItIsStillQuarantined() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let token = try world.token(.operator)
        let id = try #require(try world.store.quarantined().first?.id)
        let r = try await world.client.request("POST", "/operator/v1/quarantine/\(id)/retry", token: token)
        #expect(r.status == 200, "\(r.bodyText)")
        #expect(r.json?["taken"]?.bool == false && r.json?["reason"]?.string?.isEmpty == false)
        for secret in World.quarantinedSecrets { #expect(!r.bodyText.contains(secret)) }
        #expect(try world.store.quarantined().count == 1)
        let missing = try await world.client.request("POST", "/operator/v1/quarantine/777/retry", token: token)
        #expect(missing.status == 404 && missing.errorCode == "not_found")
        let bad = try await world.client.request("POST", "/operator/v1/quarantine/x/retry", token: token)
        #expect(bad.status == 400 && bad.json?["error"]?["message"]?.string?.hasPrefix("id: ") == true)
    }
}
