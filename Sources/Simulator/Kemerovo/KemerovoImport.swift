internal import DopsyncModel
internal import Foundation
internal import Synchronization

/// The exchange's import packages (regions/kemerovo.md, "Writing"): a package
/// is received with `202 <ImportReceipt status="Принят"/>`, stays `В обработке`
/// for a short while, and is then applied item by item in order and reported
/// `Обработан` with one `<Item>` per item (`Принято`, `Конфликт` when
/// `ExpectedModifiedAt` is not the record's current `ModifiedAt`, or
/// `Отклонено` with the reason). A package id seen before answers the first
/// receipt again and applies nothing.
///
/// Write hooks (`RegionData.beforeWrite`/`afterWrite`): `beforeWrite` runs as
/// each item is processed, before its `ExpectedModifiedAt` is checked (a
/// race); `afterWrite` runs for each applied item when the `Обработан` status
/// is first answered, and may lose that answer (a `503`) or hold it back.
final class ImportPackages: Sendable {
    /// How long a package stays `В обработке` ("a package is processed within minutes").
    static let processingDelay: Duration = .seconds(4)

    struct Package: Sendable {
        var receipt: SimResponse
        var items: [ES2Node]
        var receivedAt: ContinuousClock.Instant
        /// The rendered `<Item>`s once processed.
        var results: [String]?
        /// The records written by the package (items `Принято`).
        var written: [(CollectionName, String)] = []
        /// Whether the `Обработан` status has been answered once (write hooks run then).
        var reported = false
    }

    let data: RegionData
    private let packages = Mutex<[String: Package]>([:])

    init(data: RegionData) { self.data = data }

    /// `POST /es2/exchange/import`.
    func receive(_ document: ES2Node) -> SimResponse {
        guard document.name == "ImportPackage" else { return ES2Writer.fault("ES2-400", "Ожидался ImportPackage") }
        guard let id = document.attributes["id"]?.trimmingCharacters(in: .whitespaces), !id.isEmpty else {
            return ES2Writer.fault("ES2-400", "Не указан идентификатор пакета")
        }
        let receipt = ES2Writer.answer(202, "<ImportReceipt id=\"\(ES2Writer.escape(id))\" status=\"Принят\"/>\n")
        return packages.withLock { all in
            if let seen = all[id] { return seen.receipt }
            all[id] = Package(receipt: receipt, items: document.children, receivedAt: .now)
            return receipt
        }
    }

    /// `POST /es2/exchange/import-status`.
    func status(_ document: ES2Node) async -> SimResponse {
        guard document.name == "ImportStatusRequest", let id = document.attributes["id"] else {
            return ES2Writer.fault("ES2-400", "Ожидался ImportStatusRequest с id")
        }
        let found = packages.withLock { all -> (Package, Bool)? in
            guard let package = all[id] else { return nil }
            let first = package.results != nil && !package.reported
            if first { all[id]!.reported = true }
            return (package, first)
        }
        guard let (package, first) = found else { return ES2Writer.fault("ES2-404", "Пакет не найден") }
        let escaped = ES2Writer.escape(id)
        guard let results = package.results else {
            return ES2Writer.answer(200, "<ImportStatus id=\"\(escaped)\" status=\"В обработке\"/>\n")
        }
        let answer = ES2Writer.answer(200, "<ImportStatus id=\"\(escaped)\" status=\"Обработан\">\n"
                                      + results.map { "  " + $0 + "\n" }.joined() + "</ImportStatus>\n")
        guard first else { return answer }
        // The answer that tells of the writes: hooks may lose it or hold it back.
        let hooks = data.writeHooks.withLock { $0 }
        var lost = false
        for (collection, ref) in package.written {
            for hook in hooks.after where await hook(collection, ref) { lost = true }
        }
        return lost ? FaultPlayer.play(.unavailable, on: answer) : answer
    }

