public import DopsyncModel
internal import Foundation
internal import Synchronization

/// Krasnoyarsk krai's navigator admin API v3, as regions/krasnoyarsk.md
/// documents it: OAuth2 client credentials with five-minute tokens, one
/// change feed for every collection with `410` once compacted, offset
/// snapshots without ETags, `GET`/`PUT`/`PATCH` of single records with ETags,
/// and 5 requests a second.
///
/// Every change of the world (tests' `touch`/`add`/`delete`, writes) is
/// appended to the feed in commit order through `RegionData.onMutate`. A
/// snapshot lists live records in the world's order (by time of last change,
/// a change moving a record to the end), the least friendly order the page
/// allows for offset paging; `RegionData.willRead` runs before each snapshot
/// page is computed (a feed page belongs to no one collection: a page shift
/// drawn for it changes every collection, through `RegionData.willReadFeed`).
///
/// The expected export assumes the gateway read a record's state before it
/// was deleted: a record changed and then deleted between two syncs shows
/// its changed fields there, while the gateway (whose feed delete carries no
/// fields) keeps the ones it last read.
final class KrasnoyarskAPI: RegionAPI {
    static let name = "krasnoyarsk"
    static let code = "24"
    static let basePath = ""
    static let ids = IDScheme(
        program: { KrasnoyarskWire.uuid(1, $0) },
        certificateNumber: { "24" + String(format: "%08d", 30_000 + $0) },
        certificate: { index, _ in KrasnoyarskWire.uuid(2, index) },
        child: { KrasnoyarskWire.uuid(3, $0) },
        contract: { KrasnoyarskWire.uuid(4, $0) },
        charge: { KrasnoyarskWire.uuid(5, $0) },
        sortKey: { $0 })
    /// The documented limit, per client, measured over one second.
    static let requestsPerSecond = 5

    /// A deletion carries no fields, so a deleted record keeps the stamp it
    /// had; a record whose latest state was last served by a snapshot has no
    /// version (snapshots carry no ETags). Charges have none at all.
    static func expectedMeta(_ e: SimEntry) -> SourceMeta {
        var stamp = (updatedAt: e.updatedAt, version: e.version, servedBySnapshot: e.lastServedBySnapshot)
        if e.deleted, let previous = e.previous { stamp = previous }
        let versioned = e.record.collection != .charges && !stamp.servedBySnapshot
        return SourceMeta(region: code, sourceID: e.sourceID, updatedAt: stamp.updatedAt,
                          version: versioned ? String(stamp.version) : nil, deleted: e.deleted)
    }

    let data: RegionData
    /// Whether requests over the documented rate are refused (`SimulatorOptions.rateLimits`).
    let rateLimited: Bool
    /// `SimulatorOptions.snapshotPageCap`.
    let snapshotPageCap: Int?
    let tokens: TokenIssuer
    let secret: String
    let wire = KrasnoyarskWire()
    let log = ChangeLog()
    /// Arrival times of the last second's requests.
    private let window = Mutex<[ContinuousClock.Instant]>([])
    private let counters = Mutex<(refused: Int, tokens: Int)>((0, 0))
    /// Held from an `If-Match` check to the write it guards.
    private let writing = Mutex<Void>(())

