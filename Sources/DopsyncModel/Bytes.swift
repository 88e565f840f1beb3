// Byte-level helpers of the decode path: reading a String's UTF-8 in place,
// and writing short ASCII text without intermediate Strings.

/// Calls `body` with the UTF-8 bytes of `text`, in place.
@inline(__always)
func withUTF8Bytes<R>(of text: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    if let r = text.utf8.withContiguousStorageIfAvailable(body) { return r }
    var text = text
    return text.withUTF8(body)
}

/// Builds short ASCII text (dates, times, integers) in a stack buffer,
/// without the intermediate strings of interpolation. Room for eight numbers
/// of any size and their separators.
@inline(__always)
func formatASCII(_ body: (inout ASCIIWriter) -> Void) -> String {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 192) { buffer in
        var w = ASCIIWriter(buffer: buffer)
        body(&w)
        return String(decoding: UnsafeBufferPointer(rebasing: buffer[..<w.count]), as: UTF8.self)
    }
}

struct ASCIIWriter {
    let buffer: UnsafeMutableBufferPointer<UInt8>
    var count = 0

    init(buffer: UnsafeMutableBufferPointer<UInt8>) { self.buffer = buffer }

    @inline(__always)
    mutating func byte(_ b: UInt8) {
        buffer[count] = b
        count += 1
    }

    /// What `pad(n, width)` gives: the decimal text of `n`, with zeros put in
    /// front until it has `width` characters (the minus sign counts as one,
    /// and comes after the zeros).
    mutating func padded(_ n: Int, _ width: Int) {
        // The usual case, a field of a date or time: exactly `width` digits.
        if width == 2, n >= 0, n < 100 {
            byte(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: n / 10))
            byte(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: n % 10))
            return
        }
        var digits = 1
        var rest = n.magnitude / 10
        while rest > 0 { digits += 1; rest /= 10 }
        let length = digits + (n < 0 ? 1 : 0)
        var zeros = width - length
        while zeros > 0 { byte(UInt8(ascii: "0")); zeros -= 1 }
        if n < 0 { byte(UInt8(ascii: "-")) }
        var m = n.magnitude
        var i = count + digits - 1
        while i >= count {
            buffer[i] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: m % 10)
            m /= 10
            i -= 1
        }
        count += digits
    }
}
