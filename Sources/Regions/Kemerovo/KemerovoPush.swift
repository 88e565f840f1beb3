public import DopsyncModel
internal import Foundation
internal import Transport

/// Kemerovo's writes (regions/kemerovo.md, "Writing: import packages").
///
/// One change is one package whose id is the change's `idempotencyKey`:
/// a program goes whole, rebuilt from the last raw `<Program>` with the
/// changed fields written in and `<ExpectedModifiedAt>` added; a
/// certificate's status goes as `<CertificateStatus number=…
/// expectedModifiedAt=…>`. The package is sent (`202 … status="Принят"`),
/// then its status asked a few times, a second apart, for at most
/// `statusPolls` answers (`defaultStatusPolls`); still `В обработке` after that, the push answers
/// `.accepted`, and the engine sends the same change again on its next push.
/// Sending the package again is harmless and is what makes a retry, a lost
/// receipt or a killed sync safe: "a package id seen before answers the
/// first receipt again and applies nothing", and the status then tells what
/// the first sending did.
///
/// `Конфликт` carries no record, so the adapter reads the region's current
/// one with an export from the change's `ExpectedModifiedAt` (inclusive: the
/// record moved on past it) and answers `.stale(current:)` with it, so that
/// the engine merges as a pull would and sends what is left at once. Only
/// when that export does not list the record (it was deleted, or is bad) is
/// the answer `.stale(current: nil)`.
extension KemerovoAdapter {
    static let importPath = "/es2/exchange/import"
    static let importStatusPath = "/es2/exchange/import-status"
    /// Status answers asked per push, one second apart, unless told
    /// otherwise: about 10 seconds (the region "processes within minutes";
    /// the simulator after 4 seconds, so a test sync finishes its push).
    public static let defaultStatusPolls = 11

    public func push(_ change: OutgoingChange) async throws(RegionError) -> PushOutcome {
        let name = Self.descriptor.name
        func fail(_ message: String, url: String? = nil) -> RegionError {
            RegionError(region: name, collection: change.collection, url: url, "\(change.sourceID): \(message)")
        }
        let item: KemerovoImport.Item
        do {
            item = try KemerovoImport.item(for: change)
        } catch let error as KemerovoImport.Unwritable {
            return .rejected(error.reason)
        } catch {
            throw fail("\(error)")
        }
        let package = KemerovoImport.package(id: change.idempotencyKey, items: [item.text])
        do {
            try await exchange(change.collection, path: Self.importPath, body: package, expecting: 202) { response in
                try KemerovoImport.parseReceipt(response.body, id: change.idempotencyKey)
            }
            for poll in 1...statusPolls {
                let status = try await exchange(change.collection, path: Self.importStatusPath,
                                                body: KemerovoImport.statusRequest(id: change.idempotencyKey)) { response in
                    try KemerovoImport.parseStatus(response.body, id: change.idempotencyKey)
                }
                guard let results = status else {
                    if poll < statusPolls { try await Task.sleep(for: .seconds(1)) }
                    continue
                }
                guard let result = results.first(where: { $0.ref == change.sourceID }) else {
                    throw fail("the processed package \(change.idempotencyKey) has no item for the record",
                               url: baseURL + Self.importStatusPath)
                }
                switch result.result {
                case "Принято":
                    guard let text = result.modifiedAt,
                          let modifiedAt = try? Timestamp(localDotted: text, offsetSeconds: KemerovoMapping.offset) else {
                        throw fail("an accepted item without a modifiedAt time", url: baseURL + Self.importStatusPath)
                    }
                    return .applied(item.applied(modifiedAt: modifiedAt, mapping: mapping, collection: change.collection))
                case "Конфликт":
                    return .stale(current: try await current(change, since: item.expected))
                case "Отклонено":
                    return .rejected(result.reason ?? "the region refused the change (Отклонено)")
                default:
                    throw fail("unknown item result \"\(result.result)\"", url: baseURL + Self.importStatusPath)
                }
            }
            return .accepted
        } catch let error as RegionError {
            throw error
        } catch let fault as KemerovoFault {
            throw fail(fault.description, url: fault.url)
        } catch is CancellationError {
            throw fail("cancelled")
        } catch {
            throw fail("\(error)")
        }
    }

    /// The region's current record after a `Конфликт`: read from an export
    /// of records changed since `expected`, or `nil` when it lists none.
    func current(_ change: OutgoingChange, since expected: Timestamp) async throws -> PageItem? {
        var offset = 0
        while true {
            let page = try await fetchPage(change.collection, since: expected.seconds, offset: offset)
            for (item, key) in zip(page.items, page.keys) where key.key == change.sourceID {
                if case .upsert = item { return item }
                return nil
            }
            offset += page.items.count
            if page.items.isEmpty || offset >= (page.total ?? 0) { return nil }
        }
    }
}

/// The documents of import packages, and the mapping of normalized fields
/// back onto the wire (the inverse of `KemerovoMapping`, by its tables).
enum KemerovoImport {
    /// A change the exchange cannot carry: the push answers `.rejected`.
    struct Unwritable: Error { var reason: String }

