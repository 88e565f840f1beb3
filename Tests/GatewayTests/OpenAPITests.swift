import DopsyncStore
import DopsyncTesting
import Foundation
import Gateway
import Testing
import Yams

@Suite("contracts/gateway.openapi.yaml describes exactly the routes the router has")
struct OpenAPITests {
    static let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options"]

    func spec() throws -> [String: Any] {
        let text = try String(contentsOfFile: repositoryPath("contracts/gateway.openapi.yaml"), encoding: .utf8)
        return try #require(try Yams.load(yaml: text) as? [String: Any])
    }

    /// `METHOD /path/{param}` of every operation in the document.
    func documented() throws -> Set<String> {
        let paths = try #require(try spec()["paths"] as? [String: Any])
        var operations = Set<String>()
        for (path, item) in paths {
            for method in (item as? [String: Any] ?? [:]).keys where Self.methods.contains(method) {
                operations.insert("\(method.uppercased()) \(path)")
            }
        }
        return operations
    }

    /// `METHOD /path/{param}` of every route registered on the router.
    func registered() throws -> Set<String> {
        let environment = GatewayEnvironment(store: try Store.inMemory(), regions: [], link: try temporaryLinkKey())
        return GatewayRoutes.operations(environment: environment)
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteExists() throws {
        let registered = try registered()
        let documented = try documented()
        #expect(registered.count >= 12)
        #expect(registered.subtracting(documented).isEmpty, "routes missing from the spec: \(registered.subtracting(documented).sorted())")
        #expect(documented.subtracting(registered).isEmpty, "spec paths with no route: \(documented.subtracting(registered).sorted())")
    }

    @Test func everyProtectedOperationDocumentsItsAuthErrorsAndEveryParameter() throws {
        let paths = try #require(try spec()["paths"] as? [String: Any])
        for (path, item) in paths {
            for (method, value) in item as? [String: Any] ?? [:] where Self.methods.contains(method) {
                let operation = try #require(value as? [String: Any])
                let responses = try #require(operation["responses"] as? [String: Any], "\(method) \(path)")
                let open = (operation["security"] as? [Any])?.isEmpty == true
                // The console authenticates with its own session cookie, not a bearer token.
                #expect(open == (["/healthz", "/metrics"].contains(path) || path == "/console" || path.hasPrefix("/console/")),
                        "\(method) \(path): security")
                if !open {
                    #expect(responses["401"] != nil && responses["403"] != nil, "\(method) \(path): 401 and 403")
                }
                // Every {param} of the path is declared.
                let declared = (operation["parameters"] as? [[String: Any]] ?? []).compactMap { p -> String? in
                    if let name = p["name"] as? String { return name }
                    return (p["$ref"] as? String)?.hasSuffix("/Id") == true ? "id" : nil
                }
                for segment in path.split(separator: "/") where segment.hasPrefix("{") {
                    #expect(declared.contains(String(segment.dropFirst().dropLast())), "\(method) \(path): \(segment)")
                }
            }
        }
    }
}
