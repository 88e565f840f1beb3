import DopsyncConfig
import DopsyncModel
import DopsyncTesting
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import Regions
@testable import Simulator
import SyncEngine
import Testing
import Transport

/// An XML element read whole with Foundation's parser (test documents are small).
struct XMLNode {
    var name: String
    var attributes: [String: String]
    var children: [XMLNode] = []
    var text = ""

    func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }

    /// Reads a document in whatever encoding its prolog declares.
    static func parse(_ bytes: [UInt8]) throws -> XMLNode {
        final class Builder: NSObject, XMLParserDelegate {
            var stack: [XMLNode] = []
            var root: XMLNode?
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                        attributes: [String: String] = [:]) {
                stack.append(XMLNode(name: name, attributes: attributes))
            }
            func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
                let node = stack.removeLast()
                if stack.isEmpty { root = node } else { stack[stack.count - 1].children.append(node) }
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) {
                if !stack.isEmpty { stack[stack.count - 1].text += string }
            }
        }
        let builder = Builder()
        let parser = XMLParser(data: Data(bytes))
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else {
            throw XMLSchemaError("not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?")")
        }
        return root
    }

    /// The element as XML text, attributes in name order.
    var xml: String {
        let attrs = attributes.sorted { $0.key < $1.key }.map { " \($0.key)=\"\(Self.escape($0.value))\"" }.joined()
        if children.isEmpty && text.isEmpty { return "<\(name)\(attrs)/>" }
        return "<\(name)\(attrs)>\(Self.escape(text.trimmingCharacters(in: .whitespacesAndNewlines)))"
            + children.map(\.xml).joined() + "</\(name)>"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

struct XMLSchemaError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// The subset of XML Schema that contracts/regions/kemerovo.xsd uses, read
/// from the file and checked in Swift: named simple types (pattern,
/// enumeration, min/maxInclusive), complex types with attributes, a
/// sequence or a choice of elements, simple content, and complex content
/// extending another type.
struct XMLSchema {
    struct SimpleType { var base: String; var patterns: [String] = []; var enumerations: [String] = []; var min: Int?; var max: Int? }
    struct Attribute { var name: String; var type: String; var required: Bool }
    struct Element { var name: String; var type: TypeRef; var min: Int; var max: Int }
    indirect enum TypeRef { case named(String), inline(ComplexType) }
    enum Content { case empty, simple(String), sequence([Element]), choice([Element], min: Int, max: Int) }
    struct ComplexType { var attributes: [Attribute] = []; var content: Content = .empty }

    var simpleTypes: [String: SimpleType] = [:]
    var complexTypes: [String: ComplexType] = [:]
    var elements: [String: TypeRef] = [:]

    init(path: String) throws {
        let root = try XMLNode.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        for node in root.children {
            switch node.name {
            case "xs:simpleType":
                let r = node.child("xs:restriction")!
                var t = SimpleType(base: r.attributes["base"]!)
                for facet in r.children {
                    let v = facet.attributes["value"]!
                    switch facet.name {
                    case "xs:pattern": t.patterns.append(v)
                    case "xs:enumeration": t.enumerations.append(v)
                    case "xs:minInclusive": t.min = Int(v)
                    case "xs:maxInclusive": t.max = Int(v)
                    default: throw XMLSchemaError("facet \(facet.name) is not supported")
                    }
                }
                simpleTypes[node.attributes["name"]!] = t
            case "xs:complexType":
                complexTypes[node.attributes["name"]!] = try Self.complexType(node)
            case "xs:element":
                elements[node.attributes["name"]!] = try Self.typeRef(node)
            default:
                break
            }
        }
        // Complex content extends its base: the base's sequence, then its own.
        for (name, t) in complexTypes {
            guard case let .sequence(own) = t.content, own.first?.name == "#extends" else { continue }
            guard case let .named(baseName) = own[0].type, let base = complexTypes[baseName],
                  case let .sequence(inherited) = base.content else { throw XMLSchemaError("\(name): bad extension") }
            complexTypes[name] = ComplexType(attributes: base.attributes + t.attributes,
                                             content: .sequence(inherited + own.dropFirst()))
        }
    }

    static func typeRef(_ element: XMLNode) throws -> TypeRef {
        if let type = element.attributes["type"] { return .named(type) }
        guard let inline = element.child("xs:complexType") else { throw XMLSchemaError("\(element.attributes["name"] ?? "?") has no type") }
        return .inline(try complexType(inline))
    }

    static func occurs(_ text: String?, _ default: Int) -> Int { text == "unbounded" ? Int.max : text.flatMap(Int.init) ?? `default` }

    static func elementDecl(_ node: XMLNode) throws -> Element {
        Element(name: node.attributes["name"]!, type: try typeRef(node),
                min: occurs(node.attributes["minOccurs"], 1), max: occurs(node.attributes["maxOccurs"], 1))
    }

    static func attributes(_ node: XMLNode) -> [Attribute] {
        node.children.filter { $0.name == "xs:attribute" }.map {
            Attribute(name: $0.attributes["name"]!, type: $0.attributes["type"]!, required: $0.attributes["use"] == "required")
        }
    }

    static func complexType(_ node: XMLNode) throws -> ComplexType {
        var t = ComplexType(attributes: attributes(node))
        if let seq = node.child("xs:sequence") {
            t.content = .sequence(try seq.children.filter { $0.name == "xs:element" }.map(elementDecl))
        } else if let choice = node.child("xs:choice") {
            t.content = .choice(try choice.children.filter { $0.name == "xs:element" }.map(elementDecl),
                                min: occurs(choice.attributes["minOccurs"], 1), max: occurs(choice.attributes["maxOccurs"], 1))
        } else if let simple = node.child("xs:simpleContent")?.child("xs:extension") {
            t.content = .simple(simple.attributes["base"]!)
            t.attributes = attributes(simple)
        } else if let complex = node.child("xs:complexContent")?.child("xs:extension") {
            // Resolved once every type is read (see init).
            let own = try complex.child("xs:sequence").map { try $0.children.filter { $0.name == "xs:element" }.map(elementDecl) } ?? []
            t.content = .sequence([Element(name: "#extends", type: .named(complex.attributes["base"]!), min: 0, max: 0)] + own)
            t.attributes = attributes(complex)
        }
        return t
    }

    // MARK: Validation

    /// Problems of a document whose root must be the global element `root`;
    /// `seen` collects `Type.Element` and `Type@attribute` of what appeared.
    func validate(_ node: XMLNode, root: String, seen: inout Set<String>) -> [String] {
        guard node.name == root, let type = elements[root] else { return ["expected <\(root)>, found <\(node.name)>"] }
        var problems: [String] = []
        validate(node, type, typeName: root, path: root, seen: &seen, problems: &problems)
        return problems
    }

    func validate(_ node: XMLNode, _ ref: TypeRef, typeName: String, path: String, seen: inout Set<String>, problems: inout [String]) {
        let type: ComplexType
        switch ref {
        case let .inline(t): type = t
        case let .named(name):
            guard let t = complexTypes[name] else {
                if !node.children.isEmpty { problems.append("\(path): elements inside a simple value") }
                if let p = check(node.text.trimmingCharacters(in: .whitespacesAndNewlines), name) { problems.append("\(path): \(p)") }
                return
            }
            type = t
        }
        let typeLabel: String = if case let .named(n) = ref { n } else { typeName }
        for a in type.attributes {
            guard let v = node.attributes[a.name] else {
                if a.required { problems.append("\(path)@\(a.name): required attribute missing") }
                continue
            }
            seen.insert("\(typeLabel)@\(a.name)")
            if let p = check(v, a.type) { problems.append("\(path)@\(a.name): \(p)") }
        }
        for name in node.attributes.keys where !type.attributes.contains(where: { $0.name == name }) {
            problems.append("\(path)@\(name): attribute not in the schema")
        }
        let text = node.text.trimmingCharacters(in: .whitespacesAndNewlines)
        func child(_ c: XMLNode, _ decl: Element) {
            seen.insert("\(typeLabel).\(decl.name)")
            validate(c, decl.type, typeName: decl.name, path: "\(path).\(c.name)", seen: &seen, problems: &problems)
        }
        switch type.content {
        case .empty:
            if !node.children.isEmpty || !text.isEmpty { problems.append("\(path): must be empty") }
        case let .simple(base):
            if !node.children.isEmpty { problems.append("\(path): elements inside simple content") }
            if let p = check(text, base) { problems.append("\(path): \(p)") }
        case let .sequence(decls):
            if !text.isEmpty { problems.append("\(path): text between elements") }
            var i = 0
            for decl in decls {
                var n = 0
                while i < node.children.count, node.children[i].name == decl.name, n < decl.max {
                    child(node.children[i], decl)
                    i += 1; n += 1
                }
                if n < decl.min { problems.append("\(path): <\(decl.name)> missing or out of order") }
            }
            for extra in node.children[i...] { problems.append("\(path): unexpected <\(extra.name)>") }
        case let .choice(decls, min, max):
            if !text.isEmpty { problems.append("\(path): text between elements") }
            if node.children.count < min || node.children.count > max { problems.append("\(path): \(node.children.count) elements") }
            for c in node.children {
                guard let decl = decls.first(where: { $0.name == c.name }) else {
                    problems.append("\(path): unexpected <\(c.name)>"); continue
                }
                child(c, decl)
            }
        }
    }

    /// Why `value` is not of the simple type, or nil.
    func check(_ value: String, _ typeName: String) -> String? {
        switch typeName {
        case "xs:string": return nil
        case "xs:integer": return Int(value) == nil ? "\"\(value)\" is not an integer" : nil
        case "xs:nonNegativeInteger": return (Int(value) ?? -1) < 0 ? "\"\(value)\" is not a non-negative integer" : nil
        default: break
        }
        guard let t = simpleTypes[typeName] else { return "unknown type \(typeName)" }
        if let p = check(value, t.base) { return p }
        if !t.patterns.isEmpty, !t.patterns.contains(where: { value.range(of: "^(?:\($0))$", options: .regularExpression) != nil }) {
            return "\"\(value)\" does not match \(typeName)"
        }
        if !t.enumerations.isEmpty, !t.enumerations.contains(value) { return "\"\(value)\" is not one of \(typeName)" }
        if let min = t.min, let v = Int(value), v < min { return "\(v) is below \(min)" }
        if let max = t.max, let v = Int(value), v > max { return "\(v) is above \(max)" }
        return nil
    }

    /// Every element and attribute a complex type declares, as `validate` names them.
    func declared(in typeName: String) -> Set<String> {
        guard let t = complexTypes[typeName] else { return [] }
        var out = Set(t.attributes.map { "\(typeName)@\($0.name)" })
        switch t.content {
        case let .sequence(decls), let .choice(decls, _, _):
            for d in decls {
                out.insert("\(typeName).\(d.name)")
                if case let .named(n) = d.type { out.formUnion(declared(in: n)) }
            }
        default: break
        }
        return out
    }
}

/// A client of the simulated exchange, as a test speaks to it directly.
struct ExchangeClient {
    let http: HTTPClient
    let baseURL: String
    var clientID = "gateway"

    init(_ settings: RegionSettings) throws {
        http = try HTTPClient(configuration: HTTPClientConfiguration(tls: TLSOptions(
            caFile: settings["ca_file"], clientCertFile: settings["client_cert_file"], clientKeyFile: settings["client_key_file"])))
        baseURL = settings["base_url"]!
    }

    /// POSTs a document; `ES2-429` is waited out for a second, as the page says.
    func post(_ path: String, _ body: [UInt8]) async throws -> HTTPResponse {
        while true {
            let response = try await http.execute(HTTPRequest(
                method: "POST", url: baseURL + path,
                headers: [("Content-Type", "application/xml"), ("X-ES2-Client", clientID)], body: body))
            if response.status == 500, let fault = try? XMLNode.parse(response.body), fault.attributes["code"] == "ES2-429" {
                try await Task.sleep(for: .seconds(1))
                continue
            }
            return response
        }
    }

    func post(_ path: String, _ document: String) async throws -> HTTPResponse {
        try await post(path, Array(("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + document).utf8))
    }
}

/// The simulated exchange's answers, and the adapter's requests, against
/// contracts/regions/kemerovo.xsd.
@Suite("Kemerovo's exchange follows its schema")
struct KemerovoContractTests {
    let schema: XMLSchema

    init() throws { schema = try XMLSchema(path: repositoryPath("contracts/regions/kemerovo.xsd")) }

    func expectValid(_ node: XMLNode, _ root: String, seen: inout Set<String>, sourceLocation: SourceLocation = #_sourceLocation) {
        let problems = schema.validate(node, root: root, seen: &seen)
        #expect(problems.isEmpty, "\(problems.prefix(5))", sourceLocation: sourceLocation)
    }

    func expectValid(_ node: XMLNode, _ root: String, sourceLocation: SourceLocation = #_sourceLocation) {
        var seen = Set<String>()
        expectValid(node, root, seen: &seen, sourceLocation: sourceLocation)
    }

    @Test func exportAnswersFollowTheSchemaAndCarryEveryDocumentedField() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["kemerovo"], scale: 80) { $0.invalidRecords = 0 }
        defer { Task { await gateway.stop() } }
        let client = try ExchangeClient(gateway.kemerovoSettings)
        var seen = Set<String>()
        for collection in CollectionName.allCases {
            let request = KemerovoExchange.exportRequest(entity: KemerovoMapping.entity(collection), changedSince: nil,
                                                         offset: 0, count: 1000)
            expectValid(try XMLNode.parse(Array(request.utf8)), "ExportRequest")
            let response = try await client.post(KemerovoExchange.exportPath, Array(request.utf8))
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/xml; charset=windows-1251")
            // windows-1251 as the prolog says, so not UTF-8 where there is Cyrillic text (charges have none).
            #expect(response.body.starts(with: Array("<?xml version=\"1.0\" encoding=\"windows-1251\"?>".utf8)))
            if collection != .charges { #expect(String(validating: response.body, as: UTF8.self) == nil) }
            let answer = try XMLNode.parse(response.body)
            expectValid(answer, "ExportResponse", seen: &seen)
            #expect(answer.children.count == gateway.simulator.data("kemerovo").recordCount(collection))
            #expect(answer.attributes["count"] == String(answer.children.count))
        }
        let documented = ["Program", "Certificate", "Contract", "Charge"].reduce(into: Set<String>()) {
            $0.formUnion(schema.declared(in: $1))
        }
        #expect(documented.count > 50)
        #expect(documented.subtracting(seen).isEmpty, "never rendered: \(documented.subtracting(seen).sorted())")

        let since = KemerovoExchange.exportRequest(entity: "Charge", changedSince: Timestamp(seconds: 1_788_000_000),
                                                   offset: 40, count: 7)
        expectValid(try XMLNode.parse(Array(since.utf8)), "ExportRequest")
    }

    @Test func faultsFollowTheSchema() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["kemerovo"], scale: 10)
        defer { Task { await gateway.stop() } }
        var client = try ExchangeClient(gateway.kemerovoSettings)
        for (document, code) in [("<ExportRequest entity=\"Program\" offset=\"0\" count=\"2000\"/>", "ES2-400"),
                                 ("<ExportRequest entity=\"Pupil\" offset=\"0\" count=\"10\"/>", "ES2-400"),
                                 ("<ImportStatusRequest id=\"no-such-package\"/>", "ES2-404")] {
            let path = document.hasPrefix("<Import") ? "/es2/exchange/import-status" : KemerovoExchange.exportPath
            let response = try await client.post(path, document)
            #expect(response.status == 500)
            let fault = try XMLNode.parse(response.body)
            expectValid(fault, "Fault")
            #expect(fault.attributes["code"] == code)
        }
        client.clientID = "stranger"
        let refused = try await client.post(KemerovoExchange.exportPath, "<ExportRequest entity=\"Program\" offset=\"0\" count=\"10\"/>")
        let fault = try XMLNode.parse(refused.body)
        expectValid(fault, "Fault")
        #expect(refused.status == 500 && fault.attributes["code"] == "ES2-403" && fault.text == "Клиент не зарегистрирован")
    }

    /// Import packages, as documented: a receipt at once, `В обработке` for
    /// a while, then `Обработан` with one item per change (`Принято`,
    /// `Конфликт` on a stale `ExpectedModifiedAt`, `Отклонено` with the
    /// reason); a package id seen before applies nothing again.
    @Test func importPackagesAreAppliedOnceAndReported() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["kemerovo"], scale: 30) { $0.invalidRecords = 0 }
        defer { Task { await gateway.stop() } }
        let kemerovo = gateway.simulator.data("kemerovo")
        let client = try ExchangeClient(gateway.kemerovoSettings)
        func export(_ entity: String) async throws -> [XMLNode] {
            try XMLNode.parse(try await client.post(KemerovoExchange.exportPath,
                                                    "<ExportRequest entity=\"\(entity)\" offset=\"0\" count=\"1000\"/>").body).children
        }
        let programs = try await export("Program"), certificates = try await export("Certificate")
        func text(_ node: XMLNode, _ name: String) -> String { node.child(name)!.text }

        var changed = programs[0]
        changed.children[changed.children.firstIndex { $0.name == "Name" }!].text = "Робототехника: продвинутый курс"
        changed.children.append(XMLNode(name: "ExpectedModifiedAt", attributes: [:], text: text(programs[0], "ModifiedAt")))
        var undirected = programs[1]
        undirected.children.removeAll { $0.name == "Direction" }
        undirected.children.append(XMLNode(name: "ExpectedModifiedAt", attributes: [:], text: text(programs[1], "ModifiedAt")))
        let stale = XMLNode(name: "CertificateStatus", attributes: ["number": text(certificates[0], "Number"),
                                                                    "expectedModifiedAt": "01.01.2020 00:00:00"], text: "Закрыт")
        let closing = XMLNode(name: "CertificateStatus", attributes: ["number": text(certificates[1], "Number"),
                                                                      "expectedModifiedAt": text(certificates[1], "ModifiedAt")],
                              text: "Закрыт")
        let id = UUID().uuidString
        let valid = XMLNode(name: "ImportPackage", attributes: ["id": id], children: [changed, stale, closing])
        expectValid(valid, "ImportPackage")
        let package = XMLNode(name: "ImportPackage", attributes: ["id": id], children: [changed, stale, undirected, closing])

        // Held until the first status answer, so that it is seen in processing.
        kemerovo.holdAsyncProcessing(true)
        let receipt = try await client.post("/es2/exchange/import", package.xml)
        #expect(receipt.status == 202)
        let receiptNode = try XMLNode.parse(receipt.body)
        expectValid(receiptNode, "ImportReceipt")
        #expect(receiptNode.attributes == ["id": id, "status": "Принят"])

        let statusRequest = "<ImportStatusRequest id=\"\(id)\"/>"
        expectValid(try XMLNode.parse(Array(statusRequest.utf8)), "ImportStatusRequest")
        var status = try XMLNode.parse(try await client.post("/es2/exchange/import-status", statusRequest).body)
        expectValid(status, "ImportStatus")
        #expect(status.attributes["status"] == "В обработке" && status.children.isEmpty)
        #expect(kemerovo.writesApplied == 0)
        kemerovo.holdAsyncProcessing(false)
        // The package is processed asynchronously: ask until it is (the page's own protocol).
        let deadline = ContinuousClock.now + .seconds(10)
        while status.attributes["status"] == "В обработке" && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            status = try XMLNode.parse(try await client.post("/es2/exchange/import-status", statusRequest).body)
        }
        expectValid(status, "ImportStatus")
        #expect(status.attributes["status"] == "Обработан")
        let items = status.children.map { ($0.attributes["ref"]!, $0.attributes["result"]!, $0.attributes["reason"]) }
        #expect(items.count == 4)
        guard items.count == 4 else { return }
        #expect(items[0].0 == text(programs[0], "Id") && items[0].1 == "Принято" && status.children[0].attributes["modifiedAt"] != nil)
        #expect(items[1].0 == text(certificates[0], "Number") && items[1].1 == "Конфликт" && items[1].2 == "Запись изменена")
        #expect(items[2].0 == text(programs[1], "Id") && items[2].1 == "Отклонено" && items[2].2 == "Не указана направленность")
        #expect(items[3].0 == text(certificates[1], "Number") && items[3].1 == "Принято")
        #expect(kemerovo.writesApplied == 2)

        // The changes are what the exchange now exports.
        let now = try await export("Program")
        let after = try #require(now.first { text($0, "Id") == text(programs[0], "Id") })
        #expect(text(after, "Name") == "Робототехника: продвинутый курс")
        #expect(text(after, "ModifiedAt") == status.children[0].attributes["modifiedAt"])
        #expect(now.last.map { text($0, "Id") } == text(programs[0], "Id"), "a change moves the record to the end")

        // The same package id again: the first receipt. And a package in
        // windows-1251, as its prolog says, sent after it: once that one is
        // processed, a wrongly kept repeat would have been too.
        let again = try await client.post("/es2/exchange/import", package.xml)
        #expect(again.status == 202 && again.body == receipt.body)
        let cp1251 = UUID().uuidString
        let suspend = "<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<ImportPackage id=\"\(cp1251)\">"
            + "<CertificateStatus number=\"\(text(certificates[2], "Number"))\" expectedModifiedAt=\"\(text(certificates[2], "ModifiedAt"))\">"
            + "Приостановлен</CertificateStatus></ImportPackage>"
        #expect(try await client.post("/es2/exchange/import", Array(suspend.data(using: .windowsCP1251)!)).status == 202)
        var second = XMLNode(name: "", attributes: ["status": "В обработке"])
        // A deadline of its own: on a loaded machine the first one may be spent already.
        let secondDeadline = ContinuousClock.now + .seconds(15)
        while second.attributes["status"] == "В обработке" && ContinuousClock.now < secondDeadline {
            try await Task.sleep(for: .milliseconds(100))
            second = try XMLNode.parse(try await client.post("/es2/exchange/import-status", "<ImportStatusRequest id=\"\(cp1251)\"/>").body)
        }
        #expect(second.children.first?.attributes["result"] == "Принято")
        guard case let .certificate(c)? = kemerovo.entry(.certificates, text(certificates[2], "Number"))?.record else {
            Issue.record("certificate missing"); return
        }
        #expect(c.status == .suspended)
        let repeated = try XMLNode.parse(try await client.post("/es2/exchange/import-status", statusRequest).body)
        #expect(repeated.xml == status.xml)
        #expect(kemerovo.writesApplied == 3, "the repeated package applied nothing")

        // A sync reads what the packages changed.
        let report = try await gateway.sync()
        #expect(report.succeeded, "\(report.failures)")
        for collection in CollectionName.allCases {
            #expect(try gateway.export(collection) == kemerovo.expectedExport(collection), "\(collection)")
        }
    }

    /// The adapter's packages: a program rebuilt from its raw record with
    /// the changed fields and `ExpectedModifiedAt`, a certificate's status.
    @Test func theAdaptersImportPackagesFollowTheSchema() throws {
        let raw = """
            <Program><Id>P-000123</Id><Name>Робототехника</Name>\
            <Organization inn="4205000000" ogrn="1024200000000" type="Частная">ООО «Роботы»</Organization>\
            <Direction>Техническая</Direction><Age from="7" to="12"/><Hours>144</Hours><MonthPrice>1250,00</MonthPrice>\
            <Registry>Сертифицированная</Registry><Municipality oktmo="32701000">Кемеровский городской округ</Municipality>\
            <Form>Очная</Form><Status>Опубликована</Status><Period start="01.09.2026" end="31.05.2027"/>\
            <ModifiedAt>01.09.2026 10:00:00</ModifiedAt></Program>
            """
        let change = OutgoingChange(
            entryID: 1, idempotencyKey: "7d9f2c1e-0000-4000-8000-000000000001", region: "42", collection: .programs,
            sourceID: "P-000123",
            fields: ["title": .string("Шахматы & шашки"), "price_month_kopecks": .int(125_050), "direction": .string("art"),
                     "provider.kind": .string("individual"), "ends_on": .string("2027-06-30")],
            record: .null, baseVersion: nil, baseUpdatedAt: "2026-09-01T03:00:00Z", raw: raw)
        let item = try KemerovoImport.item(for: change)
        let package = try XMLNode.parse(Array(KemerovoImport.package(id: change.idempotencyKey, items: [item.text]).utf8))
        expectValid(package, "ImportPackage")
        let program = try #require(package.children.first)
        #expect(program.child("Name")?.text == "Шахматы & шашки" && program.child("MonthPrice")?.text == "1250,50")
        #expect(program.child("Direction")?.text == "Художественная" && program.child("Organization")?.attributes["type"] == "ИП")
        #expect(program.child("Period")?.attributes["end"] == "30.06.2027")
        #expect(program.child("ExpectedModifiedAt")?.text == "01.09.2026 10:00:00")

        let certificate = OutgoingChange(
            entryID: 2, idempotencyKey: "7d9f2c1e-0000-4000-8000-000000000002", region: "42", collection: .certificates,
            sourceID: "4200012345", fields: ["status": .string("closed")], record: .null, baseVersion: nil,
            baseUpdatedAt: "2026-10-01T05:00:00Z",
            raw: "<Certificate><Number>4200012345</Number><Status>Действует</Status><ModifiedAt>01.10.2026 12:00:00</ModifiedAt></Certificate>")
        let closing = try XMLNode.parse(Array(KemerovoImport.package(id: certificate.idempotencyKey,
                                                                     items: [try KemerovoImport.item(for: certificate).text]).utf8))
        expectValid(closing, "ImportPackage")
        #expect(closing.children.first?.attributes == ["number": "4200012345", "expectedModifiedAt": "01.10.2026 12:00:00"])
        #expect(closing.children.first?.text == "Закрыт")
    }
}
