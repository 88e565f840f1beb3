// Dotted member paths (`provider.name`) over JSON objects: what edits, merges
// and whole-record writes are made of.

extension JSONValue {
    /// The dotted paths of every leaf of an object, in member order: a
    /// nested object contributes its members' paths, anything else (arrays
    /// included) is a leaf. A value that is not an object has no paths.
    public var leafPaths: [String] {
        guard case let .object(members) = self else { return [] }
        var paths: [String] = []
        for (key, value) in members {
            if case .object = value {
                paths += value.leafPaths.map { key + "." + $0 }
            } else {
                paths.append(key)
            }
        }
        return paths
    }

    /// A copy with the member at a dotted path set to `newValue`, adding the
    /// member (and the objects on its way) when absent; `nil` when a member
    /// on the way is not an object.
    public func setting(path: String, to newValue: JSONValue) -> JSONValue? {
        let parts = path.split(separator: ".", maxSplits: 1).map(String.init)
        guard case var .object(members) = self, let key = parts.first else { return nil }
        let index = members.firstIndex { $0.0 == key }
        let inner: JSONValue
        if parts.count == 1 {
            inner = newValue
        } else {
            guard let v = (index.map { members[$0].1 } ?? .object([])).setting(path: parts[1], to: newValue) else { return nil }
            inner = v
        }
        if let index { members[index].1 = inner } else { members.append((key, inner)) }
        return .object(members)
    }
}
