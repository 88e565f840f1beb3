internal import DopsyncModel
internal import Foundation
internal import Synchronization

/// Kemerovo oblast's Электронная Школа 2.0 exchange, as regions/kemerovo.md
/// documents it: XML over `POST`, answers in windows-1251, mutual TLS (the
/// server refuses a client without a certificate of our CA during the
/// handshake) and `X-ES2-Client`, offset pages ordered by `ModifiedAt` then
/// `Id` with an inclusive `changedSince`, at most 5 requests a second
/// (`ES2-429`), business errors as `500` faults, no deletions reported (a
/// deleted record simply stops appearing), and asynchronous import packages.
final class KemerovoAPI: RegionAPI {
    static let name = "kemerovo"
    static let code = "42"
    static let basePath = ""
    static let requiresClientCertificate = true
    /// "Deletions are not reported": only a full export tells of them.
    static let reportsDeletions = false
    /// Kemerovo's local time, UTC+07:00, in which every time is written.
    static let offset = 7 * 3600
    /// The one registered exchange client.
    static let clientID = "gateway"
    /// The documented request limit, counted over any one second.
    static let requestsPerSecond = 5
    static let maxCount = 1000
    static let ids = IDScheme(
        program: { "P-" + String(format: "%06d", 100 + $0) },
        certificateNumber: { "42" + String(format: "%08d", 10_000 + $0) },
        certificate: { _, number in number },
        child: { "C-\(88_000 + $0)" },
        contract: { "D-\(5000 + $0)" },
        charge: { "S-\(90_000 + $0)" },
        // Ids are text; the exchange orders them as text ("D-10000" before "D-5001").
        sortKey: { $0 })

    /// The exchange has no version, and a record that stops appearing keeps,
    /// at the gateway, the `ModifiedAt` it last had while live.
    static func expectedMeta(_ entry: SimEntry) -> SourceMeta {
        SourceMeta(region: code, sourceID: entry.sourceID,
                   updatedAt: entry.deleted ? (entry.previous?.updatedAt ?? entry.updatedAt) : entry.updatedAt,
                   version: nil, deleted: entry.deleted)
    }

    let data: RegionData
    /// Whether requests over the documented rate are refused (`SimulatorOptions.rateLimits`).
    let rateLimited: Bool
    /// Times of the requests accepted in the last second.
    let accepted = Mutex<[ContinuousClock.Instant]>([])
    let packages: ImportPackages

    required init(data: RegionData, options: SimulatorOptions) {
        self.data = data
        rateLimited = options.rateLimits
        packages = ImportPackages(data: data)
        // The exchange's programs carry no description.
        data.conform { record in
            if case var .program(p) = record {
                p.description = ""
                record = .program(p)
            }
        }
    }

    func configuration(baseURL: String) -> (yaml: [String], files: [String: String]) {
        // client.pem and client.key are written by the simulator for every region that wants them.
        (["base_url: \(baseURL)", "client_id: \(Self.clientID)", "client_cert_file: ./client.pem",
          "client_key_file: ./client.key", "ca_file: ./ca.pem"], [:])
    }

    func respond(to request: SimRequest) async -> SimResponse {
        let routes = ["/es2/exchange/export", "/es2/exchange/import", "/es2/exchange/import-status"]
        guard routes.contains(request.path) else {
            return SimResponse(status: 404, headers: [("Content-Type", "text/plain")], body: Array("Not Found".utf8))
        }
        guard request.method == "POST" else {
            return SimResponse(status: 405, headers: [("Allow", "POST"), ("Content-Type", "text/plain")],
                               body: Array("Method Not Allowed".utf8))
        }
        guard request.header("x-es2-client") == Self.clientID else {
            return ES2Writer.fault("ES2-403", "Клиент не зарегистрирован")
        }
        guard admit() else { return ES2Writer.fault("ES2-429", "Превышено число запросов: не более 5 в секунду") }
        packages.processReady()
        guard let document = ES2Node.parse(request.body) else {
            return ES2Writer.fault("ES2-400", "Запрос не является правильным XML")
        }
        switch request.path {
        case "/es2/exchange/export": return export(document)
        case "/es2/exchange/import": return packages.receive(document)
        default: return await packages.status(document)
        }
    }

