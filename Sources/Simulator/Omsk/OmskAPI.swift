internal import DopsyncModel
internal import Foundation
internal import Synchronization

/// Omsk oblast's Navigator API v2, as regions/omsk.md documents it.
final class OmskAPI: RegionAPI {
    static let name = "omsk"
    static let code = "55"
    static let basePath = "/navigator"
    static let offset = 6 * 3600
    static let ids = IDScheme(
        program: { String(100 + $0) },
        certificateNumber: { "55" + String(format: "%08d", 10_000 + $0) },
        certificate: { _, number in number },
        child: { String(880_000 + $0) },
        contract: { String(5000 + $0) },
        charge: { String(90_000 + $0) },
        sortKey: IDScheme.numericKey)

    let data: RegionData
    let tokens: TokenIssuer
    let cursorLifetime: Duration
    let secret: String
    /// Idempotency key → the first answer.
    let idempotent = Mutex<[String: SimResponse]>([:])

    required init(data: RegionData, options: SimulatorOptions) {
        self.data = data
        secret = "omsk-secret-\(options.seed)"
        tokens = TokenIssuer(clientID: "gateway", clientSecret: secret, lifetime: options.tokenLifetime)
        cursorLifetime = options.cursorLifetime
        data.onRevoke { [tokens] in tokens.revokeAll() }
    }

    func configuration(baseURL: String) -> (yaml: [String], files: [String: String]) {
        (["base_url: \(baseURL)", "client_id: gateway", "client_secret_file: ./omsk.secret", "ca_file: ./ca.pem"],
         ["omsk.secret": secret + "\n"])
    }

