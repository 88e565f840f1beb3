public import DopsyncModel
internal import Foundation

/// The repository's root, found from this file's place in it.
public func repositoryPath(_ relative: String) -> String {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.appendingPathComponent(relative).path
}

/// One case of `regions/<name>/fixtures/cases.json`: a wire record and what
/// the gateway must make of it.
public struct FixtureCase: Sendable {
    public enum Expectation: Sendable {
        case record(JSONValue)
        case delete(sourceID: String, updatedAt: String?, version: String?)
        case quarantine(sourceID: String?, reason: String)
    }

    public let region: String
    public let name: String
    public let collection: CollectionName
    /// The wire record's text (JSON as written in the file, or an XML string).
    public let wire: String
    public let expectation: Expectation

    public var testDescription: String { "\(region): \(name)" }

    /// The cases of a region, or none when it has no fixture file.
    public static func load(region: String) -> [FixtureCase] {
        let path = repositoryPath("regions/\(region)/fixtures/cases.json")
        guard let data = FileManager.default.contents(atPath: path),
              case let .array(items) = try? JSONParser.parse(Array(data)) else { return [] }
        return items.compactMap { item -> FixtureCase? in
            guard case let .string(name)? = item["name"], case let .string(c)? = item["collection"],
                  let collection = CollectionName(rawValue: c), let wireValue = item["wire"] else { return nil }
            let wire: String
            if case let .string(s) = wireValue { wire = s } else { wire = wireValue.serialized() }
            let expectation: Expectation
            if let e = item["expect"] {
                expectation = .record(e)
            } else if let d = item["delete"], case let .string(id)? = d["source_id"] {
                var updated: String? = nil, version: String? = nil
                if case let .string(u)? = d["source_updated_at"] { updated = u }
                if case let .string(v)? = d["source_version"] { version = v }
                expectation = .delete(sourceID: id, updatedAt: updated, version: version)
            } else if let q = item["quarantine"], case let .string(reason)? = q["reason"] {
                var id: String? = nil
                if case let .string(s)? = q["source_id"] { id = s }
                expectation = .quarantine(sourceID: id, reason: reason)
            } else {
                return nil
            }
            return FixtureCase(region: region, name: name, collection: collection, wire: wire, expectation: expectation)
        }
    }
}