    /// Whether a request fits in the limit: at most 5 accepted in any one second.
    func admit() -> Bool {
        guard rateLimited else { return true }
        let now = ContinuousClock.now
        return accepted.withLock { times in
            times.removeAll { now - $0 >= .seconds(1) }
            guard times.count < Self.requestsPerSecond else { return false }
            times.append(now)
            return true
        }
    }

    // MARK: Reading

    static let entities: [String: CollectionName] = [
        "Program": .programs, "Certificate": .certificates, "Contract": .contracts, "Charge": .charges,
    ]

    func export(_ document: ES2Node) -> SimResponse {
        guard document.name == "ExportRequest" else { return ES2Writer.fault("ES2-400", "Ожидался ExportRequest") }
        guard let entity = document.attributes["entity"], let collection = Self.entities[entity] else {
            return ES2Writer.fault("ES2-400", "Неизвестная сущность")
        }
        var since: Int64? = nil
        if let text = document.attributes["changedSince"] {
            guard let t = try? Timestamp(localDotted: text, offsetSeconds: Self.offset) else {
                return ES2Writer.fault("ES2-400", "changedSince: ожидается ДД.ММ.ГГГГ ЧЧ:ММ:СС")
            }
            since = t.seconds
        }
        guard let offsetText = document.attributes["offset"], let offset = Int(offsetText), offset >= 0 else {
            return ES2Writer.fault("ES2-400", "offset: ожидается целое неотрицательное число")
        }
        guard let countText = document.attributes["count"], let count = Int(countText), (1...Self.maxCount).contains(count) else {
            return ES2Writer.fault("ES2-400", "count: ожидается число от 1 до \(Self.maxCount)")
        }
        data.willRead(collection)
        // Deleted records simply stop appearing.
        let walk = data.walk(collection, since: since, after: nil, skip: offset, limit: count, countTotal: true) { !$0.deleted }
        let entries = walk.entries
        data.noteShown(collection, entries)
        var out = "<ExportResponse entity=\"\(entity)\" total=\"\(walk.total)\" offset=\"\(offset)\" count=\"\(entries.count)\">\n"
        for e in entries { out += Self.render(e) + "\n" }
        out += "</ExportResponse>\n"
        return ES2Writer.answer(200, out)
    }

    // The page's Russian values, written out case by case.
    static func direction(_ d: Direction) -> String {
        switch d {
        case .technical: "Техническая"
        case .natural_science: "Естественнонаучная"
        case .sport: "Физкультурно-спортивная"
        case .art: "Художественная"
        case .tourism: "Туристско-краеведческая"
        case .social: "Социально-гуманитарная"
        }
    }

    static func kind(_ k: ProviderKind) -> String {
        switch k {
        case .state: "Государственная"
        case .municipal: "Муниципальная"
        case .private: "Частная"
        case .individual: "ИП"
        }
    }

    static func registry(_ r: Registry) -> String {
        switch r {
        case .certified: "Сертифицированная"
        case .significant: "Значимая"
        case .municipal: "Муниципальная"
        case .paid: "Платная"
        }
    }

    static func form(_ f: ProgramFormat) -> String {
        switch f {
        case .offline: "Очная"
        case .online: "Дистанционная"
        case .mixed: "Смешанная"
        }
    }

    static func programStatus(_ s: ProgramStatus) -> String {
        switch s {
        case .draft: "Черновик"
        case .published: "Опубликована"
        case .archived: "В архиве"
        }
    }

    static func certificateKind(_ t: CertificateType) -> String {
        switch t {
        case .financing: "Финансирования"
        case .accounting: "Учета"
        }
    }

    static func certificateStatus(_ s: CertificateStatus) -> String {
        switch s {
        case .active: "Действует"
        case .suspended: "Приостановлен"
        case .closed: "Закрыт"
        }
    }

    static func contractStatus(_ s: ContractStatus) -> String {
        switch s {
        case .application: "Заявка"
        case .active: "Действует"
        case .terminated: "Расторгнут"
        case .completed: "Исполнен"
        }
    }

