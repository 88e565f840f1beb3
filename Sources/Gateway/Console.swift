internal import DopsyncModel
internal import DopsyncStore
internal import Foundation
internal import Hummingbird
internal import HTTPTypes
internal import NIOCore
internal import SyncEngine

/// The operator console: server-rendered HTML pages, no script, no external
/// assets.
///
/// An operator logs in with an operator (or admin) token through a form
/// (`POST /console/login`) or a single-use ticket link
/// (`GET /console/login?ticket=…`, from `POST /operator/v1/console/tickets`);
/// the console then keeps an HttpOnly, SameSite=Strict cookie naming a
/// session held in memory (`ConsoleSessions`). Every request authenticates
/// the session's token against the store again, so a revoked token ends its
/// sessions at once. Every form that changes something carries the session's
/// CSRF token. Every value is HTML-escaped; conflict pages never show a
/// certificate's child (names, birth date, СНИЛС). Resolving a conflict calls
/// the same code as `dopsync conflicts resolve` and the operator API.
enum ConsoleRoutes {
    static let cookieName = "dopsync_console"

    static func register(on router: Router<GatewayRequestContext>, environment: GatewayEnvironment,
                         sessions: ConsoleSessions, secureCookies: Bool) {
        let secure = secureCookies ? "; Secure" : ""
        let store = environment.store

        router.get("console") { request, _ in
            guard let who = try await operatorOf(request, store: store, sessions: sessions) else {
                return page(loginPage(message: nil))
            }
            let kind = request.query("kind"), region = request.query("region")
            let (statuses, conflicts) = try await offload {
                (try store.status(regions: environment.regions.map(\.code)), try store.conflicts())
            }
            let shown = conflicts.filter { c in
                (kind == nil || c.kind == kind) && (region == nil || c.region == region || environment.name(ofCode: c.region) == region)
            }
            return page(overview(who: who, environment: environment, statuses: statuses, conflicts: shown,
                                 kind: kind, region: region))
        }
        router.get("console/login") { request, _ in
            guard let ticket = request.query("ticket") else { return page(loginPage(message: nil)) }
            guard let token = sessions.redeem(ticket: ticket),
                  let found = try await offload({ try store.authenticate(token: token) }),
                  found.role == .operator || found.role == .admin else {
                return page(loginPage(message: "That login link is unknown, used or expired."), status: .unauthorized)
            }
            return login(sessions.open(token: token), secure: secure)
        }
        router.post("console/login") { request, _ in
            let form = try await Form(request)
            let token = (form["token"] ?? "").trimmingSpaces
            guard !token.isEmpty, let found = try await offload({ try store.authenticate(token: token) }) else {
                return page(loginPage(message: "The token is not known or was revoked."), status: .unauthorized)
            }
            guard found.role == .operator || found.role == .admin else {
                return page(loginPage(message: "A \(found.role.rawValue) token cannot use the console; it needs an operator or admin token."),
                            status: .forbidden)
            }
            return login(sessions.open(token: token), secure: secure)
        }
        router.post("console/logout") { request, _ in
            let form = try await Form(request)
            if let id = sessionID(request), let session = sessions.session(id) {
                guard ConsoleSessions.same(form["csrf"] ?? "", session.csrf) else {
                    return page(errorPage("The form is out of date; reload the page and try again."), status: .forbidden)
                }
                sessions.close(id)
            }
            var headers = pageHeaders()
            headers[.location] = "/console"
            headers[.setCookie] = "\(cookieName)=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0\(secure)"
            return Response(status: .seeOther, headers: headers)
        }
        router.get("console/conflicts/:id") { request, context in
            guard let who = try await operatorOf(request, store: store, sessions: sessions) else { return toLogin() }
            let id = try context.id()
            return try await conflictPage(id: id, who: who, store: store, environment: environment, message: nil, status: .ok)
        }
        router.post("console/conflicts/:id/resolve") { request, context in
            let id = try context.id()
            let form = try await Form(request)
            guard let who = try await operatorOf(request, store: store, sessions: sessions) else { return toLogin() }
            guard ConsoleSessions.same(form["csrf"] ?? "", who.csrf) else {
                return page(errorPage("The form is out of date; reload the page and try again."), status: .forbidden)
            }
            let reason = form["reason"].map(trimmed).flatMap { $0.isEmpty ? nil : $0 }
            let action = form["action"] ?? ""
            let take: String? = action == "take_region" ? "region" : action == "take_gateway" ? "gateway" : nil
            do {
                let set = action == "set" ? try OperatorInput.pairs((form["set"] ?? "").split(whereSeparator: \.isNewline)
                    .map(String.init).filter { !trimmed($0).isEmpty }) : []
                let close = action == "close" ? (form["close"] ?? "") : nil
                let name = who.token.name
                _ = try await offload { () throws -> ResolutionOutcome in
                    guard let conflict = try store.conflict(id: id) else {
                        throw StoreError("conflict \(id) does not exist", kind: .notFound)
                    }
                    let resolution = try OperatorInput.resolution(
                        take: take, set: set, close: close, dismiss: action == "dismiss", reason: reason,
                        collection: conflict.collection)
                    return try store.resolveConflict(id: id, resolution, operator: name, reason: reason)
                }
            } catch let error as OperatorInputError {
                return try await conflictPage(id: id, who: who, store: store, environment: environment,
                                              message: error.description, status: .badRequest)
            } catch let error as StoreError where error.kind != .failure {
                let answer = GatewayError(storeError: error)
                return try await conflictPage(id: id, who: who, store: store, environment: environment,
                                              message: answer.message, status: answer.status)
            }
            var headers = pageHeaders()
            headers[.location] = "/console/conflicts/\(id)"
            return Response(status: .seeOther, headers: headers)
        }
        router.get("console/quarantine") { request, _ in
            guard let who = try await operatorOf(request, store: store, sessions: sessions) else { return toLogin() }
            let entries = try await offload { try store.quarantined() }
            return page(quarantinePage(who: who, environment: environment, entries: entries, message: request.query("retried")))
        }
        router.post("console/quarantine/:id/retry") { request, context in
            let id = try context.id()
            let form = try await Form(request)
            guard let who = try await operatorOf(request, store: store, sessions: sessions) else { return toLogin() }
            guard ConsoleSessions.same(form["csrf"] ?? "", who.csrf) else {
                return page(errorPage("The form is out of date; reload the page and try again."), status: .forbidden)
            }
            let outcome = try await offload { () throws -> OperatorInput.RetryOutcome? in
                guard let entry = try store.quarantined().first(where: { $0.id == id }) else { return nil }
                return try OperatorInput.retryQuarantined([entry], store: store).first
            }
            let note = outcome.map { $0.taken ? "\(id): taken" : "\(id): still quarantined" } ?? "\(id): not waiting in quarantine"
            var headers = pageHeaders()
            headers[.location] = "/console/quarantine?retried=" + (note.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
            return Response(status: .seeOther, headers: headers)
        }
    }

    // MARK: Sessions

    /// The logged-in operator of a request.
    struct Operator {
        let token: APIToken
        let csrf: String
    }

    static func sessionID(_ request: Request) -> String? {
        guard let header = request.headers[.cookie] else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces }
            if pair.count == 2, pair[0] == cookieName, !pair[1].isEmpty { return pair[1] }
        }
        return nil
    }

    /// The operator of the request's session, its token checked again now.
    static func operatorOf(_ request: Request, store: Store, sessions: ConsoleSessions) async throws -> Operator? {
        guard let id = sessionID(request), let session = sessions.session(id) else { return nil }
        let token = session.token
        guard let found = try await offload({ try store.authenticate(token: token) }),
              found.role == .operator || found.role == .admin else {
            sessions.close(id)
            return nil
        }
        return Operator(token: found, csrf: session.csrf)
    }

    static func login(_ session: String, secure: String) -> Response {
        var headers = pageHeaders()
        headers[.location] = "/console"
        // Scoped to the console; the operator API never reads it (it takes bearer tokens only).
        headers[.setCookie] = "\(cookieName)=\(session); Path=/console; HttpOnly; SameSite=Strict\(secure)"
        return Response(status: .seeOther, headers: headers)
    }

    static func toLogin() -> Response {
        var headers = pageHeaders()
        headers[.location] = "/console"
        return Response(status: .seeOther, headers: headers)
    }

    // MARK: Answers

    static func pageHeaders() -> HTTPFields {
        var headers = HTTPFields()
        headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; "
            + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        headers[.xContentTypeOptions] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        headers[.cacheControl] = "no-store"
        return headers
    }

    static func page(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = pageHeaders()
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    // MARK: Pages

    static let style = """
        body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #222; }
        table { border-collapse: collapse; margin: .5rem 0 1.5rem; }
        th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
        th { background: #f3f3f3; }
        tr.differs td { background: #fff8dc; } tr.conflicting td { background: #ffe4e1; font-weight: 600; }
        pre { background: #f7f7f7; padding: .75rem; white-space: pre-wrap; word-break: break-all; }
        nav form { display: inline; } .message { color: #a00; } .note { color: #060; }
        fieldset { margin: .5rem 0; } label { display: block; margin: .15rem 0; }
        """

    static func layout(_ title: String, who: Operator?, _ body: String) -> String {
        var nav = ""
        if let who {
            nav = """
                <nav><a href="/console">Conflicts and regions</a> · <a href="/console/quarantine">Quarantine</a> ·
                signed in as \(escape(who.token.name))
                <form method="post" action="/console/logout"><input type="hidden" name="csrf" value="\(escape(who.csrf))">
                <button type="submit">Log out</button></form></nav>
                """
        }
        return """
            <!doctype html>
            <html lang="ru">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title)) — dopsync console</title>
            <style>\(style)</style>
            </head>
            <body>
            <h1>dopsync — operator console</h1>
            \(nav)
            \(body)
            </body>
            </html>

            """
    }

    static func loginPage(message: String?) -> String {
        layout("Log in", who: nil, """
            <h2>Log in</h2>
            \(message.map { "<p class=\"message\">\(escape($0))</p>" } ?? "")
            <form method="post" action="/console/login">
            <label>Operator token <input name="token" type="password" autocomplete="off" size="50" required></label>
            <button type="submit">Log in</button>
            </form>
            <p>A token comes from <code>dopsync token create --role operator --name NAME</code>.</p>
            """)
    }

    static func errorPage(_ message: String) -> String {
        layout("Error", who: nil, "<p class=\"message\">\(escape(message))</p><p><a href=\"/console\">Back to the console</a></p>")
    }

    static func overview(who: Operator, environment: GatewayEnvironment, statuses: [RegionStatus], conflicts: [Conflict],
                         kind: String?, region: String?) -> String {
        var html = "<h2>Regions</h2>\n<table id=\"regions\"><tr><th>region</th><th>name</th><th>last pull</th><th>last push</th>"
            + "<th>outbox</th><th>open conflicts</th><th>quarantined</th><th>last error</th></tr>\n"
        for (s, r) in zip(statuses, environment.regions) {
            html += "<tr>" + [s.region, r.name, s.lastPullOKAt ?? "never", s.lastPushOKAt ?? "never", String(s.outboxPending),
                              String(s.openConflicts), String(s.quarantined), s.lastError ?? "—"].map(cell).joined() + "</tr>\n"
        }
        html += "</table>\n<h2>Open conflicts</h2>\n<form method=\"get\" action=\"/console\" id=\"filters\">"
        html += "<label>Kind <select name=\"kind\"><option value=\"\">all</option>"
        for k in MetricsPage.conflictKinds {
            html += "<option value=\"\(escape(k))\"\(k == kind ? " selected" : "")>\(escape(k))</option>"
        }
        html += "</select></label><label>Region <select name=\"region\"><option value=\"\">all</option>"
        for r in environment.regions {
            let chosen = region == r.code || region == r.name
            html += "<option value=\"\(escape(r.code))\"\(chosen ? " selected" : "")>\(escape(r.code)) \(escape(r.name))</option>"
        }
        html += "</select></label><button type=\"submit\">Filter</button></form>\n"
        html += "<table id=\"conflicts\"><tr><th>id</th><th>kind</th><th>region</th><th>collection</th><th>source id</th>"
            + "<th>opened</th><th>summary</th></tr>\n"
        for c in conflicts {
            html += "<tr class=\"conflict\"><td><a href=\"/console/conflicts/\(c.id)\">\(c.id)</a></td>"
                + [c.kind, c.region, c.collection.rawValue, c.sourceID, c.openedAt, c.summary].map(cell).joined() + "</tr>\n"
        }
        html += "</table>\n"
        if conflicts.isEmpty { html += "<p>No open conflicts\(kind != nil || region != nil ? " match the filters" : "").</p>\n" }
        return layout("Conflicts", who: who, html)
    }

    static func conflictPage(id: Int64, who: Operator, store: Store, environment: GatewayEnvironment, message: String?,
                             status: HTTPResponse.Status) async throws -> Response {
        let found = try await offload { () throws -> (Conflict, EditConflictView?)? in
            guard let c = try store.conflict(id: id) else { return nil }
            let view = c.kind == editConflictKind && c.closedAt == nil ? try? store.editConflictView(id: id) : nil
            return (c, view)
        }
        guard let (c, view) = found else {
            return page(layout("Not found", who: who, "<p class=\"message\">conflict \(id) does not exist</p>"), status: .notFound)
        }
        var html = "<h2>Conflict \(c.id): \(escape(c.kind))</h2>\n"
        if let message { html += "<p class=\"message\">\(escape(message))</p>\n" }
        html += "<table id=\"facts\">"
        html += "<tr><th>record</th>\(cell("\(environment.name(ofCode: c.region)) (\(c.region)) \(c.collection.rawValue) \(c.sourceID)"))</tr>"
        html += "<tr><th>opened</th>\(cell(c.openedAt))</tr><tr><th>summary</th>\(cell(c.summary))</tr>"
        if let closed = c.closedAt { html += "<tr><th>closed</th>\(cell("\(closed): \(c.closeReason ?? "")"))</tr>" }
        html += "</table>\n"
        if let view {
            html += sideBySide(view)
        } else if let detail = try? JSONParser.parse(c.detail), case let .object(members) = withoutChildData(detail), !members.isEmpty {
            html += "<h3>Facts</h3>\n<table id=\"detail\">"
            for (key, value) in members { html += "<tr><th>\(escape(key))</th>\(cell(text(value)))</tr>" }
            html += "</table>\n"
        }
        if c.closedAt == nil { html += resolveForm(c, who: who) }
        return page(layout("Conflict \(c.id)", who: who, html), status: status)
    }

    /// An edit conflict's three states, one field a row: conflicting fields
    /// (changed differently on both sides) marked `!`, other differing ones `*`.
    static func sideBySide(_ view: EditConflictView) -> String {
        let conflicting = Set(view.fields.map(\.path))
        let base = withoutChildData(view.base), region = withoutChildData(view.region), gateway = withoutChildData(view.gateway)
        var html = "<h3>Base, region and gateway side by side</h3>\n<table id=\"sides\"><tr><th></th><th>field</th><th>base</th>"
            + "<th>region</th><th>gateway</th></tr>\n"
        for path in region.leafPaths {
            let b = base.value(atPath: path), r = region.value(atPath: path), g = gateway.value(atPath: path)
            let mark = conflicting.contains(path) ? "!" : (b == r && r == g ? "" : "*")
            let rowClass = mark == "!" ? " class=\"conflicting\"" : mark == "*" ? " class=\"differs\"" : ""
            html += "<tr\(rowClass) data-field=\"\(escape(path))\">" + [mark, path, text(b), text(r), text(g)].map(cell).joined() + "</tr>\n"
        }
        html += "</table>\n<p>! changed differently at the gateway and in the region (kept as the region has it, not pushed); * differs</p>\n"
        return html
    }

    static func resolveForm(_ c: Conflict, who: Operator) -> String {
        var options = ""
        if c.kind == editConflictKind {
            options += "<label><input type=\"radio\" name=\"action\" value=\"take_region\"> Keep the region's values</label>"
            options += "<label><input type=\"radio\" name=\"action\" value=\"take_gateway\"> Send the gateway's values</label>"
            options += "<label><input type=\"radio\" name=\"action\" value=\"set\"> Set values (one FIELD=VALUE a line):</label>"
            options += "<textarea name=\"set\" rows=\"3\" cols=\"60\"></textarea>"
        }
        if c.kind == "duplicate_certificate", let detail = try? JSONParser.parse(c.detail), case let .array(items)? = detail["certificates"] {
            options += "<label><input type=\"radio\" name=\"action\" value=\"close\"> Close one certificate:</label>"
            for item in items {
                guard case let .string(r)? = item["region"], case let .string(s)? = item["source_id"] else { continue }
                options += "<label>&nbsp;&nbsp;<input type=\"radio\" name=\"close\" value=\"\(escape("\(r):\(s)"))\"> \(escape("\(r):\(s)"))</label>"
            }
        }
        options += "<label><input type=\"radio\" name=\"action\" value=\"dismiss\"> Dismiss (needs a reason; it is not raised again)</label>"
        return """
            <h3>Resolve</h3>
            <form method="post" action="/console/conflicts/\(c.id)/resolve" id="resolve">
            <input type="hidden" name="csrf" value="\(escape(who.csrf))">
            <fieldset>\(options)</fieldset>
            <label>Reason <input name="reason" size="60"></label>
            <button type="submit">Resolve</button>
            </form>
            """
    }

    static func quarantinePage(who: Operator, environment: GatewayEnvironment, entries: [QuarantineEntry], message: String?) -> String {
        var html = "<h2>Quarantine</h2>\n"
        if let message { html += "<p class=\"note\">\(escape(message))</p>\n" }
        if entries.isEmpty { html += "<p>Nothing waits in quarantine.</p>\n" }
        for e in entries {
            html += "<section class=\"quarantined\" id=\"q\(e.id)\"><h3>\(e.id): \(escape(environment.name(ofCode: e.region))) "
                + "\(escape(e.collection.rawValue)) \(escape(e.sourceID ?? "unknown id"))</h3>\n"
            html += "<p>\(escape(e.reason)) — first seen \(escape(e.firstSeenAt)), last seen \(escape(e.lastSeenAt))</p>\n"
            html += "<pre>\(escape(e.raw))</pre>\n"
            html += "<form method=\"post\" action=\"/console/quarantine/\(e.id)/retry\"><input type=\"hidden\" name=\"csrf\" "
                + "value=\"\(escape(who.csrf))\"><button type=\"submit\">Retry</button></form></section>\n"
        }
        return layout("Quarantine", who: who, html)
    }

    // MARK: Text

    static func cell(_ text: String) -> String { "<td>\(escape(text))</td>" }

    static func text(_ value: JSONValue?) -> String {
        switch value {
        case nil: "—"
        case let .string(s)?: s
        case let v?: v.serialized()
        }
    }

    /// Keys that hold a child's personal data, dropped wherever they appear
    /// (the store leaves them out already; the console makes sure).
    static let personalKeys: Set<String> = ["child", "last_name", "first_name", "middle_name", "birth_date", "snils"]

    static func withoutChildData(_ value: JSONValue) -> JSONValue {
        switch value {
        case let .object(members):
            .object(members.filter { !personalKeys.contains($0.0) }.map { ($0.0, withoutChildData($0.1)) })
        case let .array(items): .array(items.map(withoutChildData))
        default: value
        }
    }

    /// Text made safe for HTML content and attribute values.
    static func escape(_ text: String) -> String { text.markupEscaped }
}

/// An `application/x-www-form-urlencoded` body.
struct Form {
    let fields: [(String, String)]

    init(_ request: Request) async throws {
        let buffer = try await request.body.collect(upTo: 64 << 10)
        self.init(String(buffer: buffer))
    }

    init(_ text: String) {
        fields = text.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    /// The first value of `name`.
    subscript(name: String) -> String? { fields.first { $0.0 == name }?.1 }
}
