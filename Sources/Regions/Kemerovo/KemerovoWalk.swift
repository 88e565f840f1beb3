internal import DopsyncModel

/// Where a walk of one Kemerovo collection stands: the next request's
/// `changedSince` and `offset`, and what the walk has seen. Saved with each
/// page, so a walk killed at any moment goes on from its last committed page.
///
/// ## Why not a plain offset walk
///
/// The export is ordered by `ModifiedAt`, then `Id`, and a record that
/// changes moves to the end. Stepping `offset` by `count` through one
/// filter therefore skips a record each time an already-read record changes
/// (everything after it moves one place up). An incremental pass would only
/// be late; but a full pass deletes what it did not see, so a skipped record
/// would be wrongly marked deleted.
///
/// ## The keyset walk
///
/// Each request filters by `changedSince` = the newest `ModifiedAt` of the
/// previous page, at offset 0. Records before that second are never asked
/// for again, so changes among them cannot shift anything; a change moves a
/// record to the end, where the walk still comes. The filter is inclusive
/// (`>=`), so the records of that last second are read again; the store
/// counts them as unchanged.
///
/// That only moves on when a page spans more than one second. When a whole
/// page shares one second (`count` or more records changed together), the
/// walk steps `offset` through that second instead, overlapping one record:
/// the next page must begin with the last record of the page before. If it
/// does not, records of that second moved (an already-read one changed and
/// left it), so the walk reads the second again from its start instead of
/// trusting the offset. A walk is complete when a page comes back short.
///
/// Every record that exists from the start of a walk to its end is thus read
/// at least once, which is what makes the sweep of a full walk safe.
struct KemerovoWalk: Codable, Equatable {
    /// Names the walk; a full walk's sweep marks what it saw with it.
    var id: String
    /// A full walk (`sync --full`): its end deletes what it did not see.
    var full: Bool
    /// The next request's `changedSince` (UTC seconds); `nil` reads from the beginning.
    var since: Int64?
    /// The next request's `offset`: non-zero only while stepping through one second.
    var offset = 0
    /// While stepping, the key of the record the next page must begin with.
    var overlap: String?
    /// The newest `ModifiedAt` the walk has seen (UTC seconds).
    var newest: Int64?
    /// Times in a row the overlap did not match.
    var restarts = 0
    /// Pages read so far, for messages.
    var pages = 0
    /// A full walk that quarantined a record whose id it could not read:
    /// it cannot tell which held record that was, so it deletes nothing.
    var unsweepable = false

    /// How often the records of one second may shift before the walk gives
    /// up (it resumes from there at the next sync).
    static let maxRestarts = 20

    init(id: String, full: Bool, since: Int64?) {
        self.id = id; self.full = full; self.since = since
    }

    enum Step: Equatable {
        /// More pages follow, from the walk's new `since` and `offset`.
        case more
        /// The page was short: the walk has seen everything.
        case complete
    }

    /// Why a walk stopped: the records it stood on kept moving.
    struct Unsettled: Error, CustomStringConvertible {
        let second: Int64?
        var description: String {
            let at = second.map { Timestamp(seconds: $0).localDotted(offsetSeconds: KemerovoMapping.offset) } ?? "the start"
            return "the records of \(at) kept changing during the walk (\(KemerovoWalk.maxRestarts) times in a row); "
                + "stopped so as not to miss any, the next sync goes on from here"
        }
    }

    /// Moves the walk past a page of `pageSize` asked records.
    ///
    /// - Parameter keys: the page's records in order, each by id and time.
    /// - Throws: `Unsettled` when the overlap failed too often in a row.
    mutating func advance(past keys: [KemerovoExchange.RecordKey], pageSize: Int) throws(Unsettled) -> Step {
        pages += 1
        for k in keys { if let t = k.modifiedAt?.seconds, t > (newest ?? .min) { newest = t } }
        if let overlap {
            guard keys.first?.key == overlap else {
                // The second's records moved under the offset: read it again from its start.
                restarts += 1
                guard restarts <= Self.maxRestarts else { throw Unsettled(second: since) }
                offset = 0
                self.overlap = nil
                return .more
            }
        }
        if keys.count < pageSize { return .complete }
        if let newestOnPage = keys.compactMap(\.modifiedAt?.seconds).max(), newestOnPage > (since ?? .min) {
            since = newestOnPage
            offset = 0
            overlap = nil
            restarts = 0
        } else {
            // The whole page lies in the second `since` (or its times cannot be read).
            offset += keys.count - 1
            overlap = keys.last!.key
        }
        return .more
    }
}

/// A collection's saved position: the watermark of the last complete walk and
/// the walk under way, if any.
struct KemerovoPosition: Codable, Equatable {
    /// The newest `ModifiedAt` of the last complete walk (UTC seconds); the
    /// next incremental walk starts there.
    var watermark: Int64?
    var walk: KemerovoWalk?

    init(watermark: Int64? = nil, walk: KemerovoWalk? = nil) {
        self.watermark = watermark
        self.walk = walk
    }

    enum CodingKeys: String, CodingKey { case watermark, walk }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        watermark = try c.decodeTime(.watermark)
        walk = try c.decodeIfPresent(KemerovoWalk.self, forKey: .walk)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeTime(watermark, .watermark)
        try c.encodeIfPresent(walk, forKey: .walk)
    }
}

extension KemerovoWalk {
    enum CodingKeys: String, CodingKey { case id, full, since, offset, overlap, newest, restarts, pages, unsweepable }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        full = try c.decode(Bool.self, forKey: .full)
        since = try c.decodeTime(.since)
        offset = try c.decode(Int.self, forKey: .offset)
        overlap = try c.decodeIfPresent(String.self, forKey: .overlap)
        newest = try c.decodeTime(.newest)
        restarts = try c.decode(Int.self, forKey: .restarts)
        pages = try c.decode(Int.self, forKey: .pages)
        unsweepable = try c.decodeIfPresent(Bool.self, forKey: .unsweepable) ?? false
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(full, forKey: .full)
        try c.encodeTime(since, .since)
        try c.encode(offset, forKey: .offset)
        try c.encodeIfPresent(overlap, forKey: .overlap)
        try c.encodeTime(newest, .newest)
        try c.encode(restarts, forKey: .restarts)
        try c.encode(pages, forKey: .pages)
        if unsweepable { try c.encode(true, forKey: .unsweepable) }
    }
}

// Times in a saved position are written as UTC ISO 8601 text, so that
// `dopsync status` shows where a walk stands in a form people read.
fileprivate extension KeyedDecodingContainer {
    func decodeTime(_ key: Key) throws -> Int64? {
        guard let text = try decodeIfPresent(String.self, forKey: key) else { return nil }
        do {
            return try Timestamp(iso: text).seconds
        } catch {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: error.description)
        }
    }
}

fileprivate extension KeyedEncodingContainer {
    mutating func encodeTime(_ seconds: Int64?, _ key: Key) throws {
        try encodeIfPresent(seconds.map { Timestamp(seconds: $0).description }, forKey: key)
    }
}