    /// Applies the packages whose processing time has come, in the order received.
    func processReady() {
        guard !data.isAsyncProcessingHeld else { return }
        packages.withLock { all in
            let now = ContinuousClock.now
            let ready = all.filter { $0.value.results == nil && now - $0.value.receivedAt >= Self.processingDelay }
                .sorted { $0.value.receivedAt < $1.value.receivedAt }
            let hooks = data.writeHooks.withLock { $0 }
            for (id, package) in ready {
                var results: [String] = [], written: [(CollectionName, String)] = []
                for item in package.items {
                    let target = Self.target(item)
                    if let target { for hook in hooks.before { hook(target.0, target.1) } }
                    let (result, applied) = apply(item)
                    results.append(result)
                    if applied, let target { written.append(target) }
                }
                all[id]!.results = results
                all[id]!.written = written
            }
        }
    }

    // MARK: Items

    static func item(_ ref: String, _ result: String, reason: String? = nil, modifiedAt: Timestamp? = nil) -> String {
        var s = "<Item ref=\"\(ES2Writer.escape(ref))\" result=\"\(result)\""
        if let modifiedAt { s += " modifiedAt=\"\(KemerovoAPI.time(modifiedAt))\"" }
        if let reason { s += " reason=\"\(ES2Writer.escape(reason))\"" }
        return s + "/>"
    }

    static func rejected(_ ref: String, _ reason: String) -> String { item(ref, "Отклонено", reason: reason) }
    static func conflict(_ ref: String) -> String { item(ref, "Конфликт", reason: "Запись изменена") }

    /// The record an item is about, for the write hooks.
    static func target(_ node: ES2Node) -> (CollectionName, String)? {
        switch node.name {
        case "Program": return node.string("Id").map { (.programs, $0) }
        case "CertificateStatus": return node.attributes["number"].map { (.certificates, $0) }
        default: return nil
        }
    }

    /// Applies one item: its rendered `<Item>`, and whether it was `Принято`.
    func apply(_ node: ES2Node) -> (String, Bool) {
        let result: String
        switch node.name {
        case "Program": result = program(node)
        case "CertificateStatus": result = certificateStatus(node)
        default: result = Self.rejected(node.string("Id") ?? node.attributes["number"] ?? "", "Неизвестный элемент пакета: \(node.name)")
        }
        return (result, result.contains("result=\"Принято\""))
    }

    /// Whether `expected` (wire text) is the entry's current `ModifiedAt`;
    /// `nil` when the text is not a time.
    static func matches(_ expected: String, _ entry: SimEntry) -> Bool? {
        guard let t = try? Timestamp(localDotted: expected.trimmingCharacters(in: .whitespaces),
                                     offsetSeconds: KemerovoAPI.offset) else { return nil }
        return t == entry.updatedAt
    }

    static func value<T: CaseIterable>(_ text: String?, _ render: (T) -> String) -> T? {
        guard let text else { return nil }
        return T.allCases.first { render($0) == text }
    }

