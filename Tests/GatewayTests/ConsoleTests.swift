import DopsyncModel
import DopsyncStore
import DopsyncTesting
import Foundation
import Gateway
import Testing
import Transport

/// A browser's side of the console: a cookie jar of one cookie and form posts.
struct ConsoleBrowser {
    let client: GatewayClient
    var cookie: String?

    func get(_ path: String) async throws -> HTTPResponse {
        try await client.send("GET", path, headers: cookie.map { [("Cookie", $0)] } ?? [])
    }

    func post(_ path: String, _ fields: [(String, String)]) async throws -> HTTPResponse {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let body = fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&")
        var headers = [("Content-Type", "application/x-www-form-urlencoded")]
        if let cookie { headers.append(("Cookie", cookie)) }
        return try await client.send("POST", path, headers: headers.map { (name: $0.0, value: $0.1) }, body: body)
    }

    /// Logs in through the form and keeps the session cookie.
    mutating func logIn(token: String) async throws -> HTTPResponse {
        let r = try await post("/console/login", [("token", token)])
        if let set = r.header("set-cookie") { cookie = String(set.split(separator: ";")[0]) }
        return r
    }

    /// The CSRF token of the forms of a page.
    static func csrf(_ page: String) -> String? {
        guard let range = page.range(of: #"name="csrf" value=""#) else { return nil }
        return String(page[range.upperBound...].prefix { $0 != "\"" })
    }
}

@Suite("The operator console: login, queue, side-by-side view and resolving by form")
struct ConsoleTests {
    @Test func loginSetsAStrictHttpOnlyCookieAndLogoutEndsTheSession() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        var browser = ConsoleBrowser(client: world.client)
        let login = try await browser.get("/console")
        #expect(login.status == 200 && login.header("content-type")?.hasPrefix("text/html") == true)
        #expect(login.bodyText.contains(#"<form method="post" action="/console/login">"#))
        #expect(login.header("content-security-policy")?.contains("default-src 'none'") == true)
        #expect(!login.bodyText.contains("<script"))
        for secret in World.children.flatMap(\.secrets) + World.quarantinedSecrets { #expect(!login.bodyText.contains(secret)) }
        // Pages need a session.
        #expect(try await browser.get("/console/conflicts/1").status == 303)
        #expect(try await browser.get("/console/quarantine").status == 303)

        #expect(try await browser.logIn(token: "dps_nope").status == 401)
        #expect(try await browser.logIn(token: try world.token(.federal)).status == 403)
        #expect(browser.cookie == nil)
        let ok = try await browser.logIn(token: try world.token(.operator, name: "kuznetsova"))
        #expect(ok.status == 303 && ok.header("location") == "/console")
        let set = try #require(ok.header("set-cookie"))
        #expect(set.hasPrefix("dopsync_console=") && set.contains("HttpOnly") && set.contains("SameSite=Strict")
                && set.contains("Path=/console"))

        let home = try await browser.get("/console")
        #expect(home.bodyText.contains("signed in as kuznetsova"))
        #expect(home.bodyText.contains(#"<table id="conflicts">"#) && home.bodyText.contains(#"<table id="regions">"#))
        let csrf = try #require(ConsoleBrowser.csrf(home.bodyText))

        // Logout needs the session's CSRF token.
        #expect(try await browser.post("/console/logout", [("csrf", "forged")]).status == 403)
        let out = try await browser.post("/console/logout", [("csrf", csrf)])
        #expect(out.status == 303 && out.header("set-cookie")?.contains("Max-Age=0") == true)
        #expect(try await browser.get("/console").bodyText.contains(#"action="/console/login""#))
    }

