internal import DopsyncModel
internal import Foundation
internal import Synchronization

/// Leningrad oblast's Navigator API v1, as regions/leningrad.md documents it.
///
/// Pages are numbered and computed afresh on each request from the records
/// with `updated_at >= updated_from`, in (`updated_at`, `id`) order, so a
/// record that changes while a client walks moves to the end and the records
/// behind it shift back by one. Times are Moscow local time without an offset,
/// money is whole kopecks, deleted records stay in the feed with
/// `"is_deleted": 1` and all their fields. Writes carry the version in the
/// body; a `POST` is idempotent by its `request_id`.
final class LeningradAPI: RegionAPI {
    static let name = "leningrad"
    static let code = "47"
    static let basePath = ""
    /// Moscow time, UTC+03:00, all year.
    static let offset = 3 * 3600
    static let maxPerPage = 500
    static let requestsPerSecond = 10
    static let ids = IDScheme(
        program: { String(1000 + $0) },
        certificateNumber: { "47" + String(format: "%08d", 20_000 + $0) },
        // Certificates are named by an internal id, not by their number.
        certificate: { index, _ in String(70_000 + index) },
        child: { String(470_000 + $0) },
        contract: { String(30_000 + $0) },
        charge: { String(600_000 + $0) },
        sortKey: IDScheme.numericKey)

    let data: RegionData
    /// Whether requests over the documented rate are refused (`SimulatorOptions.rateLimits`).
    let rateLimited: Bool
    let apiKey: String
    let pageSize: Int?
    /// When each certificate closed through a write was closed.
    let closedAt = Mutex<[String: Timestamp]>([:])
    /// `request_id` of each contract created by a `POST` → its id.
    let requests = Mutex<[String: String]>([:])
    /// The documented 10 requests a second, as a token bucket.
    let bucket = Mutex<(tokens: Double, last: ContinuousClock.Instant)>((Double(LeningradAPI.requestsPerSecond), .now))

    required init(data: RegionData, options: SimulatorOptions) {
        self.data = data
        rateLimited = options.rateLimits
        apiKey = "lo-api-key-\(options.seed)"
        pageSize = options.clientPageSize
    }

    func configuration(baseURL: String) -> (yaml: [String], files: [String: String]) {
        var yaml = ["base_url: \(baseURL)", "api_key_file: ./leningrad.key", "ca_file: ./ca.pem"]
        if let pageSize { yaml.append("per_page: \(pageSize)") }
        return (yaml, ["leningrad.key": apiKey + "\n"])
    }

    /// The export the gateway must show: Leningrad sends no description and
    /// no municipality name, and `is_online` tells only online or offline.
    static func expectedRecord(_ entry: SimEntry) -> Record {
        var record = entry.record
        record.meta = expectedMeta(entry)
        switch record {
        case var .program(p):
            p.description = ""
            p.municipality.name = nil
            if p.format != .online { p.format = .offline }
            record = .program(p)
        case var .certificate(c):
            c.municipality.name = nil
            record = .certificate(c)
        case .contract, .charge:
            break
        }
        return record
    }