    func respond(to request: SimRequest) async -> SimResponse {
        let parts = request.path.split(separator: "/").map(String.init)
        guard parts.first == "navigator" else { return error(404, "not_found") }
        let route = Array(parts.dropFirst())
        if route == ["oauth", "token"] {
            guard request.method == "POST" else { return error(405, "method_not_allowed") }
            guard let token = tokens.issue(form: formFields(request.body)) else { return error(401, "invalid_client") }
            return .json(200, #"{"access_token":"\#(token)","token_type":"Bearer","expires_in":\#(tokens.lifetimeSeconds)}"#)
        }
        guard tokens.isValid(authorization: request.header("authorization")) else { return error(401, "invalid_token") }
        guard route.count >= 3, route[0] == "api", route[1] == "v2", let collection = CollectionName(rawValue: route[2]) else {
            return error(404, "not_found")
        }
        switch (request.method, route.count) {
        case ("GET", 3): return list(collection, request)
        case ("PUT", 4) where collection == .programs:
            return await data.write(.programs, route[3]) { putProgram(route[3], request) }
        case ("PATCH", 4) where collection == .certificates:
            return await data.write(.certificates, route[3]) { patchCertificate(route[3], request) }
        case ("POST", 3) where collection == .contracts: return postContract(request)
        default: return error(405, "method_not_allowed")
        }
    }

    func error(_ status: Int, _ code: String) -> SimResponse { .json(status, #"{"error":"\#(code)"}"#) }

    // MARK: Reading

    struct Cursor: Codable {
        var seconds: Int64
        var key: String
        var since: Int64?
        var issued: Double
        var total: Int
    }

    func list(_ collection: CollectionName, _ request: SimRequest) -> SimResponse {
        var limit = 100
        if let text = request.query["limit"] {
            guard let l = Int(text), (1...1000).contains(l) else { return error(400, "invalid_limit") }
            limit = l
        }
        var since: Int64? = nil
        if let text = request.query["updated_since"] {
            guard let t = try? Timestamp(iso: text) else { return error(400, "invalid_updated_since") }
            since = t.seconds
        }
        var after: (Int64, String)? = nil
        var total: Int? = nil
        if let text = request.query["cursor"] {
            guard let data = Data(base64Encoded: text), let cursor = try? JSONDecoder().decode(Cursor.self, from: data) else {
                return error(400, "invalid_cursor")
            }
            if Date().timeIntervalSince1970 - cursor.issued >= Double(cursorLifetime / .milliseconds(1)) / 1000 {
                return error(400, "cursor_expired")
            }
            after = (cursor.seconds, cursor.key)
            since = cursor.since
            total = cursor.total
        }
        data.willRead(collection)
        let walk = data.walk(collection, since: since, after: after, limit: limit, countTotal: total == nil)
        data.noteShown(collection, walk.entries)
        let total2 = total ?? walk.total
        var out = #"{"data":["#
        for (i, e) in walk.entries.enumerated() {
            if i > 0 { out += "," }
            out += Self.render(e).serialized()
        }
        out += #"],"meta":{"next_cursor":"#
        if let next = walk.next {
            let cursor = Cursor(seconds: next.0, key: next.1, since: since, issued: Date().timeIntervalSince1970, total: total2)
            out += "\"" + (try! JSONEncoder().encode(cursor)).base64EncodedString() + "\""
        } else {
            out += "null"
        }
        out += #","total":\#(total2)}}"#
        return .json(200, out)
    }

    static func money(_ k: Kopecks) -> JSONValue { .string(k.roubles(separator: ".")) }
    static func time(_ t: Timestamp) -> JSONValue { .string(t.iso(offsetSeconds: offset)) }
    static func number(_ id: String) -> JSONValue { .number(id) }

    static let directionCodes: [Direction: String] = [
        .technical: "tech", .natural_science: "natsci", .sport: "sport", .art: "art", .tourism: "tourism", .social: "social",
    ]

    /// The wire form of an entry: a tombstone when deleted, else the record
    /// with its defect, if any, written in.
    static func render(_ e: SimEntry) -> JSONValue {
        if e.deleted {
            let id: JSONValue = e.record.collection == .certificates ? .string(e.sourceID) : number(e.sourceID)
            return .object([("id", id), ("deleted", .bool(true)), ("updatedAt", time(e.updatedAt)), ("version", .int(e.version))])
        }
        let stamp: [(String, JSONValue)] = [("updatedAt", time(e.updatedAt)), ("version", .int(e.version))]
        switch e.record {
        case let .program(p):
            var price = p.priceMonth.roubles(separator: ".")
            if e.defect == .threeDecimals { price += "5" }
            return .object([
                ("id", number(p.meta.sourceID)), ("title", .string(p.title)), ("description", .string(p.description)),
                ("provider", .object([("inn", .string(p.provider.inn)), ("ogrn", .string(p.provider.ogrn)),
                                      ("name", .string(p.provider.name)), ("kind", .string(p.provider.kind.rawValue))])),
                ("direction", .string(directionCodes[p.direction]!)), ("ageFrom", .int(p.ageMin)), ("ageTo", .int(p.ageMax)),
                ("hoursTotal", .int(p.hoursTotal)), ("pricePerMonth", .string(price)),
                ("registry", .string(p.registry.rawValue)),
                ("municipality", .object([("oktmo", .string(p.municipality.oktmo)), ("name", .string(p.municipality.name))])),
                ("format", .string(p.format.rawValue)), ("status", .string(p.status.rawValue)),
                ("startDate", .string(p.startsOn?.description)), ("endDate", .string(p.endsOn?.description)),
            ] + stamp)
        case let .certificate(c):
            var child: [(String, JSONValue)] = [("id", number(c.child.sourceID)), ("lastName", .string(c.child.lastName)),
                                                ("firstName", .string(c.child.firstName))]
            if let middle = c.child.middleName { child.append(("middleName", .string(middle))) }
            child.append(("birthDate", .string(c.child.birthDate.description)))
            if e.defect == .badSnils {
                child.append(("snils", .string(Defect.brokenSnils(c.child.snils))))
            } else if let snils = c.child.snils {
                child.append(("snils", .string(snils.formatted)))
            }
            return .object([
                ("number", .string(c.number)), ("type", .string(c.type.rawValue)), ("child", .object(child)),
                ("nominal", money(c.nominal)), ("balance", money(c.balance)), ("year", .int(c.year)),
                ("status", .string(c.status.rawValue)),
                ("municipality", .object([("oktmo", .string(c.municipality.oktmo)), ("name", .string(c.municipality.name))])),
                ("issuedAt", c.issuedAt.map(time) ?? .null),
            ] + stamp)
        case let .contract(c):
            return .object([
                ("id", number(c.meta.sourceID)), ("certificateNumber", .string(c.certificateNumber)),
                ("programId", number(c.programSourceID)), ("startDate", .string(c.startsOn.description)),
                ("endDate", .string(c.endsOn.description)), ("pricePerMonth", money(c.priceMonth)),
                ("status", .string(e.defect == .unknownCode ? "pending" : c.status.rawValue)),
            ] + stamp)
        case let .charge(c):
            return .object([
                ("id", number(c.meta.sourceID)), ("contractId", number(c.contractSourceID)),
                ("month", .string(e.defect == .wrongDateForm ? c.month.dotted : c.month.description)),
                ("price", money(c.price)), ("certificatePart", money(c.certificatePart)), ("parentPart", money(c.parentPart)),
                ("updatedAt", time(e.updatedAt)), ("version", .int(1)),
            ])
        }
    }

    // MARK: Writing

    /// `If-Match: "7"` (quotes optional) as a version.
    func ifMatch(_ request: SimRequest) -> Int? {
        guard let text = request.header("if-match") else { return nil }
        return Int(text.trimmingCharacters(in: CharacterSet(charactersIn: "\" ")))
    }

    func body(_ request: SimRequest) -> JSONValue? {
        guard let v = try? JSONParser.parse(request.body), case .object = v else { return nil }
        return v
    }

    func validation(_ fields: [String: String]) -> SimResponse {
        .json(422, JSONValue.object([("error", .string("validation")),
                                     ("fields", .object(fields.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))]).serialized())
    }

    func putProgram(_ id: String, _ request: SimRequest) -> SimResponse {
        guard let current = data.entry(.programs, id), !current.deleted else { return error(404, "not_found") }
        guard let expected = ifMatch(request) else { return error(428, "precondition_required") }
        guard expected == current.version else {
            return .json(412, #"{"error":"version_mismatch","current":\#(Self.render(current).serialized())}"#)
        }
        guard let wire = body(request), case var .program(p) = current.record else { return validation(["body": "not a JSON object"]) }
        var problems: [String: String] = [:]
        func text(_ key: String) -> String? {
            if case let .string(s)? = wire[key] { return s }
            problems[key] = "required"
            return nil
        }
        func int(_ key: String) -> Int? {
            if case let .number(n)? = wire[key], let i = Int(n) { return i }
            problems[key] = "an integer is required"
            return nil
        }
        let title = text("title"), priceText = text("pricePerMonth"), directionText = text("direction")
        let ageFrom = int("ageFrom"), ageTo = int("ageTo")
        let hours = (wire["hoursTotal"] ?? .null).isNull ? nil : int("hoursTotal")
        let direction = directionText.flatMap { d in Self.directionCodes.first { $0.value == d }?.key }
        if directionText != nil && direction == nil { problems["direction"] = "unknown direction" }
        let price = priceText.flatMap { try? Kopecks(roubles: $0) }
        if priceText != nil && price == nil { problems["pricePerMonth"] = "not an amount" }
        let status = text("status").flatMap(ProgramStatus.init(rawValue:))
        let registry = text("registry").flatMap(Registry.init(rawValue:))
        let format = text("format").flatMap(ProgramFormat.init(rawValue:))
        if let a = ageFrom, let b = ageTo, a > b { problems["ageTo"] = "less than ageFrom" }
        guard problems.isEmpty, let title, let price, let direction, let ageFrom, let ageTo, let status, let registry,
              let format else {
            if problems.isEmpty { problems["body"] = "a field has an unknown value" }
            return validation(problems)
        }
        p.title = title
        if case let .string(d)? = wire["description"] { p.description = d }
        p.priceMonth = price; p.direction = direction; p.ageMin = ageFrom; p.ageMax = ageTo; p.hoursTotal = hours
        p.status = status; p.registry = registry; p.format = format
        // The whole record is stored: provider and municipality too.
        if let provider = wire["provider"] {
            if case let .string(s)? = provider["inn"] { p.provider.inn = s }
            switch provider["ogrn"] {
            case let .string(s)?: p.provider.ogrn = s
            case .null?: p.provider.ogrn = nil
            default: break
            }
            if case let .string(s)? = provider["name"] { p.provider.name = s }
            if case let .string(s)? = provider["kind"], let kind = ProviderKind(rawValue: s) { p.provider.kind = kind }
        }
        if let municipality = wire["municipality"] {
            if case let .string(s)? = municipality["oktmo"] { p.municipality.oktmo = s }
            switch municipality["name"] {
            case let .string(s)?: p.municipality.name = s
            case .null?: p.municipality.name = nil
            default: break
            }
        }
        for (key, keyPath) in [("startDate", \Program.startsOn), ("endDate", \Program.endsOn)] {
            switch wire[key] {
            case let .string(s)?: if let d = try? LocalDate(iso: s) { p[keyPath: keyPath] = d }
            case .null?: p[keyPath: keyPath] = nil
            default: break
            }
        }
        let updated = data.applyWrite(.programs, id) { $0.record = .program(p) }!
        return .json(200, Self.render(updated).serialized())
    }

    func patchCertificate(_ number: String, _ request: SimRequest) -> SimResponse {
        guard let current = data.entry(.certificates, number), !current.deleted else { return error(404, "not_found") }
        guard let expected = ifMatch(request) else { return error(428, "precondition_required") }
        guard expected == current.version else {
            return .json(412, #"{"error":"version_mismatch","current":\#(Self.render(current).serialized())}"#)
        }
        guard let wire = body(request), case let .string(s)? = wire["status"], let status = CertificateStatus(rawValue: s),
              case var .certificate(c) = current.record else {
            return validation(["status": "one of active, suspended, closed"])
        }
        c.status = status
        let updated = data.applyWrite(.certificates, number) { $0.record = .certificate(c) }!
        return .json(200, Self.render(updated).serialized())
    }

    func postContract(_ request: SimRequest) -> SimResponse {
        guard let key = request.header("idempotency-key"), !key.isEmpty else { return validation(["Idempotency-Key": "required"]) }
        if let first = idempotent.withLock({ $0[key] }) { return first }
        guard let wire = body(request), case let .string(number)? = wire["certificateNumber"],
              case let .number(program)? = wire["programId"],
              case let .string(start)? = wire["startDate"], let startsOn = try? LocalDate(iso: start),
              case let .string(end)? = wire["endDate"], let endsOn = try? LocalDate(iso: end),
              case let .string(priceText)? = wire["pricePerMonth"], let price = try? Kopecks(roubles: priceText) else {
            return validation(["body": "certificateNumber, programId, startDate, endDate and pricePerMonth are required"])
        }
        guard data.entry(.certificates, number) != nil else { return validation(["certificateNumber": "unknown certificate"]) }
        guard data.entry(.programs, program) != nil else { return validation(["programId": "unknown program"]) }
        var status = ContractStatus.application
        if case let .string(s)? = wire["status"], let st = ContractStatus(rawValue: s) { status = st }
        let id = Self.ids.contract(data.nextIndex(.contracts))
        let record = Record.contract(Contract(
            meta: SourceMeta(region: Self.code, sourceID: id, updatedAt: nil, version: "1"), certificateNumber: number,
            programSourceID: program, startsOn: startsOn, endsOn: endsOn, priceMonth: price, status: status))
        let response = SimResponse.json(200, Self.render(data.insertWrite(.contracts, record)).serialized())
        idempotent.withLock { $0[key] = response }
        return response
    }
}
