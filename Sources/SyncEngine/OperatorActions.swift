public import DopsyncModel
public import DopsyncStore
internal import Regions

// What an operator asks for, read once for both faces of the gateway: the
// commands (`edit`, `conflicts resolve`, `quarantine retry`) and the operator
// HTTP API. Each face only turns its own syntax (options, JSON, a form) into
// these calls, and its errors into its own (exit 2, HTTP 400).

/// An operator's request that cannot be taken as given: which field, and why.
/// Never holds personal data (fields are program fields or a certificate's
/// status, regions and ids).
public struct OperatorInputError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The field of the request, as the HTTP API names it (`take`, `set.title`,
    /// `close`, `reason`, `region`); the command line prefixes `--`.
    public var field: String
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(field): \(reason)" }
}

/// Reads operators' requests into what the store does.
public enum OperatorInput {
    /// A region given by name (`omsk`) or code (`55`), as its code; `nil` when
    /// no region adapter has it.
    public static func regionCode(_ nameOrCode: String) -> String? {
        regionAdapters.first { $0.descriptor.name == nameOrCode || $0.descriptor.code == nameOrCode }?.descriptor.code
    }

    /// A region's name by its code, or the code itself.
    public static func regionName(code: String) -> String {
        regionAdapters.first { $0.descriptor.code == code }?.descriptor.name ?? code
    }

    /// Field assignments as text (`title`, `Шахматы`), read strictly into
    /// normalized values with `EditableFields`.
    ///
    /// - Throws: `OperatorInputError` whose field is `set.<path>`.
    public static func assignments(_ pairs: [(path: String, text: String)],
                                   in collection: CollectionName) throws(OperatorInputError) -> [(path: String, value: JSONValue)] {
        var result: [(path: String, value: JSONValue)] = []
        for (path, text) in pairs {
            guard !path.contains("=") else {
                throw OperatorInputError(field: "set.\(trimmed(path))", reason: "a field name has no \"=\"")
            }
            do {
                result.append(try EditableFields.assignment("\(path)=\(text)", in: collection))
            } catch {
                throw OperatorInputError(field: "set.\(trimmed(path))", reason: error.reason)
            }
        }
        return result
    }

    /// `FIELD=VALUE` texts (the command line's `--set`) as path and text.
    ///
    /// - Throws: `OperatorInputError` (field `set`) for a text without `=`.
    public static func pairs(_ texts: [String]) throws(OperatorInputError) -> [(path: String, text: String)] {
        var result: [(path: String, text: String)] = []
        for text in texts {
            guard let eq = text.firstIndex(of: "=") else {
                throw OperatorInputError(field: "set", reason: "\"\(text)\" is not FIELD=VALUE")
            }
            result.append((trimmed(String(text[..<eq])), String(text[text.index(after: eq)...])))
        }
        return result
    }

    /// A JSON value of a `set` object as the text `EditableFields` reads:
    /// strings as they are, numbers as written, `null` as `null`.
    public static func text(of value: JSONValue) -> String? {
        switch value {
        case let .string(s): s
        case let .number(n): n
        case .null: "null"
        default: nil
        }
    }

    /// `REGION:SOURCE_ID` (region by name or code) of a certificate to close.
    ///
    /// - Throws: `OperatorInputError` (field `close`).
    public static func certificate(_ text: String) throws(OperatorInputError) -> (region: String, sourceID: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[1].isEmpty, let code = regionCode(parts[0]) else {
            throw OperatorInputError(field: "close",
                                     reason: "\"\(text.prefix(60))\": expected REGION:SOURCE_ID with a known region, such as omsk:5500010001")
        }
        return (code, parts[1])
    }

    /// The ways to resolve a conflict, as named in requests.
    public enum Side: String, Sendable, CaseIterable { case region, gateway }

    /// Exactly one way of resolving a conflict, checked: `take`, `set`
    /// (assignments of the conflict's collection), `close` or `dismiss`
    /// (which needs a reason).
    ///
    /// - Parameter collection: the conflict's collection, to read `set`;
    ///   `nil` checks everything but the values of `set`.
    /// - Throws: `OperatorInputError` naming the field.
    public static func resolution(take: String?, set: [(path: String, text: String)], close: String?, dismiss: Bool,
                                  reason: String?, collection: CollectionName?) throws(OperatorInputError) -> ConflictResolution {
        let chosen = [take != nil, !set.isEmpty, close != nil, dismiss].filter { $0 }.count
        guard chosen == 1 else {
            throw OperatorInputError(field: "resolution",
                                     reason: "give exactly one of take (region|gateway), set (FIELD=VALUE…), close (REGION:SOURCE_ID), dismiss (with a reason)")
        }
        if let take {
            guard let side = Side(rawValue: take) else {
                throw OperatorInputError(field: "take", reason: "\"\(take.prefix(40))\" is not region or gateway")
            }
            return side == .region ? .takeRegion : .takeGateway
        }
        if !set.isEmpty {
            guard let collection else { return .set([]) }
            return .set(try assignments(set, in: collection))
        }
        if let close {
            let c = try certificate(close)
            return .closeCertificate(region: c.region, sourceID: c.sourceID)
        }
        guard !trimmed(reason ?? "").isEmpty else {
            throw OperatorInputError(field: "reason", reason: "dismissing a conflict needs a reason")
        }
        return .dismiss
    }

    /// What retrying one quarantined record did.
    public struct RetryOutcome: Sendable {
        public var id: Int64
        /// The record now passes and was taken.
        public var taken: Bool
        /// Why it is still quarantined, when it is.
        public var reason: String?
    }

    /// Decodes quarantined records again from their raw text (after a fix of
    /// the gateway) and takes those that now pass, without moving any
    /// position: the next sync goes on as before. Entries of regions without
    /// an adapter are left as they are.
    ///
    /// - Parameter entries: the entries to retry (open ones).
    /// - Throws: `StoreError` when the store fails.
    public static func retryQuarantined(_ entries: [QuarantineEntry], store: Store) throws(StoreError) -> [RetryOutcome] {
        var outcomes: [RetryOutcome] = []
        for e in entries {
            guard let adapter = regionAdapters.first(where: { $0.descriptor.code == e.region }) else { continue }
            switch adapter.decode(raw: e.raw, collection: e.collection) {
            case let .quarantine(_, _, reason):
                try store.requarantine(id: e.id, reason: reason)
                outcomes.append(RetryOutcome(id: e.id, taken: false, reason: reason))
            case let item:
                _ = try store.apply(region: e.region, collection: e.collection, items: [item], position: nil)
                try store.resolveQuarantine(id: e.id, resolution: "taken on retry")
                outcomes.append(RetryOutcome(id: e.id, taken: true, reason: nil))
            }
        }
        return outcomes
    }
}