    func respond(to request: SimRequest) async -> SimResponse {
        guard request.header("x-api-key") == apiKey else { return error(403, "forbidden") }
        guard admit() else {
            return .json(429, #"{"error":"too_many_requests"}"#, headers: [("Retry-After", "1")])
        }
        let route = request.path.split(separator: "/").map(String.init)
        guard route.count >= 3, route.count <= 4, route[0] == "api", route[1] == "v1",
              let collection = CollectionName(rawValue: route[2]) else {
            return error(404, "not_found")
        }
        switch (request.method, route.count) {
        case ("GET", 3): return list(collection, request)
        case ("GET", 4): return record(collection, route[3])
        // Writes go through the write hooks, so tests can race them and lose their answers.
        case ("PATCH", 4) where collection == .programs:
            return await data.write(.programs, route[3]) { patchProgram(route[3], request) }
        case ("PATCH", 4) where collection == .certificates:
            return await data.write(.certificates, route[3]) { patchCertificate(route[3], request) }
        case ("POST", 3) where collection == .contracts: return postContract(request)
        default: return error(405, "method_not_allowed")
        }
    }

    /// Takes a token from the bucket: at most 10 requests a second, no burst above that.
    func admit() -> Bool {
        guard rateLimited else { return true }
        return bucket.withLock { b in
            let now = ContinuousClock.now
            let rate = Double(Self.requestsPerSecond)
            b.tokens = min(rate, b.tokens + (now - b.last) / .seconds(1) * rate)
            b.last = now
            guard b.tokens >= 1 else { return false }
            b.tokens -= 1
            return true
        }
    }

    func error(_ status: Int, _ code: String) -> SimResponse { .json(status, #"{"error":"\#(code)"}"#) }

    func badRequest(_ message: String) -> SimResponse {
        .json(400, JSONValue.object([("error", .string("bad_request")), ("message", .string(message))]).serialized())
    }

    // MARK: Reading

    func list(_ collection: CollectionName, _ request: SimRequest) -> SimResponse {
        var page = 1, perPage = 50
        if let text = request.query["page"] {
            guard let p = Int(text), p >= 1 else { return badRequest("page must be a whole number from 1") }
            page = p
        }
        if let text = request.query["per_page"] {
            guard let n = Int(text), (1...Self.maxPerPage).contains(n) else {
                return badRequest("per_page must be a whole number from 1 to \(Self.maxPerPage)")
            }
            perPage = n
        }
        var since: Int64? = nil
        if let text = request.query["updated_from"] {
            guard let t = try? Timestamp(localISO: text, offsetSeconds: Self.offset) else {
                return badRequest("updated_from must be YYYY-MM-DD HH:MM:SS")
            }
            since = t.seconds
        }
        data.willRead(collection)
        // The page is computed now, by its number: what changed since the
        // previous page has moved to the end, and the rest has shifted.
        let (skip, overflow) = (page - 1).multipliedReportingOverflow(by: perPage)
        let walk = data.walk(collection, since: since, after: nil, skip: overflow ? Int.max : skip, limit: perPage)
        let items = walk.entries
        data.noteShown(collection, items)
        var out = #"{"items":["#
        for (i, e) in items.enumerated() {
            if i > 0 { out += "," }
            render(e).write(into: &out)
        }
        let pages = (walk.total + perPage - 1) / perPage
        out += #"],"page":\#(page),"per_page":\#(perPage),"pages":\#(pages),"total":\#(walk.total)}"#
        return .json(200, out)
    }

    func record(_ collection: CollectionName, _ id: String) -> SimResponse {
        guard let e = data.entry(collection, id) else { return error(404, "not_found") }
        return .json(200, render(e).serialized())
    }

    // MARK: Wire form

    static let orgTypes: [ProviderKind: Int] = [.state: 1, .municipal: 2, .private: 3, .individual: 4]
    static let focuses: [Direction: Int] = [.technical: 1, .natural_science: 2, .sport: 3, .art: 4, .tourism: 5, .social: 6]
    static let registers: [Registry: String] = [.certified: "ПФ", .significant: "ЗН", .municipal: "МУН", .paid: "ПЛ"]
    static let states: [ProgramStatus: String] = [.draft: "new", .published: "active", .archived: "closed"]
    static let kinds: [CertificateType: String] = [.financing: "ПФ", .accounting: "УЧ"]
    static let contractStatuses: [ContractStatus: Int] = [.application: 0, .active: 1, .terminated: 2, .completed: 3]

    static func time(_ t: Timestamp) -> JSONValue { .string(t.localISO(offsetSeconds: offset)) }
    static func kopecks(_ k: Kopecks) -> JSONValue { .number(String(k.value)) }
    static func date(_ d: LocalDate?) -> JSONValue { .string(d?.dotted) }
    static func flag(_ b: Bool) -> JSONValue { .number(b ? "1" : "0") }

    /// The internal id of the certificate with `number`: the id scheme's
    /// inverse when it fits, else a search.
    func certificateID(number: String?) -> String? {
        guard let number else { return nil }
        if number.count == 10, let n = Int(number.dropFirst(2)) {
            let candidate = String(70_000 + n - 20_000)
            if case let .certificate(c)? = data.entry(.certificates, candidate)?.record, c.number == number { return candidate }
        }
        return data.withState { w in
            w.collections[.certificates]!.entries.first {
                if case let .certificate(c) = $0.record { return c.number == number }
                return false
            }?.sourceID
        }
    }

    /// When a closed certificate was closed: the time of the write that
    /// closed it, or (generated closed) a day after it was issued.
    func closingTime(_ e: SimEntry, _ c: Certificate) -> Timestamp {
        if let t = closedAt.withLock({ $0[e.sourceID] }) { return t }
        return Timestamp(seconds: (c.issuedAt ?? e.updatedAt).seconds + 86400)
    }

    /// The wire form of an entry, with its defect, if any, written in the
    /// region's own way; deleted records keep all their fields.
    func render(_ e: SimEntry) -> JSONValue {
        let stamp: [(String, JSONValue)] = [("is_deleted", Self.flag(e.deleted)), ("updated_at", Self.time(e.updatedAt)),
                                            ("version", .int(e.version))]
        switch e.record {
        case let .program(p):
            // A defect of three decimals of a rouble is a fraction of a kopeck here.
            let price: JSONValue = e.defect == .threeDecimals ? .number("\(p.priceMonth.value).5") : Self.kopecks(p.priceMonth)
            return .object([
                ("id", .number(p.meta.sourceID)), ("name", .string(p.title)),
                ("org_inn", .string(p.provider.inn)), ("org_ogrn", .string(p.provider.ogrn)),
                ("org_name", .string(p.provider.name)), ("org_type", .int(Self.orgTypes[p.provider.kind]!)),
                ("focus", .int(Self.focuses[p.direction]!)), ("age_min", .int(p.ageMin)), ("age_max", .int(p.ageMax)),
                ("hours", .int(p.hoursTotal)), ("month_price", price), ("register", .string(Self.registers[p.registry]!)),
                ("oktmo", .string(p.municipality.oktmo)), ("is_online", Self.flag(p.format == .online)),
                ("state", .string(Self.states[p.status]!)),
                ("date_start", Self.date(p.startsOn)), ("date_end", Self.date(p.endsOn)),
            ] + stamp)
        case let .certificate(c):
            let fio = [c.child.lastName, c.child.firstName, c.child.middleName].compactMap { $0 }.joined(separator: " ")
            var snils: JSONValue = .string(c.child.snils?.digits)
            if e.defect == .badSnils {
                let d = c.child.snils?.digits ?? "11223344595"
                let check = (Int(d.suffix(2))! + 1) % 100
                snils = .string(d.prefix(9) + (check < 10 ? "0" : "") + String(check))
            }
            return .object([
                ("id", .number(e.sourceID)), ("cert_number", .string(c.number)), ("cert_kind", .string(Self.kinds[c.type]!)),
                ("child_id", .number(c.child.sourceID)), ("fio", .string(fio)), ("birthday", Self.date(c.child.birthDate)),
                ("snils", snils), ("nominal", Self.kopecks(c.nominal)), ("balance", Self.kopecks(c.balance)),
                ("period", .int(c.year)), ("blocked", Self.flag(c.status == .suspended)),
                ("closed_at", c.status == .closed ? Self.time(closingTime(e, c)) : .null),
                ("oktmo", .string(c.municipality.oktmo)), ("created_at", Self.time(c.issuedAt ?? e.updatedAt)),
            ] + stamp)
        case let .contract(c):
            let certificate: JSONValue = certificateID(number: c.certificateNumber).map { .number($0) } ?? .null
            return .object([
                ("id", .number(c.meta.sourceID)), ("certificate_id", certificate), ("program_id", .number(c.programSourceID)),
                ("date_start", Self.date(c.startsOn)), ("date_end", Self.date(c.endsOn)),
                ("month_price", Self.kopecks(c.priceMonth)),
                ("status", .int(e.defect == .unknownCode ? 7 : Self.contractStatuses[c.status]!)),
            ] + stamp)
        case let .charge(c):
            return .object([
                ("id", .number(c.meta.sourceID)), ("contract_id", .number(c.contractSourceID)),
                ("period", .string(e.defect == .wrongDateForm ? c.month.description : c.month.dotted)),
                ("price", Self.kopecks(c.price)), ("from_certificate", Self.kopecks(c.certificatePart)),
                ("from_parent", Self.kopecks(c.parentPart)),
                ("is_deleted", Self.flag(e.deleted)), ("updated_at", Self.time(e.updatedAt)), ("version", .int(1)),
            ])
        }
    }

    // MARK: Writing

    func object(_ request: SimRequest) -> [(String, JSONValue)]? {
        guard case let .object(members)? = try? JSONParser.parse(request.body) else { return nil }
        return members
    }

    func stale(_ actual: Int) -> SimResponse { .json(409, #"{"error":"stale","actual_version":\#(actual)}"#) }

    /// The `version` member of a write, checked against the stored one:
    /// `nil` when it matches, else the answer to give.
    func versionCheck(_ body: [(String, JSONValue)], _ current: SimEntry) -> SimResponse? {
        guard case let .number(text)? = JSONValue.object(body)["version"], let version = Int(text) else {
            return badRequest("version is required (an integer)")
        }
        return version == current.version ? nil : stale(current.version)
    }

    func int(_ value: JSONValue) -> Int? {
        if case let .number(n) = value { return Int(n) }
        return nil
    }

    func text(_ value: JSONValue) -> String? {
        if case let .string(s) = value, !s.trimmingCharacters(in: .whitespaces).isEmpty { return s }
        return nil
    }

    func dotted(_ value: JSONValue) -> LocalDate? {
        guard case let .string(s) = value else { return nil }
        return try? LocalDate(dotted: s)
    }

    func digits(_ value: JSONValue, _ lengths: Set<Int>) -> String? {
        guard case let .string(s) = value, lengths.contains(s.utf8.count), s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            return nil
        }
        return s
    }

    func patchProgram(_ id: String, _ request: SimRequest) -> SimResponse {
        guard let current = data.entry(.programs, id), !current.deleted, case var .program(p) = current.record else {
            return error(404, "not_found")
        }
        guard let body = object(request) else { return badRequest("the body must be a JSON object") }
        if let answer = versionCheck(body, current) { return answer }
        for (key, value) in body where key != "version" {
            func bad(_ what: String) -> SimResponse { badRequest("\(key): \(what)") }
            switch key {
            case "name":
                guard let s = text(value) else { return bad("a non-empty string is required") }
                p.title = s
            case "org_inn":
                guard let s = digits(value, [10, 12]) else { return bad("10 or 12 digits are required") }
                p.provider.inn = s
            case "org_ogrn":
                guard let s = digits(value, [13, 15]) else { return bad("13 or 15 digits are required") }
                p.provider.ogrn = s
            case "org_name":
                guard let s = text(value) else { return bad("a non-empty string is required") }
                p.provider.name = s
            case "org_type":
                guard let n = int(value), let kind = Self.orgTypes.first(where: { $0.value == n })?.key else {
                    return bad("one of 1, 2, 3, 4 is required")
                }
                p.provider.kind = kind
            case "focus":
                guard let n = int(value), let direction = Self.focuses.first(where: { $0.value == n })?.key else {
                    return bad("one of 1 to 6 is required")
                }
                p.direction = direction
            case "age_min", "age_max", "hours":
                guard let n = int(value), n >= 0 else { return bad("a whole number is required") }
                if key == "age_min" { p.ageMin = n } else if key == "age_max" { p.ageMax = n } else { p.hoursTotal = n }
            case "month_price":
                guard let n = int(value), n >= 0 else { return bad("a whole number of kopecks is required") }
                p.priceMonth = Kopecks(Int64(n))
            case "register":
                guard case let .string(s) = value, let registry = Self.registers.first(where: { $0.value == s })?.key else {
                    return bad("one of ПФ, ЗН, МУН, ПЛ is required")
                }
                p.registry = registry
            case "oktmo":
                guard let s = digits(value, [8]) else { return bad("8 digits are required") }
                p.municipality = Municipality(oktmo: s, name: nil)
            case "is_online":
                guard let n = int(value), n == 0 || n == 1 else { return bad("0 or 1 is required") }
                p.format = n == 1 ? .online : .offline
            case "state":
                guard case let .string(s) = value, let status = Self.states.first(where: { $0.value == s })?.key else {
                    return bad("one of new, active, closed is required")
                }
                p.status = status
            case "date_start", "date_end":
                guard let d = dotted(value) else { return bad("a date DD.MM.YYYY is required") }
                if key == "date_start" { p.startsOn = d } else { p.endsOn = d }
            default:
                return bad("this field cannot be changed")
            }
        }
        guard p.ageMin <= p.ageMax else { return badRequest("age_min is greater than age_max") }
        if let start = p.startsOn, let end = p.endsOn, start > end { return badRequest("date_start is after date_end") }
        let updated = data.applyWrite(.programs, id) { $0.record = .program(p) }!
        return .json(200, render(updated).serialized())
    }

    func patchCertificate(_ id: String, _ request: SimRequest) -> SimResponse {
        guard let current = data.entry(.certificates, id), !current.deleted, case var .certificate(c) = current.record else {
            return error(404, "not_found")
        }
        guard let body = object(request) else { return badRequest("the body must be a JSON object") }
        if let answer = versionCheck(body, current) { return answer }
        let change = body.filter { $0.0 != "version" }
        guard change.count == 1 else { return badRequest("give either blocked or close") }
        switch change[0] {
        case let ("blocked", value):
            guard let n = int(value), n == 0 || n == 1 else { return badRequest("blocked: 0 or 1 is required") }
            guard c.status != .closed else { return badRequest("blocked: the certificate is closed") }
            c.status = n == 1 ? .suspended : .active
        case ("close", .bool(true)):
            guard c.status != .closed else { return badRequest("close: the certificate is already closed") }
            c.status = .closed
        default:
            return badRequest("give either blocked (0 or 1) or close (true)")
        }
        let updated = data.applyWrite(.certificates, id) { $0.record = .certificate(c) }!
        if c.status == .closed { closedAt.withLock { $0[id] = updated.updatedAt } }
        return .json(200, render(updated).serialized())
    }

    func postContract(_ request: SimRequest) -> SimResponse {
        guard let body = object(request) else { return badRequest("the body must be a JSON object") }
        let fields = JSONValue.object(body)
        guard case let .string(requestID)? = fields["request_id"], UUID(uuidString: requestID) != nil else {
            return badRequest("request_id: a UUID is required")
        }
        let known: Set = ["request_id", "certificate_id", "program_id", "date_start", "date_end", "month_price", "status"]
        if let unknown = body.first(where: { !known.contains($0.0) }) { return badRequest("\(unknown.0): unknown field") }
        // The whole create runs under the lock of the request ids, so that a
        // request_id creates at most one contract however often it is sent.
        return requests.withLock { seen -> SimResponse in
            if let id = seen[requestID], let e = data.entry(.contracts, id) { return .json(200, render(e).serialized()) }
            guard let certificateID = fields["certificate_id"].flatMap(int),
                  let certificate = data.entry(.certificates, String(certificateID)), !certificate.deleted,
                  case let .certificate(c) = certificate.record else {
                return badRequest("certificate_id: no such certificate")
            }
            guard let programID = fields["program_id"].flatMap(int),
                  let program = data.entry(.programs, String(programID)), !program.deleted else {
                return badRequest("program_id: no such program")
            }
            guard let start = fields["date_start"].flatMap(dotted) else { return badRequest("date_start: a date DD.MM.YYYY is required") }
            guard let end = fields["date_end"].flatMap(dotted) else { return badRequest("date_end: a date DD.MM.YYYY is required") }
            guard start <= end else { return badRequest("date_start is after date_end") }
            guard let price = fields["month_price"].flatMap(int), price >= 0 else {
                return badRequest("month_price: a whole number of kopecks is required")
            }
            var status = ContractStatus.application
            if let value = fields["status"] {
                guard let n = int(value), let s = Self.contractStatuses.first(where: { $0.value == n })?.key else {
                    return badRequest("status: one of 0, 1, 2, 3 is required")
                }
                status = s
            }
            let id = Self.ids.contract(data.nextIndex(.contracts))
            let record = Record.contract(Contract(
                meta: SourceMeta(region: Self.code, sourceID: id, updatedAt: nil, version: "1"), certificateNumber: c.number,
                programSourceID: String(programID), startsOn: start, endsOn: end, priceMonth: Kopecks(Int64(price)),
                status: status))
            let created = data.insertWrite(.contracts, record)
            seen[requestID] = id
            return .json(200, render(created).serialized())
        }
    }
}
