/// A calendar date without time or zone, `YYYY-MM-DD`.
public struct LocalDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// A validated date.
    ///
    /// - Throws: `ValueError` when the day does not exist in that month.
    public init(year: Int, month: Int, day: Int) throws(ValueError) {
        guard (1...9999).contains(year), (1...12).contains(month),
              (1...LocalDate.daysIn(month: month, year: year)).contains(day) else {
            throw ValueError("\(year)-\(month)-\(day) is not a calendar date")
        }
        self.year = year; self.month = month; self.day = day
    }

    /// Reads `YYYY-MM-DD`.
    public init(iso text: some StringProtocol) throws(ValueError) {
        try self.init(iso: String(text))
    }

    /// Reads `YYYY-MM-DD` from a `String`, in place.
    public init(iso text: String) throws(ValueError) {
        let parts = withUTF8Bytes(of: text) { b -> (Int, Int, Int)? in
            guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
                  let y = digits(b, 0, 4), let m = digits(b, 5, 2), let d = digits(b, 8, 2) else { return nil }
            return (y, m, d)
        }
        guard let (y, m, d) = parts else { throw ValueError("\"\(text)\" is not a date YYYY-MM-DD") }
        try self.init(year: y, month: m, day: d)
    }

    /// Reads `DD.MM.YYYY`.
    public init(dotted text: some StringProtocol) throws(ValueError) {
        try self.init(dotted: String(text))
    }

    /// Reads `DD.MM.YYYY` from a `String`, in place.
    public init(dotted text: String) throws(ValueError) {
        let parts = withUTF8Bytes(of: text) { b -> (Int, Int, Int)? in
            guard b.count == 10, b[2] == UInt8(ascii: "."), b[5] == UInt8(ascii: "."),
                  let d = digits(b, 0, 2), let m = digits(b, 3, 2), let y = digits(b, 6, 4) else { return nil }
            return (y, m, d)
        }
        guard let (y, m, d) = parts else { throw ValueError("\"\(text)\" is not a date DD.MM.YYYY") }
        try self.init(year: y, month: m, day: d)
    }

    public static func < (a: LocalDate, b: LocalDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    /// `YYYY-MM-DD`.
    public var description: String { formatASCII { $0.date(self) } }

    /// `DD.MM.YYYY`.
    public var dotted: String { formatASCII { $0.dottedDate(self) } }

    /// Days since 1970-01-01 (negative before it).
    public var daysSinceEpoch: Int { LocalDate.days(fromCivil: year, month, day) }

    /// The date `daysSinceEpoch` days after 1970-01-01.
    public init(daysSinceEpoch z: Int) {
        let (y, m, d) = LocalDate.civil(fromDays: z)
        year = y; month = m; day = d
    }

    /// Whole years from `birth` to `self` (an age on this date).
    public func years(since birth: LocalDate) -> Int {
        var age = year - birth.year
        if (month, day) < (birth.month, birth.day) { age -= 1 }
        return age
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's algorithms for the proleptic Gregorian calendar.
    static func days(fromCivil y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func civil(fromDays z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return (y, m, d)
    }
}

/// A month of a year, `YYYY-MM`.
public struct YearMonth: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int

    public init(year: Int, month: Int) throws(ValueError) {
        guard (1...9999).contains(year), (1...12).contains(month) else {
            throw ValueError("\(year)-\(month) is not a month")
        }
        self.year = year; self.month = month
    }

    /// Reads `YYYY-MM`.
    public init(iso text: some StringProtocol) throws(ValueError) {
        try self.init(iso: String(text))
    }

    /// Reads `YYYY-MM` from a `String`, in place.
    public init(iso text: String) throws(ValueError) {
        let parts = withUTF8Bytes(of: text) { b -> (Int, Int)? in
            guard b.count == 7, b[4] == UInt8(ascii: "-"), let y = digits(b, 0, 4), let m = digits(b, 5, 2) else { return nil }
            return (y, m)
        }
        guard let (y, m) = parts else { throw ValueError("\"\(text)\" is not a month YYYY-MM") }
        try self.init(year: y, month: m)
    }

    /// Reads `MM.YYYY`.
    public init(dotted text: some StringProtocol) throws(ValueError) {
        try self.init(dotted: String(text))
    }

    /// Reads `MM.YYYY` from a `String`, in place.
    public init(dotted text: String) throws(ValueError) {
        let parts = withUTF8Bytes(of: text) { b -> (Int, Int)? in
            guard b.count == 7, b[2] == UInt8(ascii: "."), let m = digits(b, 0, 2), let y = digits(b, 3, 4) else { return nil }
            return (y, m)
        }
        guard let (y, m) = parts else { throw ValueError("\"\(text)\" is not a month MM.YYYY") }
        try self.init(year: y, month: m)
    }

    public static func < (a: YearMonth, b: YearMonth) -> Bool { (a.year, a.month) < (b.year, b.month) }

    /// `YYYY-MM`.
    public var description: String {
        formatASCII { w in w.padded(year, 4); w.byte(UInt8(ascii: "-")); w.padded(month, 2) }
    }
    /// `MM.YYYY`.
    public var dotted: String {
        formatASCII { w in w.padded(month, 2); w.byte(UInt8(ascii: ".")); w.padded(year, 4) }
    }
}

/// An instant in UTC with seconds precision.
///
/// Read from any of the regions' forms (an ISO 8601 time with an offset, or a
/// local time with the region's fixed offset) and always written as
/// `YYYY-MM-DDTHH:MM:SSZ`.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let seconds: Int64

    public init(seconds: Int64) { self.seconds = seconds }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.seconds < b.seconds }

    /// Reads ISO 8601 with an offset: `2026-09-01T16:00:00+06:00`,
    /// `2026-09-01T03:00:00Z`; fractional seconds are dropped.
    ///
    /// - Throws: `ValueError` when the text has another form, has no offset,
    ///   or names a time that does not exist.
    public init(iso text: some StringProtocol) throws(ValueError) {
        try self.init(iso: String(text))
    }

    /// Reads ISO 8601 with an offset from a `String`, in place.
    public init(iso text: String) throws(ValueError) {
        let parts = withUTF8Bytes(of: text) { b -> LocalParts? in
            guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
                  b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
                  b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
                  let y = digits(b, 0, 4), let mo = digits(b, 5, 2), let d = digits(b, 8, 2),
                  let h = digits(b, 11, 2), let mi = digits(b, 14, 2), let s = digits(b, 17, 2) else {
                return nil
            }
            var i = 19
            if i < b.count, b[i] == UInt8(ascii: ".") {
                i += 1
                let start = i
                while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
                guard i > start else { return nil }
            }
            guard i < b.count else { return nil }
            var offset = 0
            if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
                guard i + 1 == b.count else { return nil }
            } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
                let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
                guard b.count == i + 6, b[i + 3] == UInt8(ascii: ":"),
                      let oh = digits(b, i + 1, 2), let om = digits(b, i + 4, 2), oh < 24, om < 60 else { return nil }
                offset = sign * (oh * 3600 + om * 60)
            } else {
                return nil
            }
            return LocalParts(y: y, mo: mo, d: d, h: h, mi: mi, s: s, offset: offset)
        }
        guard let p = parts else { throw ValueError("\"\(text)\" is not an ISO 8601 time with an offset") }
        try self.init(localYear: p.y, month: p.mo, day: p.d, hour: p.h, minute: p.mi, second: p.s, offsetSeconds: p.offset)
    }

    /// The fields of a time as read, before they are checked.
    private struct LocalParts {
        var y, mo, d, h, mi, s: Int
        var offset = 0
    }

    /// Reads a local time without an offset, `YYYY-MM-DD HH:MM:SS`, at a fixed
    /// offset from UTC.
    public init(localISO text: some StringProtocol, offsetSeconds: Int) throws(ValueError) {
        try self.init(localISO: String(text), offsetSeconds: offsetSeconds)
    }

    /// Reads `YYYY-MM-DD HH:MM:SS` from a `String`, in place.
    public init(localISO text: String, offsetSeconds: Int) throws(ValueError) {
        let parts = withUTF8Bytes(of: text) { b -> LocalParts? in
            guard b.count == 19, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: " "),
                  b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
                  let y = digits(b, 0, 4), let mo = digits(b, 5, 2), let d = digits(b, 8, 2),
                  let h = digits(b, 11, 2), let mi = digits(b, 14, 2), let s = digits(b, 17, 2) else { return nil }
            return LocalParts(y: y, mo: mo, d: d, h: h, mi: mi, s: s)
        }
        guard let p = parts else { throw ValueError("\"\(text)\" is not a time YYYY-MM-DD HH:MM:SS") }
        try self.init(localYear: p.y, month: p.mo, day: p.d, hour: p.h, minute: p.mi, second: p.s, offsetSeconds: offsetSeconds)
    }

    /// Reads a local time without an offset, `DD.MM.YYYY HH:MM:SS`, at a fixed
    /// offset from UTC.
    public init(localDotted text: some StringProtocol, offsetSeconds: Int) throws(ValueError) {
        try self.init(localDotted: String(text), offsetSeconds: offsetSeconds)
    }

    /// Reads `DD.MM.YYYY HH:MM:SS` from a `String`, in place.
    public init(localDotted text: String, offsetSeconds: Int) throws(ValueError) {
        let parts = withUTF8Bytes(of: text) { b -> LocalParts? in
            guard b.count == 19, b[2] == UInt8(ascii: "."), b[5] == UInt8(ascii: "."), b[10] == UInt8(ascii: " "),
                  b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
                  let d = digits(b, 0, 2), let mo = digits(b, 3, 2), let y = digits(b, 6, 4),
                  let h = digits(b, 11, 2), let mi = digits(b, 14, 2), let s = digits(b, 17, 2) else { return nil }
            return LocalParts(y: y, mo: mo, d: d, h: h, mi: mi, s: s)
        }
        guard let p = parts else { throw ValueError("\"\(text)\" is not a time DD.MM.YYYY HH:MM:SS") }
        try self.init(localYear: p.y, month: p.mo, day: p.d, hour: p.h, minute: p.mi, second: p.s, offsetSeconds: offsetSeconds)
    }

    /// A local wall-clock time at a fixed offset from UTC.
    public init(localYear y: Int, month mo: Int, day d: Int, hour h: Int, minute mi: Int, second s: Int,
                offsetSeconds: Int) throws(ValueError) {
        let date = try LocalDate(year: y, month: mo, day: d)
        guard (0...23).contains(h), (0...59).contains(mi), (0...59).contains(s) else {
            throw ValueError("\(pad(h, 2)):\(pad(mi, 2)):\(pad(s, 2)) is not a time of day")
        }
        seconds = Int64(date.daysSinceEpoch) * 86400 + Int64(h * 3600 + mi * 60 + s) - Int64(offsetSeconds)
    }

    /// The wall-clock parts at a fixed offset from UTC.
    public func local(offsetSeconds: Int) -> (date: LocalDate, hour: Int, minute: Int, second: Int) {
        let t = seconds + Int64(offsetSeconds)
        let days = Int((t >= 0 ? t : t - 86399) / 86400)
        let rest = Int(t - Int64(days) * 86400)
        return (LocalDate(daysSinceEpoch: days), rest / 3600, rest / 60 % 60, rest % 60)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`.
    public var description: String { iso(offsetSeconds: 0) }

    /// ISO 8601 at an offset: `Z` for zero, else `+HH:MM`.
    public func iso(offsetSeconds: Int) -> String {
        let l = local(offsetSeconds: offsetSeconds)
        return formatASCII { w in
            w.date(l.date)
            w.byte(UInt8(ascii: "T"))
            w.time(l.hour, l.minute, l.second)
            if offsetSeconds == 0 {
                w.byte(UInt8(ascii: "Z"))
            } else {
                let m = abs(offsetSeconds) / 60
                w.byte(offsetSeconds < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
                w.padded(m / 60, 2)
                w.byte(UInt8(ascii: ":"))
                w.padded(m % 60, 2)
            }
        }
    }

    /// `YYYY-MM-DD HH:MM:SS` at an offset, without the offset.
    public func localISO(offsetSeconds: Int) -> String {
        let l = local(offsetSeconds: offsetSeconds)
        return formatASCII { w in
            w.date(l.date)
            w.byte(UInt8(ascii: " "))
            w.time(l.hour, l.minute, l.second)
        }
    }

    /// `DD.MM.YYYY HH:MM:SS` at an offset, without the offset.
    public func localDotted(offsetSeconds: Int) -> String {
        let l = local(offsetSeconds: offsetSeconds)
        return formatASCII { w in
            w.dottedDate(l.date)
            w.byte(UInt8(ascii: " "))
            w.time(l.hour, l.minute, l.second)
        }
    }
}

extension ASCIIWriter {
    /// `YYYY-MM-DD`.
    mutating func date(_ d: LocalDate) {
        padded(d.year, 4); byte(UInt8(ascii: "-")); padded(d.month, 2); byte(UInt8(ascii: "-")); padded(d.day, 2)
    }

    /// `DD.MM.YYYY`.
    mutating func dottedDate(_ d: LocalDate) {
        padded(d.day, 2); byte(UInt8(ascii: ".")); padded(d.month, 2); byte(UInt8(ascii: ".")); padded(d.year, 4)
    }

    /// `HH:MM:SS`.
    mutating func time(_ h: Int, _ m: Int, _ s: Int) {
        padded(h, 2); byte(UInt8(ascii: ":")); padded(m, 2); byte(UInt8(ascii: ":")); padded(s, 2)
    }
}

/// The integer in `count` ASCII digits of `b` from `start`, or nil.
@inline(__always)
func digits(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int) -> Int? {
    guard start + count <= b.count else { return nil }
    var v = 0
    for i in start..<(start + count) {
        let c = b[i]
        guard c >= 0x30, c <= 0x39 else { return nil }
        v = v * 10 + Int(c - 0x30)
    }
    return v
}

/// `n` left-padded with zeros to `width` digits.
@inline(__always)
func pad(_ n: Int, _ width: Int) -> String {
    let s = String(n)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}
