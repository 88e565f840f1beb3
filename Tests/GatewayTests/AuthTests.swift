import DopsyncStore
import DopsyncTesting
import Foundation
import Gateway
import Simulator
import Testing
import Transport

@Suite("Bearer tokens decide who reaches which route")
struct AuthTests {
    static let federalRoutes = ["/federal/v1/coverage?as_of=2026-11-01", "/federal/v1/programs"]
    static let operatorRoutes = ["/operator/v1/conflicts", "/operator/v1/conflicts/1", "/operator/v1/quarantine",
                                 "/operator/v1/quarantine/1", "/operator/v1/status"]
    static let adminRoutes = ["/admin/v1/tokens"]

    @Test func withoutATokenEveryProtectedRouteIs401WithAChallenge() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        for path in Self.federalRoutes + Self.operatorRoutes + Self.adminRoutes {
            let r = try await world.client.get(path)
            #expect(r.status == 401, "\(path)")
            #expect(r.header("www-authenticate") == #"Bearer realm="dopsync""#, "\(path)")
            #expect(r.errorCode == "unauthorized", "\(path)")
        }
        let basic = try await world.client.request("GET", "/operator/v1/status", token: nil, accept: nil)
        #expect(basic.status == 401)
    }

    @Test func anUnknownTokenIs401InvalidToken() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let r = try await world.client.get("/federal/v1/programs", token: "dps_not-a-token")
        #expect(r.status == 401)
        #expect(r.header("www-authenticate")?.contains(#"error="invalid_token""#) == true)
        #expect(r.errorCode == "invalid_token")
        #expect(!r.bodyText.contains("dps_not-a-token"))
    }

    @Test func eachRoleReachesItsRoutesAndIsRefusedTheOthers() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let federal = try world.token(.federal), op = try world.token(.operator), admin = try world.token(.admin)
        func status(_ path: String, _ token: String) async throws -> Int { try await world.client.get(path, token: token).status }

        for path in Self.federalRoutes {
            #expect(try await status(path, federal) == 200, "\(path)")
            #expect(try await status(path, op) == 403, "\(path)")
            #expect(try await status(path, admin) == 200, "\(path)")
        }
        for path in Self.operatorRoutes {
            #expect(try await status(path, op) == 200, "\(path)")
            #expect(try await status(path, federal) == 403, "\(path)")
            #expect(try await status(path, admin) == 200, "\(path)")
        }
        for path in Self.adminRoutes {
            #expect(try await status(path, admin) == 200, "\(path)")
            #expect(try await status(path, federal) == 403, "\(path)")
            #expect(try await status(path, op) == 403, "\(path)")
        }
        let refused = try await world.client.get("/operator/v1/status", token: federal)
        #expect(refused.errorCode == "forbidden")
        #expect(refused.header("www-authenticate")?.contains("insufficient_scope") == true)
        #expect(refused.json?["error"]?["message"]?.string?.contains("federal") == true)
    }

    @Test func aRevokedTokenIsRefusedAtOnce() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let token = try world.token(.federal, name: "pull")
        #expect(try await world.client.get("/federal/v1/programs", token: token).status == 200)
        #expect(try world.store.revokeToken(name: "pull", by: "test"))
        let r = try await world.client.get("/federal/v1/programs", token: token)
        #expect(r.status == 401)
        #expect(r.errorCode == "invalid_token")
    }

    @Test func anAdminManagesTokensOverTheAPI() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let admin = try world.token(.admin, name: "root")
        let created = try await world.client.request("POST", "/admin/v1/tokens", token: admin,
                                                     body: #"{"name":"fed","role":"federal"}"#)
        #expect(created.status == 201)
        let token = try #require(created.json?["token"]?.string)
        #expect(created.json?["role"]?.string == "federal")
        #expect(try await world.client.get("/federal/v1/programs", token: token).status == 200)

        let again = try await world.client.request("POST", "/admin/v1/tokens", token: admin, body: #"{"name":"fed","role":"admin"}"#)
        #expect(again.status == 409)
        let bad = try await world.client.request("POST", "/admin/v1/tokens", token: admin, body: #"{"name":"fed","role":"root"}"#)
        #expect(bad.status == 400)
        #expect(bad.json?["error"]?["message"]?.string?.hasPrefix("role:") == true)

        let list = try await world.client.get("/admin/v1/tokens", token: admin)
        #expect(list.json?["items"]?.array.compactMap { $0["name"]?.string } == ["root", "fed"])
        #expect(!list.bodyText.contains(token) && !list.bodyText.contains(admin))

        #expect(try await world.client.request("DELETE", "/admin/v1/tokens/fed", token: admin).status == 204)
        #expect(try await world.client.request("DELETE", "/admin/v1/tokens/fed", token: admin).status == 404)
        #expect(try await world.client.get("/federal/v1/programs", token: token).status == 401)
    }

    @Test func httpsWithTheGivenCertificate() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dopsync-tls-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let files = try TestCertificates.writeServerFiles(into: dir)
        let store = try Store.inMemory()
        let served = try await ServedGateway.start(store: store, regions: World.regions,
                                                   tls: (files.certificate, files.key, files.ca))
        defer { Task { await served.stop() } }
        #expect(served.server.url.hasPrefix("https://127.0.0.1:"))
        let token = try #require(try store.createToken(name: "fed", role: .federal, by: "test")).token
        #expect(try await served.client.get("/federal/v1/programs", token: token).status == 200)
        // Over HTTPS the console's cookie is never sent in clear.
        let op = try #require(try store.createToken(name: "op", role: .operator, by: "test")).token
        let login = try await served.client.send("POST", "/console/login",
                                                 headers: [("Content-Type", "application/x-www-form-urlencoded")], body: "token=\(op)")
        #expect(login.status == 303 && login.header("set-cookie")?.hasSuffix("; Secure") == true)
        // A client that does not trust the CA does not get through.
        let untrusting = try GatewayClient(baseURL: served.server.url)
        await #expect(throws: TransportError.self) { _ = try await untrusting.get("/healthz") }
    }
}