    /// One package item, and the wire record it writes.
    struct Item {
        /// The `<Program>` or `<CertificateStatus>` element.
        var text: String
        /// The record as it stands once written, without `ExpectedModifiedAt`.
        var record: XMLElementNode
        /// The `ModifiedAt` the write is based on.
        var expected: Timestamp

        /// The record as a pull reads it once the region applied it at `modifiedAt`.
        func applied(modifiedAt: Timestamp, mapping: KemerovoMapping, collection: CollectionName) -> PageItem {
            var node = record
            node.setChild("ModifiedAt", text: modifiedAt.localDotted(offsetSeconds: KemerovoMapping.offset))
            return mapping.decode(node, raw: node.xml, collection: collection)
        }
    }

    static func package(id: String, items: [String]) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ImportPackage id=\"\(XMLText.escape(id))\">\n"
            + items.map { "  " + $0 + "\n" }.joined() + "</ImportPackage>\n"
    }

    static func statusRequest(id: String) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ImportStatusRequest id=\"\(XMLText.escape(id))\"/>\n"
    }

    /// The package item for a change.
    ///
    /// - Throws: `Unwritable` for a field the exchange has no place for,
    ///   `XMLSyntaxError` or `ValueError` when the last raw record cannot be read.
    static func item(for change: OutgoingChange) throws -> Item {
        var record = try parse(change.raw)
        let expected: Timestamp
        if let base = change.baseUpdatedAt {
            expected = try Timestamp(iso: base)
        } else {
            expected = try KemerovoMapping().timestamp(WireElement(record), "ModifiedAt")
        }
        let expectedText = expected.localDotted(offsetSeconds: KemerovoMapping.offset)
        switch change.collection {
        case .programs:
            guard record.name == "Program" else { throw Unwritable(reason: "the last raw record is no <Program>") }
            for (field, value) in change.sortedFields { try set(field, value, in: &record) }
            record.children.removeAll { $0.name == "ExpectedModifiedAt" }
            var element = record
            element.children.append(XMLElementNode(name: "ExpectedModifiedAt", text: expectedText))
            return Item(text: element.xml, record: record, expected: expected)
        case .certificates:
            guard change.fields.count == 1, let value = change.fields["status"] else {
                throw Unwritable(reason: "only status of a certificate can be written to Kemerovo")
            }
            let status = try code(value, KemerovoMapping.certificateStatuses, field: "status")
            guard let number = record.children.first(where: { $0.name == "Number" }).map({ trimmed($0.text) }),
                  number == change.sourceID else {
                throw Unwritable(reason: "the last raw record is not certificate \(change.sourceID)")
            }
            record.setChild("Status", text: status)
            let text = "<CertificateStatus number=\"\(XMLText.escape(number))\" expectedModifiedAt=\"\(expectedText)\">"
                + XMLText.escape(status) + "</CertificateStatus>"
            return Item(text: text, record: record, expected: expected)
        case .contracts, .charges:
            throw Unwritable(reason: "\(change.collection.rawValue) cannot be changed through the gateway")
        }
    }

    static func parse(_ raw: String) throws -> XMLElementNode {
        var parser = XMLPullParser(Array(raw.utf8))
        guard case let .start(name, attributes, selfClosing, _)? = try parser.next() else {
            throw XMLSyntaxError("no element", offset: 0)
        }
        if selfClosing { return XMLElementNode(name: name, attributes: attributes) }
        return try parser.readElement(name: name, attributes: attributes)
    }

    /// Writes one normalized program field into the wire record.
    static func set(_ field: String, _ value: JSONValue, in p: inout XMLElementNode) throws {
        func text() throws -> String {
            guard case let .string(s) = value else { throw Unwritable(reason: "\(field): expected text") }
            return s
        }
        func int() throws -> Int {
            guard case let .number(n) = value, let i = Int(n) else { throw Unwritable(reason: "\(field): expected a whole number") }
            return i
        }
        func date() throws -> String {
            guard case let .string(s) = value, let d = try? LocalDate(iso: s) else {
                throw Unwritable(reason: "\(field): Kemerovo requires a date")
            }
            return d.dotted
        }
        switch field {
        case "title": p.setChild("Name", text: try text())
        case "provider.inn": p.setAttribute("inn", to: try text(), of: "Organization")
        case "provider.ogrn":
            if case .null = value { p.setAttribute("ogrn", to: "", of: "Organization") } else {
                p.setAttribute("ogrn", to: try text(), of: "Organization")
            }
        case "provider.name": p.setChild("Organization", text: try text())
        case "provider.kind": p.setAttribute("type", to: try code(value, KemerovoMapping.kinds, field: field), of: "Organization")
        case "direction": p.setChild("Direction", text: try code(value, KemerovoMapping.directions, field: field))
        case "age_min": p.setAttribute("from", to: String(try int()), of: "Age")
        case "age_max": p.setAttribute("to", to: String(try int()), of: "Age")
        case "hours_total":
            if case .null = value { p.setChild("Hours", text: "") } else { p.setChild("Hours", text: String(try int())) }
        case "price_month_kopecks":
            guard case let .number(n) = value, let k = try? Kopecks(kopecksText: n) else {
                throw Unwritable(reason: "\(field): expected kopecks")
            }
            p.setChild("MonthPrice", text: k.roubles(separator: ","))
        case "registry": p.setChild("Registry", text: try code(value, KemerovoMapping.registries, field: field))
        case "municipality.oktmo": p.setAttribute("oktmo", to: try text(), of: "Municipality")
        case "municipality.name":
            if case .null = value { p.setChild("Municipality", text: "") } else { p.setChild("Municipality", text: try text()) }
        case "format": p.setChild("Form", text: try code(value, KemerovoMapping.formats, field: field))
        case "status": p.setChild("Status", text: try code(value, KemerovoMapping.programStatuses, field: field))
        case "starts_on": p.setAttribute("start", to: try date(), of: "Period")
        case "ends_on": p.setAttribute("end", to: try date(), of: "Period")
        case "description": throw Unwritable(reason: "description: Kemerovo's programs carry no description")
        default: throw Unwritable(reason: "\(field) cannot be written to Kemerovo")
        }
    }

    /// The Russian value of a model code, by the mapping's own table.
    static func code<T: RawRepresentable>(_ value: JSONValue, _ table: [String: T], field: String) throws -> String
        where T.RawValue == String {
        guard case let .string(s) = value, let russian = table.first(where: { $0.value.rawValue == s })?.key else {
            throw Unwritable(reason: "\(field): \(value.serialized()) has no Kemerovo value")
        }
        return russian
    }

    /// Reads `<ImportReceipt id=… status="Принят"/>`.
    static func parseReceipt(_ body: [UInt8], id: String) throws {
        let root = try parse(String(decoding: try XMLText.utf8(body), as: UTF8.self))
        guard root.name == "ImportReceipt", root.attribute("id") == id else {
            throw XMLSyntaxError("expected <ImportReceipt id=\"\(id)\">, found <\(root.name)>", offset: 0)
        }
        guard root.attribute("status") == "Принят" else {
            throw KemerovoFault(code: "receipt", text: "the package was not received: status \(root.attribute("status") ?? "(none)")",
                                collection: nil, url: KemerovoAdapter.importPath)
        }
    }

    struct ItemResult: Equatable {
        var ref: String
        var result: String
        var modifiedAt: String?
        var reason: String?
    }

    /// Reads `<ImportStatus>`: `nil` while `В обработке`, the items once `Обработан`.
    static func parseStatus(_ body: [UInt8], id: String) throws -> [ItemResult]? {
        let root = try parse(String(decoding: try XMLText.utf8(body), as: UTF8.self))
        guard root.name == "ImportStatus", root.attribute("id") == id else {
            throw XMLSyntaxError("expected <ImportStatus id=\"\(id)\">, found <\(root.name)>", offset: 0)
        }
        switch root.attribute("status") {
        case "В обработке": return nil
        case "Обработан":
            return root.children.filter { $0.name == "Item" }.map {
                ItemResult(ref: $0.attribute("ref") ?? "", result: $0.attribute("result") ?? "",
                           modifiedAt: $0.attribute("modifiedAt"), reason: $0.attribute("reason"))
            }
        case let other:
            throw XMLSyntaxError("unknown package status \(other ?? "(none)")", offset: 0)
        }
    }
}

