/// A СНИЛС (individual insurance account number): eleven digits, the last two
/// a checksum of the first nine.
///
/// The normalized form is `NNN-NNN-NNN CC`. Its `description` is that form, so
/// never interpolate a `Snils` into a log line or an error message.
public struct Snils: Sendable, Hashable {
    /// The normalized text, `NNN-NNN-NNN CC`.
    public let formatted: String
    /// The eleven digits without separators.
    public let digits: String

    /// Reads either wire form: eleven digits (`11223344595`) or
    /// `NNN-NNN-NNN CC`.
    ///
    /// - Throws: `ValueError` (never quoting the number) when the text has
    ///   another form or the checksum fails.
    public init(_ text: some StringProtocol) throws(ValueError) {
        let bytes = Array(text.utf8)
        var d: [UInt8] = []
        if bytes.count == 11 {
            guard bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw ValueError("СНИЛС is not eleven digits")
            }
            d = bytes.map { $0 - 0x30 }
        } else if bytes.count == 14 {
            for (i, b) in bytes.enumerated() {
                switch i {
                case 3, 7: guard b == UInt8(ascii: "-") else { throw ValueError("СНИЛС is not in the form NNN-NNN-NNN CC") }
                case 11: guard b == UInt8(ascii: " ") else { throw ValueError("СНИЛС is not in the form NNN-NNN-NNN CC") }
                default:
                    guard b >= 0x30, b <= 0x39 else { throw ValueError("СНИЛС is not in the form NNN-NNN-NNN CC") }
                    d.append(b - 0x30)
                }
            }
        } else {
            throw ValueError("СНИЛС is neither eleven digits nor NNN-NNN-NNN CC")
        }
        let body = d[0..<9].reduce(0) { $0 * 10 + Int($1) }
        let check = Int(d[9]) * 10 + Int(d[10])
        // Numbers up to 001-001-998 were issued before the checksum rule.
        if body > 1_001_998 {
            guard Snils.checksum(d[0..<9]) == check else { throw ValueError("СНИЛС checksum does not match") }
        }
        let s = d.map { Character(Unicode.Scalar($0 + 0x30)) }
        digits = String(s)
        formatted = "\(String(s[0..<3]))-\(String(s[3..<6]))-\(String(s[6..<9])) \(String(s[9..<11]))"
    }

    /// The checksum of nine digits: each digit times its position from the
    /// right (9…1), summed, modulo 101, with 100 written as 00.
    public static func checksum(_ nine: some Collection<UInt8>) -> Int {
        var sum = 0
        for (i, digit) in nine.enumerated() { sum += Int(digit) * (9 - i) }
        let r = sum % 101
        return r == 100 ? 0 : r
    }
}