    /// A whole program record with `ExpectedModifiedAt`: replaces the program's fields.
    func program(_ node: ES2Node) -> String {
        guard let id = node.string("Id") else { return Self.rejected("", "Не указан Id программы") }
        guard let current = data.entry(.programs, id), !current.deleted, case var .program(p) = current.record else {
            return Self.rejected(id, "Программа не найдена")
        }
        guard let expected = node.string("ExpectedModifiedAt") else { return Self.rejected(id, "Не указано ExpectedModifiedAt") }
        guard let same = Self.matches(expected, current) else { return Self.rejected(id, "Неверный формат ExpectedModifiedAt") }
        guard same else { return Self.conflict(id) }
        guard let name = node.string("Name") else { return Self.rejected(id, "Не указано название") }
        guard let directionText = node.string("Direction") else { return Self.rejected(id, "Не указана направленность") }
        guard let direction: Direction = Self.value(directionText, KemerovoAPI.direction) else {
            return Self.rejected(id, "Неизвестная направленность")
        }
        guard let organization = node.child("Organization"),
              let kind: ProviderKind = Self.value(organization.attributes["type"], KemerovoAPI.kind) else {
            return Self.rejected(id, "Не указана организация или её тип")
        }
        let organizationName = organization.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !organizationName.isEmpty else { return Self.rejected(id, "Не указано название организации") }
        guard let age = node.child("Age"), let from = age.attributes["from"].flatMap({ Int($0) }),
              let to = age.attributes["to"].flatMap({ Int($0) }), from <= to else {
            return Self.rejected(id, "Неверно указан возраст")
        }
        guard let hours = node.string("Hours").flatMap({ Int($0) }) else { return Self.rejected(id, "Неверно указаны часы") }
        guard let priceText = node.string("MonthPrice"), priceText.contains(","),
              let price = try? Kopecks(roubles: priceText), price >= .zero else {
            return Self.rejected(id, "Неверно указана стоимость (рубли с запятой: 1250,00)")
        }
        guard let registry: Registry = Self.value(node.string("Registry"), KemerovoAPI.registry) else {
            return Self.rejected(id, "Неизвестный реестр")
        }
        guard let format: ProgramFormat = Self.value(node.string("Form"), KemerovoAPI.form) else {
            return Self.rejected(id, "Неизвестная форма обучения")
        }
        guard let status: ProgramStatus = Self.value(node.string("Status"), KemerovoAPI.programStatus) else {
            return Self.rejected(id, "Неизвестный статус")
        }
        guard let period = node.child("Period"), let start = period.attributes["start"].flatMap({ try? LocalDate(dotted: $0) }),
              let end = period.attributes["end"].flatMap({ try? LocalDate(dotted: $0) }) else {
            return Self.rejected(id, "Неверно указан период")
        }
        p.title = name
        p.direction = direction
        guard let inn = organization.attributes["inn"], inn.count == 10 || inn.count == 12, inn.allSatisfy(\.isNumber) else {
            return Self.rejected(id, "Неверно указан ИНН организации")
        }
        let ogrn = organization.attributes["ogrn"].flatMap { $0.isEmpty ? nil : $0 }
        p.provider.inn = inn
        p.provider.ogrn = ogrn
        p.provider.name = organizationName
        p.provider.kind = kind
        p.ageMin = from; p.ageMax = to; p.hoursTotal = hours; p.priceMonth = price
        p.registry = registry; p.format = format; p.status = status
        p.startsOn = start; p.endsOn = end
        if let municipality = node.child("Municipality"), let oktmo = municipality.attributes["oktmo"] {
            let name = municipality.text.trimmingCharacters(in: .whitespacesAndNewlines)
            p.municipality = Municipality(oktmo: oktmo, name: name.isEmpty ? nil : name)
        }
        let updated = data.applyWrite(.programs, id) { $0.record = .program(p) }!
        return Self.item(id, "Принято", modifiedAt: updated.updatedAt)
    }

    /// `<CertificateStatus number=… expectedModifiedAt=…>Закрыт</CertificateStatus>`.
    func certificateStatus(_ node: ES2Node) -> String {
        guard let number = node.attributes["number"], !number.isEmpty else {
            return Self.rejected("", "Не указан номер сертификата")
        }
        guard let current = data.entry(.certificates, number), !current.deleted, case var .certificate(c) = current.record else {
            return Self.rejected(number, "Сертификат не найден")
        }
        guard let expected = node.attributes["expectedModifiedAt"] else {
            return Self.rejected(number, "Не указано expectedModifiedAt")
        }
        guard let same = Self.matches(expected, current) else { return Self.rejected(number, "Неверный формат expectedModifiedAt") }
        guard same else { return Self.conflict(number) }
        let text = node.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let status: CertificateStatus = Self.value(text, KemerovoAPI.certificateStatus) else {
            return Self.rejected(number, "Неизвестный статус сертификата")
        }
        c.status = status
        let updated = data.applyWrite(.certificates, number) { $0.record = .certificate(c) }!
        return Self.item(number, "Принято", modifiedAt: updated.updatedAt)
    }
}