    @Test func aRevokedTokenEndsItsSessions() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        var browser = ConsoleBrowser(client: world.client)
        _ = try await browser.logIn(token: try world.token(.operator, name: "leaving"))
        #expect(try await browser.get("/console").bodyText.contains("signed in as leaving"))
        #expect(try world.store.revokeToken(name: "leaving", by: "test"))
        #expect(try await browser.get("/console").bodyText.contains(#"action="/console/login""#))
    }

    @Test func theQueueFiltersByKindAndRegionAndShowsStatus() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        var browser = ConsoleBrowser(client: world.client)
        _ = try await browser.logIn(token: try world.token(.operator))
        func rows(_ query: String) async throws -> Int {
            try await browser.get("/console" + query).bodyText.components(separatedBy: #"<tr class="conflict">"#).count - 1
        }
        #expect(try await rows("") == 2)
        #expect(try await rows("?kind=balance_mismatch") == 1)
        #expect(try await rows("?region=47") == 1)
        #expect(try await rows("?region=leningrad&kind=balance_mismatch") == 0)
        let home = try await browser.get("/console")
        #expect(home.bodyText.contains("<td>omsk</td>") && home.bodyText.contains("<td>leningrad</td>"))
        for secret in World.children.flatMap(\.secrets) { #expect(!home.bodyText.contains(secret)) }
    }

    @Test func aConflictSideBySideEscapedAndResolvedByForm() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let id = try world.openEditConflict(gatewayTitle: "<script>alert(1)</script>", regionTitle: "Роботы & \"ко\"")
        var browser = ConsoleBrowser(client: world.client)
        _ = try await browser.logIn(token: try world.token(.operator, name: "orlov"))
        let page = try await browser.get("/console/conflicts/\(id)")
        #expect(page.status == 200)
        let body = page.bodyText
        #expect(!body.contains("<script>") && body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(body.contains("Роботы &amp; &quot;ко&quot;"))
        // The title row is marked as changed differently on both sides; unchanged fields are not marked.
        #expect(body.contains(#"<tr class="conflicting" data-field="title"><td>!</td><td>title</td>"#))
        #expect(body.contains(#"<tr data-field="direction"><td></td>"#))
        let csrf = try #require(ConsoleBrowser.csrf(body))

        // A forged form changes nothing.
        let forged = try await browser.post("/console/conflicts/\(id)/resolve", [("csrf", "x"), ("action", "take_region")])
        #expect(forged.status == 403)
        // Without a session nothing happens either.
        let stranger = ConsoleBrowser(client: world.client)
        #expect(try await stranger.post("/console/conflicts/\(id)/resolve", [("csrf", csrf), ("action", "take_region")]).status == 303)
        // A form that does not fit says which field.
        let wrong = try await browser.post("/console/conflicts/\(id)/resolve", [("csrf", csrf), ("action", "dismiss")])
        #expect(wrong.status == 400 && wrong.bodyText.contains("reason: "))
        #expect(try world.store.conflict(id: id)?.closedAt == nil)

        let done = try await browser.post("/console/conflicts/\(id)/resolve",
                                          [("csrf", csrf), ("action", "set"), ("set", "title=Робототехника\r\nhours_total=72"),
                                           ("reason", "agreed by phone")])
        #expect(done.status == 303 && done.header("location") == "/console/conflicts/\(id)")
        #expect(try world.store.conflict(id: id)?.closedAt != nil)
        let audit = try #require(try world.store.auditLog().last)
        #expect(audit.action == "resolve" && audit.operatorName == "orlov" && audit.reason == "agreed by phone")
        #expect(try world.store.pushQueue(region: "55").contains { $0.sourceID == "1" })
        let closed = try await browser.get("/console/conflicts/\(id)")
        #expect(closed.bodyText.contains("resolved by orlov") && !closed.bodyText.contains(#"id="resolve""#))
        let again = try await browser.post("/console/conflicts/\(id)/resolve", [("csrf", csrf), ("action", "take_region")])
        #expect(again.status == 409)
    }

    @Test func conflictPagesNeverShowAChild() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let id = try world.openCertificateConflict()
        var browser = ConsoleBrowser(client: world.client)
        _ = try await browser.logIn(token: try world.token(.operator))
        for conflict in [id, 1] {
            let page = try await browser.get("/console/conflicts/\(conflict)")
            #expect(page.status == 200)
            for secret in World.children.flatMap(\.secrets) + ["snils", "birth_date", "last_name"] {
                #expect(!page.bodyText.contains(secret), "conflict \(conflict): \(secret)")
            }
        }
        #expect(try await browser.get("/console/conflicts/\(id)").bodyText.contains(#"data-field="status""#))
    }

    @Test func quarantineShowsTheRawTextEscapedAndRetries() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        var browser = ConsoleBrowser(client: world.client)
        _ = try await browser.logIn(token: try world.token(.operator))
        let page = try await browser.get("/console/quarantine")
        #expect(page.status == 200)
        #expect(page.bodyText.contains("snils: checksum fails"))
        #expect(page.bodyText.contains("&quot;fio&quot;:&quot;Сидорова Дарина Олеговна&quot;"))
        let csrf = try #require(ConsoleBrowser.csrf(page.bodyText))
        let id = try #require(try world.store.quarantined().first?.id)
        let retried = try await browser.post("/console/quarantine/\(id)/retry", [("csrf", csrf)])
        #expect(retried.status == 303)
        let after = try await browser.get(try #require(retried.header("location")))
        #expect(after.bodyText.contains("\(id): still quarantined"))
    }
}

/// `chromium` on PATH, if any (the Debian package installs it so).
let chromiumPath: String? = {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
        let candidate = "\(dir)/chromium"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}()

@Suite("The console in a real browser")
struct ConsoleBrowserTests {
    @Test(.enabled(if: chromiumPath != nil,
                   "chromium is not on PATH: install the Debian package chromium to run the console in a real headless browser"),
          .timeLimit(.minutes(2)))
    func headlessChromiumRendersTheConflictQueue() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        // A single-use login link: the browser follows it, gets the cookie and lands on the queue.
        let ticket = try await world.client.request("POST", "/operator/v1/console/tickets", token: try world.token(.operator, name: "browser"))
        let path = try #require(ticket.json?["path"]?.string)
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("dopsync-chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        let dom = try await run(try #require(chromiumPath), [
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
            "--user-data-dir=\(profile.path)", "--dump-dom", world.client.baseURL + path,
        ])
        #expect(dom.contains("signed in as browser"), "\(dom.prefix(2000))")
        #expect(dom.contains(#"<table id="conflicts">"#))
        #expect(dom.contains("balance 23000.00 ≠ nominal 24000.00 − charged 1000.00"))
        #expect(dom.contains("contract 2 names program 7, which the region does not have"))
        for secret in World.children.flatMap(\.secrets) { #expect(!dom.contains(secret)) }
        // The link was used up.
        let reuse = try await world.client.get(path)
        #expect(reuse.status == 401)
    }

    /// Runs a program and returns its standard output, reading it on a thread of its own.
    func run(_ executable: String, _ arguments: [String]) async throws -> String {
        let process = try ChildProcess(URL(fileURLWithPath: executable), arguments, standardOutput: .pipe)
        let out = process.standardOutput!
        return await withCheckedContinuation { continuation in
            Thread {
                let data = out.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: String(decoding: data, as: UTF8.self))
            }.start()
        }
    }
}
