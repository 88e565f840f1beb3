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
        try self.init(String(text))
    }

    /// Reads either wire form from a `String`: the bytes are read in place
    /// and both forms written from one stack buffer.
    public init(_ text: String) throws(ValueError) {
        let read = withUTF8Bytes(of: text) { bytes -> Result<(digits: String, formatted: String), ValueError> in
            // The eleven digit values, as in `NNN-NNN-NNN CC`'s positions 0-2, 4-6, 8-10, 12-13.
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 11) { d in
                if bytes.count == 11 {
                    for i in 0..<11 {
                        let b = bytes[i]
                        guard b >= 0x30, b <= 0x39 else { return .failure(ValueError("СНИЛС is not eleven digits")) }
                        d[i] = b - 0x30
                    }
                } else if bytes.count == 14 {
                    var n = 0
                    for i in 0..<14 {
                        let b = bytes[i]
                        switch i {
                        case 3, 7:
                            guard b == UInt8(ascii: "-") else { return .failure(ValueError("СНИЛС is not in the form NNN-NNN-NNN CC")) }
                        case 11:
                            guard b == UInt8(ascii: " ") else { return .failure(ValueError("СНИЛС is not in the form NNN-NNN-NNN CC")) }
                        default:
                            guard b >= 0x30, b <= 0x39 else { return .failure(ValueError("СНИЛС is not in the form NNN-NNN-NNN CC")) }
                            d[n] = b - 0x30
                            n += 1
                        }
                    }
                } else {
                    return .failure(ValueError("СНИЛС is neither eleven digits nor NNN-NNN-NNN CC"))
                }
                var body = 0
                for i in 0..<9 { body = body * 10 + Int(d[i]) }
                let check = Int(d[9]) * 10 + Int(d[10])
                // Numbers up to 001-001-998 were issued before the checksum rule.
                if body > 1_001_998 {
                    guard Snils.checksum(UnsafeBufferPointer(rebasing: d[0..<9])) == check else {
                        return .failure(ValueError("СНИЛС checksum does not match"))
                    }
                }
                return .success(withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 14) { f in
                    for i in 0..<11 { f[i] = d[i] + 0x30 }
                    let digits = String(decoding: UnsafeBufferPointer(rebasing: f[0..<11]), as: UTF8.self)
                    // NNN-NNN-NNN CC, from the back so the digits move only forward.
                    f[12] = f[9]; f[13] = f[10]; f[11] = UInt8(ascii: " ")
                    f[10] = f[8]; f[9] = f[7]; f[8] = f[6]; f[7] = UInt8(ascii: "-")
                    f[6] = f[5]; f[5] = f[4]; f[4] = f[3]; f[3] = UInt8(ascii: "-")
                    return (digits, String(decoding: UnsafeBufferPointer(f), as: UTF8.self))
                })
            }
        }
        switch read {
        case let .success((digits, formatted)):
            self.digits = digits
            self.formatted = formatted
        case let .failure(error):
            throw error
        }
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
