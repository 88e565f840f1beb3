/// The four collections every regional system holds, named as in `export`.
public enum CollectionName: String, Sendable, CaseIterable, Hashable, Comparable {
    case programs, certificates, contracts, charges

    public static func < (a: CollectionName, b: CollectionName) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// A provider's kind of organisation.
public enum ProviderKind: String, Sendable, CaseIterable { case state, municipal, `private`, individual }

/// The six directions (направленности) fixed by federal order.
public enum Direction: String, Sendable, CaseIterable {
    case technical, natural_science, sport, art, tourism, social
}

/// The registry a program is in, which says who pays for it.
public enum Registry: String, Sendable, CaseIterable { case certified, significant, municipal, paid }

/// How a program is taught.
public enum ProgramFormat: String, Sendable, CaseIterable { case offline, online, mixed }

/// Where a program stands in the catalogue.
public enum ProgramStatus: String, Sendable, CaseIterable { case draft, published, archived }

/// Financing certificates carry money; accounting ones only record attendance.
public enum CertificateType: String, Sendable, CaseIterable { case financing, accounting }

/// Whether a certificate can be used.
public enum CertificateStatus: String, Sendable, CaseIterable { case active, suspended, closed }

/// Where an enrollment stands.
public enum ContractStatus: String, Sendable, CaseIterable { case application, active, terminated, completed }

extension RawRepresentable where RawValue == String, Self: CaseIterable {
    /// Reads a normalized value, naming the allowed ones when it is none of them.
    public init(normalized text: String) throws(ValueError) {
        guard let v = Self(rawValue: text) else {
            throw ValueError("\"\(text)\" is not one of \(Self.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = v
    }
}

/// Splits a full name by the model's rule: first word the last name, second
/// the first name, the rest (possibly several words, as `Гасан оглы`) the
/// middle name or `nil`.
///
/// - Throws: `ValueError` when there are fewer than two words (the value is
///   not quoted: it is personal data).
public func splitFullName(_ text: String) throws(ValueError) -> (last: String, first: String, middle: String?) {
    let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\u{00A0}" })
    guard words.count >= 2 else { throw ValueError("full name has fewer than two words") }
    let middle = words.count > 2 ? words[2...].joined(separator: " ") : nil
    return (String(words[0]), String(words[1]), middle)
}

/// Trims a name and folds runs of white space into single spaces.
public func normalizeName(_ text: String) -> String {
    text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\u{00A0}" }).joined(separator: " ")
}

/// Text as sent, trimmed of surrounding white space.
public func trimmed(_ text: String) -> String {
    var s = Substring(text)
    while let f = s.first, f.isWhitespace { s.removeFirst() }
    while let l = s.last, l.isWhitespace { s.removeLast() }
    return String(s)
}
