/// What an operator may change at the gateway (interface.md, `edit`):
/// every field of a program but its identity and the region's own stamps,
/// and the status of a certificate. Values are written as text on the command
/// line and read here into the normalized form, strictly.
public enum EditableFields {
    /// The type of an editable field's value.
    public enum Kind: Sendable, Equatable {
        case text, optionalText
        /// Text that may be empty (a program's description: `""` where there is none).
        case textOrEmpty
        /// A string of digits of one of the lengths (ИНН, ОГРН, ОКТМО).
        case digits(Set<Int>, optional: Bool)
        case integer, optionalInteger
        /// Money: a whole, non-negative number of kopecks.
        case kopecks
        case optionalDate
        /// One of the listed codes.
        case code([String])
    }

    /// Identity and stamps: set by the region, never by an operator.
    static let fixed: [String: String] = [
        "region": "is the record's identity", "source_id": "is the record's identity",
        "source_updated_at": "is set by the region", "source_version": "is set by the region",
        "deleted": "is set by the region",
    ]

    static func codes<E: CaseIterable & RawRepresentable>(_: E.Type) -> Kind where E.RawValue == String {
        .code(E.allCases.map(\.rawValue))
    }

    /// The editable fields of each collection, in export order.
    public static func fields(of collection: CollectionName) -> [(path: String, kind: Kind)] {
        switch collection {
        case .programs:
            return [
                ("title", .text), ("description", .textOrEmpty),
                ("provider.inn", .digits([10, 12], optional: false)), ("provider.ogrn", .digits([13, 15], optional: true)),
                ("provider.name", .text), ("provider.kind", codes(ProviderKind.self)),
                ("direction", codes(Direction.self)), ("age_min", .integer), ("age_max", .integer),
                ("hours_total", .optionalInteger), ("price_month_kopecks", .kopecks),
                ("registry", codes(Registry.self)),
                ("municipality.oktmo", .digits([8], optional: false)), ("municipality.name", .optionalText),
                ("format", codes(ProgramFormat.self)), ("status", codes(ProgramStatus.self)),
                ("starts_on", .optionalDate), ("ends_on", .optionalDate),
            ]
        case .certificates:
            return [("status", codes(CertificateStatus.self))]
        case .contracts, .charges:
            return []
        }
    }

    /// The kind of `path` in `collection`.
    ///
    /// - Throws: `ValueError` (its path the field) saying why the field cannot be edited.
    public static func kind(of path: String, in collection: CollectionName) throws(ValueError) -> Kind {
        let editable = fields(of: collection)
        if let kind = editable.first(where: { $0.path == path })?.kind { return kind }
        if editable.isEmpty {
            throw ValueError("\(collection.rawValue) cannot be edited at the gateway (programs: any field but identity; certificates: status)",
                             path: path)
        }
        if let why = fixed[path] { throw ValueError("\(why) and cannot be edited", path: path) }
        if collection == .certificates {
            throw ValueError("only status of a certificate can be edited", path: path)
        }
        throw ValueError("\(collection.rawValue) has no such field (editable: \(editable.map(\.path).joined(separator: ", ")))",
                         path: path)
    }

    /// Reads `FIELD=VALUE` of `collection` into the path and its normalized value.
    ///
    /// - Throws: `ValueError` naming the field when it cannot be edited or the value does not fit it.
    public static func assignment(_ text: String, in collection: CollectionName) throws(ValueError) -> (path: String, value: JSONValue) {
        guard let eq = text.firstIndex(of: "=") else {
            throw ValueError("\"\(text)\" is not FIELD=VALUE")
        }
        let path = trimmed(String(text[..<eq]))
        let kind = try kind(of: path, in: collection)
        return (path, try value(String(text[text.index(after: eq)...]), kind: kind, path: path))
    }

    /// Reads the text of a value of `kind`; `null` clears an optional field.
    static func value(_ raw: String, kind: Kind, path: String) throws(ValueError) -> JSONValue {
        let text = trimmed(raw)
        func fail(_ why: String) -> ValueError { ValueError(why, path: path) }
        let isNull = text == "null"
        switch kind {
        case .text:
            guard !text.isEmpty else { throw fail("must not be empty") }
            return .string(text)
        case .optionalText:
            return isNull || text.isEmpty ? .null : .string(text)
        case .textOrEmpty:
            return .string(text)
        case let .digits(lengths, optional):
            if optional && isNull { return .null }
            guard lengths.contains(text.utf8.count), text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw fail("\"\(text)\" is not \(lengths.sorted().map(String.init).joined(separator: " or ")) digits")
            }
            return .string(text)
        case .integer, .optionalInteger:
            if kind == .optionalInteger && isNull { return .null }
            guard let n = Int(text) else { throw fail("\"\(text)\" is not a whole number") }
            return .int(n)
        case .kopecks:
            guard let n = Int64(text) else {
                throw fail("\"\(text)\" is not a whole number of kopecks (money is given in kopecks: 125050 for 1250.50)")
            }
            guard n >= 0 else { throw fail("must not be negative") }
            return .int(n)
        case .optionalDate:
            if isNull { return .null }
            do { return .string(try LocalDate(iso: text).description) } catch { throw fail(error.reason) }
        case let .code(values):
            guard values.contains(text) else {
                throw fail("\"\(text)\" is not one of \(values.joined(separator: ", "))")
            }
            return .string(text)
        }
    }
}
