/// Lowercase hexadecimal of bytes: digests, keys and tokens as text.
extension Sequence where Element == UInt8 {
    /// Inlinable so that it is specialized for the caller's sequence (a
    /// digest, say): called through the generic Sequence it spent more time
    /// in witness-table calls per byte than in the work.
    @inlinable
    public var hexString: String {
        var out: [UInt8] = []
        out.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            let high = byte >> 4, low = byte & 0x0F
            // "0"-"9" are 0x30-0x39, "a"-"f" 0x61-0x66.
            out.append(high < 10 ? 0x30 + high : 0x57 + high)
            out.append(low < 10 ? 0x30 + low : 0x57 + low)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
