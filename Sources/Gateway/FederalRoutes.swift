internal import DopsyncModel
internal import DopsyncStore
internal import Hummingbird
internal import Reporting

/// The federal API (`/federal/v1`): what federal pullers may read. Nothing
/// here carries personal data: the coverage report is counts only, and the
/// programs catalogue holds no child; a sole trader's name, ИНН and ОГРНИП
/// (a person's) are left out of it.
enum FederalRoutes {
    static func register(on group: RouterGroup<GatewayRequestContext>, environment: GatewayEnvironment) {
        group.get("coverage") { request, _ in
            try await FederalRoutes.coverage(request, environment)
        }
        group.get("programs") { request, _ in
            try await FederalRoutes.programs(request, environment)
        }
    }

    /// The coverage report on `as_of`: exactly what `dopsync report coverage`
    /// prints for the same store, as JSON or (with `Accept: text/csv`) CSV.
    static func coverage(_ request: Request, _ environment: GatewayEnvironment) async throws -> Response {
        guard let text = request.query("as_of") else {
            throw GatewayError.badParameter("as_of", "is required: the report's date, YYYY-MM-DD")
        }
        let asOf: LocalDate
        do { asOf = try LocalDate(iso: text) } catch {
            throw GatewayError.badParameter("as_of", "expected a date YYYY-MM-DD, got \"\(text.prefix(40))\"")
        }
        let format = try CoverageFormat(accept: request.headers[.accept])
        let report = try await offload {
            try CoverageReport.compute(store: environment.store, asOf: asOf, regions: environment.regions.map(\.code),
                                       link: environment.link)
        }
        switch format {
        case .json: return Answer.json(report.json)
        case .csv: return Answer.text(report.csv, contentType: "text/csv; charset=utf-8")
        }
    }

    /// The programs of every region in the order of their last change at the
    /// gateway, deletions included as tombstones (`"deleted":true`).
    ///
    /// A puller keeps `next_cursor` and asks again with it: it then gets the
    /// programs changed since, each once, in its latest state, never missing
    /// one that changed while it was paging (that one comes again later).
    static func programs(_ request: Request, _ environment: GatewayEnvironment) async throws -> Response {
        let text = request.query("cursor")
        let limit = try pageLimit(request.query("limit"))
        let since = try updatedSince(request.query("updated_since"))
        let (epoch, cursor, page) = try await offload {
            // A store keeps its epoch for life: reading it apart from the page is safe.
            let epoch = try environment.store.changeEpoch()
            let cursor = try FeedCursor(text, epoch: epoch)
            return (epoch, cursor, try environment.store.changes(.programs, after: cursor.sequence, changedSince: since,
                                                                  limit: limit))
        }
        let next = FeedCursor(epoch: epoch, sequence: page.items.last?.sequence ?? cursor.sequence)
        // The export lines are already JSON: joined, not parsed again
        // (but for a sole trader's program).
        var body = #"{"items":["#
        for (i, item) in page.items.enumerated() {
            if i > 0 { body += "," }
            body += try withoutSoleTrader(item.line)
        }
        body += #"],"next_cursor":"\#(next.text)","has_more":\#(page.hasMore)}"# + "\n"
        return Answer.text(body, contentType: Answer.jsonType)
    }

    /// A program's export line, with the provider's name, ИНН and ОГРНИП
    /// set to `null` when the provider is a sole trader (`individual`): they
    /// are a person's name and numbers. Kind, direction and the rest stay.
    static func withoutSoleTrader(_ line: String) throws -> String {
        guard line.contains(#""kind":"individual""#) else { return line }
        var json = try JSONParser.parse(line)
        guard json.value(atPath: "provider.kind") == .string(ProviderKind.individual.rawValue) else { return line }
        for field in ["provider.name", "provider.inn", "provider.ogrn"] {
            json = json.replacing(path: field, with: .null) ?? json
        }
        return json.serialized()
    }

    static let defaultLimit = 500
    static let maxLimit = 5000

    static func pageLimit(_ text: String?) throws(GatewayError) -> Int {
        guard let text else { return defaultLimit }
        guard let n = Int(text), (1...maxLimit).contains(n) else {
            throw GatewayError.badParameter("limit", "expected an integer from 1 to \(maxLimit)")
        }
        return n
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` (any offset) or a date, taken as its midnight UTC.
    static func updatedSince(_ text: String?) throws(GatewayError) -> Timestamp? {
        guard let text else { return nil }
        if let t = try? Timestamp(iso: text) { return t }
        if let d = try? LocalDate(iso: text) { return Timestamp(seconds: Int64(d.daysSinceEpoch) * 86400) }
        throw GatewayError.badParameter("updated_since",
                                        "expected a time such as 2026-09-01T00:00:00Z or a date YYYY-MM-DD, got \"\(text.prefix(40))\"")
    }
}

/// A position in a change feed, as the client sees it: opaque text
/// (`v1.`, the store's change epoch, `.`, the change sequence), so that its
/// form can change.
struct FeedCursor: Sendable {
    let epoch: String
    let sequence: Int64

    init(epoch: String, sequence: Int64) {
        self.epoch = epoch
        self.sequence = sequence
    }

    /// Reads a cursor the gateway gave; `nil` is the feed's beginning.
    ///
    /// - Throws: 400 for text the gateway never gave; 410 for a cursor of
    ///   another store (the gateway's store was built afresh), whose reader
    ///   must start again from the beginning.
    init(_ text: String?, epoch: String) throws(GatewayError) {
        self.epoch = epoch
        guard let text else { self.sequence = 0; return }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1", !parts[1].isEmpty, let n = Int64(parts[2]), n >= 0 else {
            throw GatewayError.badParameter("cursor", "not a cursor this gateway gave; start without one")
        }
        guard parts[1] == epoch else { throw GatewayError.cursorReset }
        sequence = n
    }

    var text: String { "v1.\(epoch).\(sequence)" }
}

/// What the coverage report is answered as.
enum CoverageFormat: Equatable {
    case json, csv

    /// Chooses by the `Accept` header: CSV when it prefers `text/csv`, JSON
    /// when it prefers JSON, allows anything or is absent; 406 when it allows
    /// neither. The most specific media range decides each type's weight.
    init(accept: String?) throws(GatewayError) {
        guard let accept, !accept.trimmingSpaces.isEmpty else { self = .json; return }
        var ranges: [(type: String, q: Double)] = []
        for item in accept.split(separator: ",") {
            let parts = item.split(separator: ";")
            guard let first = parts.first else { continue }
            var q = 1.0
            for parameter in parts.dropFirst() {
                let p = String(parameter).trimmingSpaces.lowercased()
                if p.hasPrefix("q="), let value = Double(p.dropFirst(2)) { q = value }
            }
            ranges.append((String(first).trimmingSpaces.lowercased(), q))
        }
        func weight(_ type: String) -> Double {
            let major = type.split(separator: "/").first.map(String.init) ?? type
            for candidate in [type, major + "/*", "*/*"] {
                if let r = ranges.first(where: { $0.type == candidate }) { return r.q }
            }
            return 0
        }
        let json = weight("application/json"), csv = weight("text/csv")
        guard json > 0 || csv > 0 else { throw GatewayError.notAcceptable(offered: ["application/json", "text/csv"]) }
        self = csv > json ? .csv : .json
    }
}