    required init(data: RegionData, options: SimulatorOptions) {
        self.data = data
        rateLimited = options.rateLimits
        snapshotPageCap = options.snapshotPageCap
        secret = "krasnoyarsk-secret-\(options.seed)"
        tokens = TokenIssuer(clientID: "gateway", clientSecret: secret, lifetime: min(options.tokenLifetime, .seconds(300)))
        data.onRevoke { [tokens] in tokens.revokeAll() }
        let (wire, log) = (wire, log)
        // The generated world, fitted to this wire, is the feed's history.
        data.withState { w in
            var all: [(Int64, Int, String, CollectionName, Int)] = []
            for (rank, collection) in CollectionName.allCases.enumerated() {
                for i in w.collections[collection]!.entries.indices {
                    KrasnoyarskWire.adapt(&w.collections[collection]!.entries[i].record)
                    let e = w.collections[collection]!.entries[i]
                    wire.note(e)
                    all.append((e.updatedAt.seconds, rank, e.sortKey, collection, i))
                }
            }
            for (_, _, _, collection, i) in all.sorted(by: { ($0.0, $0.1, $0.2) < ($1.0, $1.1, $1.2) }) {
                let e = w.collections[collection]!.entries[i]
                log.append(collection, id: e.sourceID, version: e.version, doc: wire.render(e).serialized())
            }
        }
        data.onMutate { collection, entries in
            for i in entries.indices {
                KrasnoyarskWire.adapt(&entries[i].record)
                let e = entries[i]
                wire.note(e)
                log.append(collection, id: e.sourceID, version: e.version, doc: e.deleted ? nil : wire.render(e).serialized())
            }
        }
        KrasnoyarskRegistry.register(self, for: data)
    }

    func configuration(baseURL: String) -> (yaml: [String], files: [String: String]) {
        (["base_url: \(baseURL)", "client_id: gateway", "client_secret_file: ./krasnoyarsk.secret", "ca_file: ./ca.pem"],
         ["krasnoyarsk.secret": secret + "\n"])
    }

