public import DopsyncModel

/// One field changed differently at the gateway and in the region since
/// their last common version.
public struct FieldConflict: Sendable, Equatable {
    /// The field's dotted path (`provider.name`).
    public var path: String
    /// The value in the last common version (`null` when it had none).
    public var base: JSONValue
    public var gateway: JSONValue
    public var region: JSONValue

    public init(path: String, base: JSONValue, gateway: JSONValue, region: JSONValue) {
        self.path = path; self.base = base; self.gateway = gateway; self.region = region
    }
}

/// A three-way merge of normalized records against their last common version.
///
/// For every field: changed on one side only, that side's value is taken;
/// changed on both sides to the same value, that value; changed on both sides
/// differently, the region's value is kept (the region is the system of
/// record) and the field is reported as a conflict, so it is not pushed. The
/// region's identity and stamps (`source_version`…) always come from the
/// region.
public enum ThreeWayMerge {
    /// Fields only the region sets.
    public static let regionOwned: Set<String> = ["region", "source_id", "source_updated_at", "source_version", "deleted"]

    /// Merges `gateway` (base with local edits) and `region` (the region's
    /// new state) against `base`.
    ///
    /// - Returns: the merged record (shaped as `region`) and the fields in conflict.
    public static func merge(base: JSONValue, gateway: JSONValue,
                             region: JSONValue) -> (merged: JSONValue, conflicts: [FieldConflict]) {
        var merged = region
        var conflicts: [FieldConflict] = []
        for path in region.leafPaths where !regionOwned.contains(path) {
            let b = base.value(atPath: path) ?? .null
            let g = gateway.value(atPath: path) ?? .null
            let r = region.value(atPath: path) ?? .null
            if g == b || g == r { continue }
            if r == b {
                merged = merged.setting(path: path, to: g) ?? merged
            } else {
                conflicts.append(FieldConflict(path: path, base: b, gateway: g, region: r))
            }
        }
        return (merged, conflicts)
    }

    /// The fields where `gateway` differs from `region`: what the gateway
    /// still has to send. Region-owned fields never count.
    public static func changes(from region: JSONValue, to gateway: JSONValue) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for path in gateway.leafPaths where !regionOwned.contains(path) {
            let g = gateway.value(atPath: path) ?? .null
            if g != (region.value(atPath: path) ?? .null) { out[path] = g }
        }
        return out
    }
}
