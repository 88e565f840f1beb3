internal import Hummingbird
internal import HTTPTypes
internal import NIOCore

/// The operator console: one static page and its script, read-only for now.
///
/// The page holds no data and needs no token to load; its script asks for an
/// operator (or admin) token, keeps it in the tab's `sessionStorage` only, and
/// reads the operator API with it, so the console sees exactly what the API
/// lets that token see. Every value is put into the page as text, never as
/// markup, and the content security policy allows no inline script.
///
/// Extension point: resolving conflicts and editing records come with their
/// operator routes (see `OperatorRoutes`); the console then gains forms that
/// call them.
enum ConsoleRoutes {
    static func register(on router: Router<GatewayRequestContext>) {
        router.get("console") { _, _ in
            answer(page, contentType: "text/html; charset=utf-8")
        }
        router.get("console/app.js") { _, _ in
            answer(script, contentType: "text/javascript; charset=utf-8")
        }
    }

    static func answer(_ text: String, contentType: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.contentSecurityPolicy] = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            + "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        headers[.xContentTypeOptions] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static let page = """
        <!doctype html>
        <html lang="ru">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>dopsync — operator console</title>
        <style>
          body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #222; }
          table { border-collapse: collapse; margin: .5rem 0 1.5rem; }
          th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
          th { background: #f3f3f3; }
          tr.pick { cursor: pointer; } tr.pick:hover { background: #eef5ff; }
          pre { background: #f7f7f7; padding: .75rem; white-space: pre-wrap; word-break: break-all; }
          #message { color: #a00; }
        </style>
        </head>
        <body>
        <h1>dopsync — operator console</h1>
        <p>
          <label>Operator token <input id="token" type="password" autocomplete="off" size="50"></label>
          <button id="use">Use</button> <button id="refresh">Refresh</button> <button id="forget">Forget token</button>
          <span id="message"></span>
        </p>
        <h2>Regions</h2>
        <table id="status"></table>
        <h2>Open conflicts</h2>
        <table id="conflicts"></table>
        <h2>Quarantine</h2>
        <table id="quarantine"></table>
        <h2>Detail</h2>
        <pre id="detail">Choose a conflict or a quarantined record.</pre>
        <script src="/console/app.js"></script>
        </body>
        </html>

        """

    static let script = #"""
        "use strict";
        // The token stays in this tab only (sessionStorage), never in a URL or a cookie.
        const $ = (id) => document.getElementById(id);
        const token = () => sessionStorage.getItem("dopsync-token") || "";

        async function api(path) {
          const response = await fetch(path, { headers: { "Authorization": "Bearer " + token() } });
          const body = await response.json();
          if (!response.ok) throw new Error(body.error ? body.error.message : "HTTP " + response.status);
          return body;
        }

        // Cells are always text: nothing from the data is ever read as markup.
        function table(element, headings, rows, onPick) {
          element.replaceChildren();
          const head = element.insertRow();
          for (const h of headings) { const th = document.createElement("th"); th.textContent = h; head.appendChild(th); }
          for (const row of rows) {
            const tr = element.insertRow();
            for (const value of row.cells) { tr.insertCell().textContent = value === null ? "—" : String(value); }
            if (onPick) { tr.className = "pick"; tr.addEventListener("click", () => onPick(row.item)); }
          }
        }

        async function show(path) {
          try { $("detail").textContent = JSON.stringify(await api(path), null, 2); }
          catch (e) { $("detail").textContent = e.message; }
        }

        async function refresh() {
          $("message").textContent = "";
          if (!token()) { $("message").textContent = "Enter an operator token."; return; }
          try {
            const [status, conflicts, quarantine] = await Promise.all([
              api("/operator/v1/status"), api("/operator/v1/conflicts"), api("/operator/v1/quarantine")]);
            table($("status"), ["region", "name", "last pull", "last push", "conflicts", "quarantined", "outbox", "last error"],
              status.regions.map((r) => ({ cells: [r.region, r.name, r.last_pull_ok_at, r.last_push_ok_at,
                r.open_conflicts, r.quarantined, r.outbox_pending, r.last_error] })));
            table($("conflicts"), ["id", "kind", "region", "collection", "source id", "opened", "summary"],
              conflicts.items.map((c) => ({ item: c, cells: [c.id, c.kind, c.region, c.collection, c.source_id,
                c.opened_at, c.summary] })), (c) => show("/operator/v1/conflicts/" + encodeURIComponent(c.id)));
            table($("quarantine"), ["id", "region", "collection", "source id", "reason", "last seen"],
              quarantine.items.map((q) => ({ item: q, cells: [q.id, q.region, q.collection, q.source_id, q.reason,
                q.last_seen_at] })), (q) => show("/operator/v1/quarantine/" + encodeURIComponent(q.id)));
          } catch (e) {
            $("message").textContent = e.message;
          }
        }

        $("use").addEventListener("click", () => {
          sessionStorage.setItem("dopsync-token", $("token").value.trim());
          $("token").value = "";
          refresh();
        });
        $("refresh").addEventListener("click", refresh);
        $("forget").addEventListener("click", () => { sessionStorage.removeItem("dopsync-token"); location.reload(); });
        refresh();

        """#
}
