public import DopsyncModel

/// Reads of the fields the JSON regions share (times, dates, municipality,
/// a provider's registration numbers, СНИЛС), each failure naming the field.
extension WireObject {
    /// A time with an offset (ISO 8601), as UTC.
    public func timestamp(_ key: String) throws(ValueError) -> Timestamp {
        let s = try string(key)
        return try located(key) { () throws(ValueError) in try Timestamp(iso: s) }
    }

    /// A date `YYYY-MM-DD`.
    public func date(_ key: String) throws(ValueError) -> LocalDate {
        let s = try string(key)
        return try located(key) { () throws(ValueError) in try LocalDate(iso: s) }
    }

    /// A date of birth `YYYY-MM-DD`. Unlike `date`, an error never quotes the
    /// value: it is personal data.
    public func birthDate(_ key: String) throws(ValueError) -> LocalDate {
        try personal(key, expected: "a date YYYY-MM-DD") { () throws(ValueError) in try LocalDate(iso: try string(key)) }
    }

    /// The object `key` as a municipality: an eight-digit ОКТМО and an
    /// optional name.
    public func municipality(_ key: String = "municipality") throws(ValueError) -> Municipality {
        let m = try object(key)
        let oktmo = try m.string("oktmo")
        return Municipality(
            oktmo: try m.located("oktmo") { () throws(ValueError) in try WireRules.digits(oktmo, lengths: [8], what: "ОКТМО") },
            name: try m.optionalString("name"))
    }

    /// An ИНН of 10 (an organisation) or 12 (a person) digits.
    public func inn(_ key: String = "inn") throws(ValueError) -> String {
        let s = try string(key)
        return try located(key) { () throws(ValueError) in try WireRules.digits(s, lengths: [10, 12], what: "ИНН") }
    }

    /// An ОГРН of 13 or an ОГРНИП of 15 digits.
    public func ogrn(_ key: String = "ogrn") throws(ValueError) -> String {
        guard let s = try optionalOgrn(key) else { throw fail(key, "is missing") }
        return s
    }

    /// An ОГРН of 13 or an ОГРНИП of 15 digits, or `nil` when absent.
    public func optionalOgrn(_ key: String = "ogrn") throws(ValueError) -> String? {
        guard let s = try optionalString(key) else { return nil }
        return try located(key) { () throws(ValueError) in try WireRules.digits(s, lengths: [13, 15], what: "ОГРН") }
    }

    /// A СНИЛС whose checksum holds, or `nil` when absent or null. The number
    /// is never quoted in an error.
    public func optionalSnils(_ key: String = "snils") throws(ValueError) -> Snils? {
        guard let s = try optionalString(key) else { return nil }
        return try located(key) { () throws(ValueError) in try Snils(s) }
    }
}