    static func time(_ t: Timestamp) -> String { t.localDotted(offsetSeconds: offset) }
    static func money(_ k: Kopecks) -> String { k.roubles(separator: ",") }

    static func municipality(_ m: Municipality) -> String {
        "<Municipality oktmo=\"\(ES2Writer.escape(m.oktmo))\">\(ES2Writer.escape(m.name ?? ""))</Municipality>"
    }

    /// The wire form of a live entry, with its defect, if any, written in.
    static func render(_ e: SimEntry) -> String {
        typealias W = ES2Writer
        let modified = W.element("ModifiedAt", time(e.updatedAt))
        switch e.record {
        case let .program(p):
            var price = money(p.priceMonth)
            if e.defect == .threeDecimals { price += "5" }
            let o = p.provider
            return "<Program>" + W.element("Id", p.meta.sourceID) + W.element("Name", p.title)
                + "<Organization inn=\"\(W.escape(o.inn))\" ogrn=\"\(W.escape(o.ogrn ?? ""))\" type=\"\(kind(o.kind))\">"
                + W.escape(o.name) + "</Organization>"
                + W.element("Direction", direction(p.direction))
                + "<Age from=\"\(p.ageMin)\" to=\"\(p.ageMax)\"/>"
                + W.element("Hours", p.hoursTotal.map(String.init) ?? "")
                + W.element("MonthPrice", price) + W.element("Registry", registry(p.registry))
                + municipality(p.municipality) + W.element("Form", form(p.format))
                + W.element("Status", programStatus(p.status))
                + "<Period start=\"\(p.startsOn?.dotted ?? "")\" end=\"\(p.endsOn?.dotted ?? "")\"/>"
                + modified + "</Program>"
        case let .certificate(c):
            var child = "<Child id=\"\(W.escape(c.child.sourceID))\">" + W.element("LastName", c.child.lastName)
                + W.element("FirstName", c.child.firstName)
            if let middle = c.child.middleName { child += W.element("MiddleName", middle) }
            child += W.element("BirthDate", c.child.birthDate.dotted)
            if e.defect == .badSnils {
                let d = c.child.snils?.digits ?? "11223344595"
                let check = (Int(d.suffix(2))! + 1) % 100
                child += W.element("Snils", "\(d.prefix(3))-\(d.dropFirst(3).prefix(3))-\(d.dropFirst(6).prefix(3)) "
                                   + (check < 10 ? "0" : "") + String(check))
            } else if let snils = c.child.snils {
                child += W.element("Snils", snils.formatted)
            }
            child += "</Child>"
            return "<Certificate>" + W.element("Number", c.number) + W.element("Kind", certificateKind(c.type)) + child
                + W.element("Nominal", money(c.nominal)) + W.element("Balance", money(c.balance))
                + W.element("Year", String(c.year)) + W.element("Status", certificateStatus(c.status))
                + municipality(c.municipality) + W.element("IssuedAt", c.issuedAt.map(time) ?? "")
                + modified + "</Certificate>"
        case let .contract(c):
            // An unknown code: a certificate's status where a contract's belongs.
            let status = e.defect == .unknownCode ? "Приостановлен" : contractStatus(c.status)
            return "<Contract>" + W.element("Id", c.meta.sourceID) + W.element("CertificateNumber", c.certificateNumber ?? "")
                + W.element("ProgramId", c.programSourceID) + W.element("Start", c.startsOn.dotted)
                + W.element("End", c.endsOn.dotted) + W.element("MonthPrice", money(c.priceMonth))
                + W.element("Status", status) + modified + "</Contract>"
        case let .charge(c):
            return "<Charge>" + W.element("Id", c.meta.sourceID) + W.element("ContractId", c.contractSourceID)
                + W.element("Month", e.defect == .wrongDateForm ? c.month.description : c.month.dotted)
                + W.element("Price", money(c.price)) + W.element("FromCertificate", money(c.certificatePart))
                + W.element("FromParent", money(c.parentPart)) + modified + "</Charge>"
        }
    }
}