extension XMLElementNode {
    init(name: String, text: String) {
        self.init(name: name)
        self.text = text
    }

    /// Sets the text of the first child so named, adding it when absent.
    mutating func setChild(_ name: String, text: String) {
        if let i = children.firstIndex(where: { $0.name == name }) { children[i].text = text } else {
            children.append(XMLElementNode(name: name, text: text))
        }
    }

    /// Sets an attribute of the first child so named, adding both when absent.
    mutating func setAttribute(_ attribute: String, to value: String, of child: String) {
        if !children.contains(where: { $0.name == child }) { children.append(XMLElementNode(name: child)) }
        let i = children.firstIndex { $0.name == child }!
        if let j = children[i].attributes.firstIndex(where: { $0.name == attribute }) {
            children[i].attributes[j].value = value
        } else {
            children[i].attributes.append((attribute, value))
        }
    }

    /// The element as XML text (UTF-8, no prolog); an element with children
    /// keeps no text of its own (what lay between them was whitespace).
    var xml: String {
        var s = "<" + name
        for a in attributes { s += " \(a.name)=\"\(XMLText.escape(a.value))\"" }
        if children.isEmpty {
            let t = trimmed(text)
            return t.isEmpty && attributes.count > 0 ? s + "/>" : s + ">" + XMLText.escape(t) + "</\(name)>"
        }
        return s + ">" + children.map(\.xml).joined() + "</\(name)>"
    }
}