    func error(_ status: Int, _ code: String, headers: [(String, String)] = []) -> SimResponse {
        .json(status, #"{"error":"\#(code)"}"#, headers: headers)
    }

    /// Counts a request; `false` when it is over the limit within the last
    /// second (refused requests count too: the region measures arrivals).
    func admit() -> Bool {
        guard rateLimited else { return true }
        let now = ContinuousClock.now
        let admitted = window.withLock { times in
            times.removeAll { now - $0 >= .seconds(1) }
            times.append(now)
            return times.count <= Self.requestsPerSecond
        }
        if !admitted { counters.withLock { $0.refused += 1 } }
        return admitted
    }

    var refusedRequests: Int { counters.withLock { $0.refused } }
    var tokensIssued: Int { counters.withLock { $0.tokens } }

    func respond(to request: SimRequest) async -> SimResponse {
        guard admit() else { return error(429, "rate_limited", headers: [("Retry-After", "1")]) }
        let route = request.path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        guard route.first == "v3" else { return error(404, "not_found") }
        let rest = Array(route.dropFirst())
        if rest == ["oauth", "token"] {
            guard request.method == "POST" else { return error(405, "method_not_allowed") }
            guard let token = tokens.issue(form: formFields(request.body)) else { return error(401, "invalid_client") }
            counters.withLock { $0.tokens += 1 }
            return .json(200, #"{"access_token":"\#(token)","token_type":"Bearer","expires_in":\#(tokens.lifetimeSeconds)}"#)
        }
        guard tokens.isValid(authorization: request.header("authorization")) else { return error(401, "invalid_token") }
        if rest == ["changes"] {
            return request.method == "GET" ? changes(request) : error(405, "method_not_allowed")
        }
        guard (1...2).contains(rest.count), let collection = CollectionName(rawValue: rest[0]) else {
            return error(404, "not_found")
        }
        switch (request.method, rest.count) {
        case ("GET", 1): return snapshot(collection, request)
        case ("GET", 2): return one(collection, rest[1])
        // Writes go through the test hooks: races land before the If-Match
        // check, lost answers after the write is applied (and in the feed).
        case ("PUT", 2) where collection == .programs:
            return await data.write(.programs, rest[1]) { putProgram(rest[1], request) }
        case ("PATCH", 2) where collection == .certificates:
            return await data.write(.certificates, rest[1]) { patchCertificate(rest[1], request) }
        default: return error(405, "method_not_allowed")
        }
    }

    // MARK: Reading

    /// A query integer within `range`, or its default when absent; `nil`
    /// when invalid, or absent without a default.
    func integer(_ request: SimRequest, _ key: String, _ range: ClosedRange<Int64>, default value: Int64? = nil) -> Int64? {
        guard let text = request.query[key] else { return value }
        guard let v = Int64(text), range.contains(v) else { return nil }
        return v
    }

    func changes(_ request: SimRequest) -> SimResponse {
        guard let since = integer(request, "since", 0...Int64.max) else { return error(400, "invalid_since") }
        guard let limit = integer(request, "limit", 1...1000, default: 100) else { return error(400, "invalid_limit") }
        data.willReadFeed()
        switch log.read(since: since, limit: Int(limit)) {
        case let .compacted(oldest):
            return .json(410, #"{"error":"compacted","oldest_seq":\#(oldest)}"#)
        case let .page(page, lastSeq, pending):
            // The gateway now reads these states with their ETags.
            data.withState { w in
                for change in page where change.doc != nil {
                    data.noteShown(change.collection, change.id, version: change.version)
                    guard let i = w.collections[change.collection]!.index[change.id],
                          w.collections[change.collection]!.entries[i].version == change.version else { continue }
                    w.collections[change.collection]!.entries[i].lastServedBySnapshot = false
                }
            }
            var out = #"{"results":["#
            for (n, change) in page.enumerated() {
                if n > 0 { out += "," }
                out += #"{"seq":\#(change.seq),"collection":"\#(change.collection.rawValue)","id":"\#(change.id)","op":"#
                if let doc = change.doc {
                    out += #""upsert","etag":"\"\#(change.version)\"","doc":"# + doc + "}"
                } else {
                    out += #""delete"}"#
                }
            }
            out += #"],"last_seq":\#(lastSeq),"pending":\#(pending)}"#
            return .json(200, out)
        }
    }

    func snapshot(_ collection: CollectionName, _ request: SimRequest) -> SimResponse {
        guard let offset = integer(request, "offset", 0...Int64(Int32.max), default: 0) else { return error(400, "invalid_offset") }
        guard let asked = integer(request, "limit", 1...1000, default: 100) else { return error(400, "invalid_limit") }
        let limit = min(Int(asked), snapshotPageCap ?? Int(asked))
        data.willRead(collection)
        let (items, total, seq) = data.withState { w -> ([String], Int, Int64) in
            var picked: [Int] = []
            var total = 0
            var items: [String] = []
            do {
                let c = w.collections[collection]!
                for slot in c.order.indices where c.isLive(slot) {
                    let i = c.order[slot].entry
                    guard !c.entries[i].deleted else { continue }
                    if total >= Int(offset) && picked.count < limit { picked.append(i) }
                    total += 1
                }
                items = picked.map { wire.render(c.entries[$0]).serialized() }
                data.noteShown(collection, picked.map { c.entries[$0] })
            }
            for i in picked { w.collections[collection]!.entries[i].lastServedBySnapshot = true }
            // Read with the world locked: no change can fall between the page and its seq.
            return (items, total, log.head)
        }
        return .json(200, #"{"items":["# + items.joined(separator: ",") + #"],"total":\#(total),"snapshot_seq":\#(seq)}"#)
    }

    /// One live record with its ETag, as the gateway then holds it.
    func one(_ collection: CollectionName, _ id: String) -> SimResponse {
        let found = data.withState { w -> (String, Int)? in
            guard let i = w.collections[collection]!.index[id], !w.collections[collection]!.entries[i].deleted else { return nil }
            w.collections[collection]!.entries[i].lastServedBySnapshot = false
            let e = w.collections[collection]!.entries[i]
            return (wire.render(e).serialized(), e.version)
        }
        guard let (body, version) = found else { return error(404, "not_found") }
        return .json(200, body, headers: [("ETag", "\"\(version)\"")])
    }

    // MARK: Writing

    /// Whether `If-Match` names the current version (`*` names any).
    static func matches(_ ifMatch: String, version: Int) -> Bool {
        ifMatch.split(separator: ",").contains { tag in
            let t = tag.trimmingCharacters(in: .whitespaces)
            return t == "*" || t == "\"\(version)\""
        }
    }

    func validation(_ errors: [(field: String, message: String)]) -> SimResponse {
        let list = errors.map { JSONValue.object([("field", .string($0.field)), ("message", .string($0.message))]) }
        return .json(422, JSONValue.object([("errors", .array(list))]).serialized())
    }

    /// Runs a write guarded by `If-Match`: `404` for a record that is not
    /// live, `428` without the header, `412` when it is not current; else
    /// `change` gives the new record (or the validation errors), which is
    /// stored with the next version and answered with its ETag.
    func guardedWrite(_ collection: CollectionName, _ id: String, _ request: SimRequest,
                      _ change: (SimEntry) -> Result<Record, ValidationErrors>) -> SimResponse {
        writing.withLock { _ in
            guard let current = data.entry(collection, id), !current.deleted else { return error(404, "not_found") }
            guard let ifMatch = request.header("if-match") else { return error(428, "precondition_required") }
            guard Self.matches(ifMatch, version: current.version) else { return error(412, "precondition_failed") }
            switch change(current) {
            case let .failure(errors):
                return validation(errors.list)
            case let .success(record):
                guard let updated = data.applyWrite(collection, id, { $0.record = record }) else { return error(404, "not_found") }
                let body = data.withState { w -> String in
                    let i = w.collections[collection]!.index[id]!
                    w.collections[collection]!.entries[i].lastServedBySnapshot = false
                    return wire.render(w.collections[collection]!.entries[i]).serialized()
                }
                return .json(200, body, headers: [("ETag", "\"\(updated.version)\"")])
            }
        }
    }

    struct ValidationErrors: Error {
        var list: [(field: String, message: String)]
    }

    func body(_ request: SimRequest) -> JSONValue? {
        guard let v = try? JSONParser.parse(request.body), case .object = v else { return nil }
        return v
    }

    /// `PUT /v3/programs/{id}`: the whole record in wire form.
    func putProgram(_ id: String, _ request: SimRequest) -> SimResponse {
        guardedWrite(.programs, id, request) { current in
            guard let wireRecord = body(request) else { return .failure(ValidationErrors(list: [("body", "is not a JSON object")])) }
            guard case var .program(p) = current.record else { return .failure(ValidationErrors(list: [("id", "is not a program")])) }
            var check = ProgramCheck(wireRecord)
            if case let .string(sent)? = wireRecord["id"], sent != id { check.errors.append(("id", "does not match the path")) }
            let title = check.text("title")
            let provider = check.object("provider")
            let inn = provider.flatMap { check.digits($0, "provider.inn", [10, 12]) }
            let ogrn = provider.flatMap { check.digits($0, "provider.ogrn", [13, 15]) }
            let providerName = provider.flatMap { check.text($0, "provider.name") }
            let legalForm = provider.flatMap { check.code($0, "provider.legal_form", Set(KrasnoyarskWire.legalForms.keys)) }
            let directions = check.directions()
            let age = check.object("age")
            let ageMin = age.flatMap { check.int($0, "age.min") }, ageMax = age.flatMap { check.int($0, "age.max") }
            if let a = ageMin, let b = ageMax, a > b { check.errors.append(("age.max", "is less than age.min")) }
            let hours = check.int(wireRecord, "hours")
            let price = check.money("price_month")
            let registry = check.code(wireRecord, "registry", Set(Registry.allCases.map(\.rawValue))).flatMap(Registry.init(rawValue:))
            let municipality = check.object("municipality")
            let oktmo = municipality.flatMap { check.digits($0, "municipality.oktmo", [8]) }
            let online = check.bool("online")
            let status = check.code(wireRecord, "status", Set(ProgramStatus.allCases.map(\.rawValue))).flatMap(ProgramStatus.init(rawValue:))
            let startsOn = check.date("starts_on"), endsOn = check.date("ends_on")
            if let s = startsOn, let e = endsOn, s > e { check.errors.append(("ends_on", "is before starts_on")) }
            guard check.errors.isEmpty, let title, let inn, let ogrn, let providerName, let legalForm, let directions,
                  let ageMin, let ageMax, let hours, let price, let registry, let oktmo, let online, let status,
                  let startsOn, let endsOn else {
                return .failure(ValidationErrors(list: check.errors))
            }
            p.title = title
            p.provider = Provider(inn: inn, ogrn: ogrn, name: providerName, kind: KrasnoyarskWire.legalForms[legalForm]!)
            p.direction = directions.main
            p.ageMin = ageMin; p.ageMax = ageMax; p.hoursTotal = hours; p.priceMonth = price; p.registry = registry
            var name: String? = nil
            if case let .string(n)? = municipality?["name"] { name = n }
            p.municipality = Municipality(oktmo: oktmo, name: name)
            p.format = online ? .online : .offline
            p.status = status; p.startsOn = startsOn; p.endsOn = endsOn
            wire.setExtras(id, .init(legalForm: legalForm, directions: directions.codes))
            return .success(.program(p))
        }
    }

    /// `PATCH /v3/certificates/{id}`: `{"status":"…"}` only.
    func patchCertificate(_ id: String, _ request: SimRequest) -> SimResponse {
        guardedWrite(.certificates, id, request) { current in
            guard let wireRecord = body(request), case let .object(members) = wireRecord else {
                return .failure(ValidationErrors(list: [("body", "is not a JSON object")]))
            }
            var errors = members.filter { $0.0 != "status" }.map { (field: $0.0, message: "cannot be changed") }
            let statuses = Dictionary(uniqueKeysWithValues: KrasnoyarskWire.certificateStatuses.map { ($1, $0) })
            var status: CertificateStatus? = nil
            if case let .string(s)? = wireRecord["status"], let st = statuses[s] {
                status = st
            } else {
                errors.append(("status", "is required: one of active, paused, closed"))
            }
            guard errors.isEmpty, let status, case var .certificate(c) = current.record else {
                return .failure(ValidationErrors(list: errors))
            }
            c.status = status
            return .success(.certificate(c))
        }
    }
}

/// Checks of a program written with `PUT`, collecting every problem by field.
struct ProgramCheck {
    let record: JSONValue
    var errors: [(field: String, message: String)] = []

    init(_ record: JSONValue) { self.record = record }

    mutating func value(_ object: JSONValue, _ field: String) -> JSONValue? {
        let key = String(field.split(separator: ".").last!)
        guard let v = object[key], !v.isNull else {
            errors.append((field, "is required"))
            return nil
        }
        return v
    }

    mutating func text(_ field: String) -> String? { text(record, field) }

    mutating func text(_ object: JSONValue, _ field: String) -> String? {
        guard let v = value(object, field) else { return nil }
        guard case let .string(s) = v, !s.trimmingCharacters(in: .whitespaces).isEmpty else {
            errors.append((field, "must be a non-empty string"))
            return nil
        }
        return s
    }

    mutating func object(_ field: String) -> JSONValue? {
        guard let v = value(record, field) else { return nil }
        guard case .object = v else {
            errors.append((field, "must be an object"))
            return nil
        }
        return v
    }

    mutating func digits(_ object: JSONValue, _ field: String, _ lengths: Set<Int>) -> String? {
        guard let s = text(object, field) else { return nil }
        guard lengths.contains(s.utf8.count), s.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            errors.append((field, "must be \(lengths.sorted().map(String.init).joined(separator: " or ")) digits"))
            return nil
        }
        return s
    }

    mutating func code(_ object: JSONValue, _ field: String, _ allowed: Set<String>) -> String? {
        guard let s = text(object, field) else { return nil }
        guard allowed.contains(s) else {
            errors.append((field, "must be one of \(allowed.sorted().joined(separator: ", "))"))
            return nil
        }
        return s
    }

    mutating func int(_ object: JSONValue, _ field: String) -> Int? {
        guard let v = value(object, field) else { return nil }
        guard case let .number(n) = v, let i = Int(n), i >= 0 else {
            errors.append((field, "must be a whole number, not negative"))
            return nil
        }
        return i
    }

    mutating func bool(_ field: String) -> Bool? {
        guard let v = value(record, field) else { return nil }
        guard case let .bool(b) = v else {
            errors.append((field, "must be true or false"))
            return nil
        }
        return b
    }

    mutating func money(_ field: String) -> Kopecks? {
        guard let v = value(record, field) else { return nil }
        guard case let .number(n) = v, let k = try? Kopecks(roubles: n), k.value >= 0 else {
            errors.append((field, "must be a number of roubles with at most two decimals, not negative"))
            return nil
        }
        return k
    }

    mutating func date(_ field: String) -> LocalDate? {
        guard let s = text(field) else { return nil }
        guard let d = try? LocalDate(iso: s) else {
            errors.append((field, "must be a date YYYY-MM-DD"))
            return nil
        }
        return d
    }

    mutating func directions() -> (main: Direction, codes: [String])? {
        guard let v = value(record, "directions") else { return nil }
        let known = Dictionary(uniqueKeysWithValues: KrasnoyarskWire.directionCodes.map { ($1, $0) })
        guard case let .array(items) = v, !items.isEmpty else {
            errors.append(("directions", "must be a non-empty array"))
            return nil
        }
        var codes: [String] = []
        for item in items {
            guard case let .string(s) = item, known[s] != nil else {
                errors.append(("directions", "must list only \(known.keys.sorted().joined(separator: ", "))"))
                return nil
            }
            codes.append(s)
        }
        return (known[codes[0]]!, codes)
    }
}

/// The Krasnoyarsk APIs by the data they serve, so that a test holding a
/// region's `RegionData` can play the feed's compaction and read its counters.
enum KrasnoyarskRegistry {
    struct Weak {
        weak var api: KrasnoyarskAPI?
    }

    private static let apis = Mutex<[ObjectIdentifier: Weak]>([:])

    static func register(_ api: KrasnoyarskAPI, for data: RegionData) {
        apis.withLock { $0[ObjectIdentifier(data)] = Weak(api: api) }
    }

    static func api(_ data: RegionData) -> KrasnoyarskAPI {
        guard let api = apis.withLock({ $0[ObjectIdentifier(data)]?.api }) else {
            preconditionFailure("region \(data.code) is not a simulated Krasnoyarsk")
        }
        return api
    }
}

extension RegionData {
    /// Krasnoyarsk: drops every change now in the feed, as its 30-day
    /// retention does in time; a reader whose `since` is older than what is
    /// kept is answered `410 {"error":"compacted","oldest_seq":N}`.
    public func compactChangeLog() { KrasnoyarskRegistry.api(self).log.compact() }

    /// Krasnoyarsk: the feed's newest sequence number.
    public var changeLogHead: Int64 { KrasnoyarskRegistry.api(self).log.head }

    /// Krasnoyarsk: requests refused with `429` for going over 5 a second.
    public var rateLimitedRequests: Int { KrasnoyarskRegistry.api(self).refusedRequests }

    /// Krasnoyarsk: access tokens issued.
    public var tokensIssued: Int { KrasnoyarskRegistry.api(self).tokensIssued }

    /// Krasnoyarsk: a live record as `GET /v3/{collection}/{id}` renders it
    /// (with the wire fields the model drops: `legal_form`, every direction),
    /// or `nil` when there is none. Reading it here marks nothing as served.
    public func wireRecord(_ collection: CollectionName, _ id: String) -> JSONValue? {
        let api = KrasnoyarskRegistry.api(self)
        return withState { w -> JSONValue? in
            guard let i = w.collections[collection]!.index[id], !w.collections[collection]!.entries[i].deleted else { return nil }
            return api.wire.render(w.collections[collection]!.entries[i])
        }
    }
}
