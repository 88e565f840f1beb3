public import DopsyncConfig
public import DopsyncModel
internal import Foundation
internal import Logging
internal import Transport

/// Krasnoyarsk krai (24), navigator admin API v3: one change feed for every
/// collection (`GET /v3/changes?since=SEQ`), offset snapshots of each
/// collection, short-lived OAuth2 tokens, 5 requests a second.
///
/// **Positions.** One stream, `feed`, holds the whole state as JSON: the last
/// feed `seq` applied and, while one runs, the snapshot walk under way. Every
/// page is committed together with that state, so a pull killed at any moment
/// resumes with the page after the last one stored.
///
/// **The feed.** A page mixes collections; its records and the new `seq` are
/// committed in one transaction (`PullSink.commit(groups:)`). Within a page
/// each collection keeps its changes in feed order, deduplicated by id with
/// the last change winning (the page says only the latest change matters).
///
/// **Snapshots** are read on the first run, on `sync --full`, and when the
/// feed answers `410 compacted`; the feed then goes on from the smallest
/// `snapshot_seq` the walk saw, so every change made during the walk is read
/// from the feed. A complete walk deletes the held records it did not list
/// (`SweepStep`).
///
/// Offset pages over a changing set can skip a record: a deletion (or a
/// change that moves a record) ahead of the offset shifts the rest back. A
/// skipped record that did not change is in no feed entry either, so it
/// would be missed on a first run and wrongly deleted by the sweep. Instead of
/// confirming each absent record with `GET /v3/{collection}/{id}` (one request
/// per deletion at 5 a second, and no help for a first run), the walk
/// *proves* it skips nothing: each page overlaps the previous one by
/// `overlap` records, and a page counts only when it contains one of the
/// previous page's last records unchanged (same id and `modified_at`).
/// Records that did not change keep their relative order, so the new page
/// then continues exactly after a record already listed. When none is found
/// the set shifted back by more than the overlap: the walk steps back one
/// page and looks again (offset 0 needs no proof). Records that changed during
/// the walk are in the feed read right after it, in the same pull: in an order
/// where a change moves a record behind the walk, the record may be missed
/// (and swept) but that feed read restores it. This rests on one assumption
/// the page allows: records that do not change keep their relative order.
public struct KrasnoyarskAdapter: RegionAdapter {
    public static let descriptor = RegionDescriptor(
        name: "krasnoyarsk", code: "24", title: "Красноярский край", utcOffsetSeconds: 7 * 3600,
        collections: [.programs, .certificates, .contracts, .charges],
        pageSize: 1000, requestsPerSecond: 5,
        settings: [
            SettingSpec("base_url", .url),
            SettingSpec("client_id", .text),
            SettingSpec("client_secret", .secret),
            SettingSpec("ca_file", .file, required: false),
        ])

    /// The one position stream of the region.
    static let stream = "feed"
    /// Step-backs allowed in one collection's walk before the pull gives up
    /// (the next sync resumes where it stood).
    static let maxStepBacks = 20

    let baseURL: String
    let client: RegionClient
    let auth: OAuthClientCredentials
    let pageSize: Int
    let mapper = KrasnoyarskMapping()
    let logger = Logger(label: "dopsync.krasnoyarsk")

    /// Records each snapshot page repeats from the previous one.
    var overlap: Int { max(1, min(50, pageSize / 10)) }

    public init(settings: RegionSettings) throws(RegionError) {
        try self.init(settings: settings, pageSize: Self.descriptor.pageSize)
    }

    /// An adapter asking for `pageSize` records a page (2…1000): tests use
    /// small pages to walk a small world in several.
    public init(settings: RegionSettings, pageSize: Int) throws(RegionError) {
        let d = Self.descriptor
        guard (2...1000).contains(pageSize) else {
            throw RegionError(region: d.name, "page size \(pageSize) is outside 2…1000")
        }
        baseURL = settings["base_url"]!
        client = try RegionClient(region: d.name, tls: TLSOptions(caFile: settings["ca_file"]),
                                  requestsPerSecond: d.requestsPerSecond(settings))
        auth = OAuthClientCredentials(client: client, tokenURL: baseURL + "/v3/oauth/token",
                                      clientID: settings["client_id"]!, clientSecret: settings["client_secret"]!)
        self.pageSize = pageSize
    }

    /// Decodes a stored raw record: a change of the feed (it has an `op`) or
    /// a snapshot item.
    public static func decode(raw: String, collection: CollectionName) -> PageItem {
        let mapper = KrasnoyarskMapping()
        let value: JSONValue
        do {
            value = try JSONParser.parse(raw)
        } catch {
            return .quarantine(sourceID: nil, raw: raw, reason: "\(error)")
        }
        guard value["op"] != nil else { return mapper.item(value, raw: raw, collection: collection) }
        let change = mapper.change(value, raw: raw)
        if let named = change.collection, named != collection {
            return .quarantine(sourceID: change.sourceID, raw: raw,
                               reason: "collection: \"\(named.rawValue)\" is not \(collection.rawValue)")
        }
        return change.item
    }

    // MARK: Position

    /// Where the pull stands; saved as JSON with each page.
    struct Position: Codable, Equatable {
        /// The last feed `seq` applied; `nil` before the first snapshot completes.
        var seq: Int64?
        /// The snapshot walk under way.
        var snapshot: SnapshotWalk?

        var text: String { String(decoding: try! JSONEncoder().encode(self), as: UTF8.self) }

        static func read(_ text: String?) throws(RegionError) -> Position {
            guard let text else { return Position() }
            do {
                return try JSONDecoder().decode(Position.self, from: Data(text.utf8))
            } catch {
                throw RegionError(region: descriptor.name, "the saved position \(text) cannot be read: \(error)")
            }
        }
    }

    /// A walk of every collection's snapshot, in the descriptor's order.
    struct SnapshotWalk: Codable, Equatable {
        /// Names this walk's sweeps (one per collection).
        var walk: String
        /// The collection being walked, as an index into the descriptor's.
        var collection: Int
        var offset: Int
        /// The last records of the previous page, one of which the next page must repeat.
        var anchors: [Anchor]
        /// Times the walk of this collection stepped back.
        var stepBacks: Int
        /// The smallest `snapshot_seq` seen: where the feed goes on after the walk.
        var minSeq: Int64?

        static func start() -> SnapshotWalk {
            let stamp = Int64(Date().timeIntervalSince1970)
            return SnapshotWalk(walk: "snapshot-\(stamp)-\(UInt32.random(in: 0...UInt32.max))", collection: 0,
                                offset: 0, anchors: [], stepBacks: 0, minSeq: nil)
        }
    }

    /// A record as a later page must repeat it if it did not change.
    struct Anchor: Codable, Equatable, Hashable {
        var id: String
        var modifiedAt: String
    }

    // MARK: Pull

    public func pull(into sink: any PullSink, full: Bool) async throws {
        var position = try Position.read(try await sink.position(Self.stream))
        // Each sync has its own allowance of step-backs (`maxStepBacks`).
        position.snapshot?.stepBacks = 0
        if position.snapshot == nil && (full || position.seq == nil) {
            position.snapshot = .start()
        }
        var compactions = 0
        while true {
            if position.snapshot != nil {
                try await walkSnapshots(&position, sink: sink)
            }
            guard let oldest = try await readFeed(&position, sink: sink) else { return }
            // A feed compacted past where we stood: start again from snapshots.
            compactions += 1
            guard compactions <= 2 else {
                throw RegionError(region: Self.descriptor.name, url: "\(baseURL)/v3/changes",
                                  "the feed was compacted past a fresh snapshot again (oldest_seq \(oldest))")
            }
            logger.notice("krasnoyarsk: feed compacted past seq \(position.seq ?? 0) (oldest \(oldest)); reading snapshots")
            position.snapshot = .start()
        }
    }

    /// Reads a `200` or fails with the status and body.
    func unexpected(_ response: HTTPResponse, url: String, collection: CollectionName?) -> RegionError {
        RegionError(region: Self.descriptor.name, collection: collection, url: url,
                    TransportError.httpStatus(response.status, url: url, body: response.body).description)
    }

    // MARK: Snapshots

    struct SnapshotPage {
        var items: [(value: JSONValue, raw: String)]
        var total: Int
        var snapshotSeq: Int64

        static func parse(_ body: [UInt8]) throws -> SnapshotPage {
            let page = try JSONParser.parsePage(body, arrayKey: "items")
            guard page.envelope["items"] != nil else { throw ValueError("is missing", path: "items") }
            guard case let .number(t)? = page.envelope["total"], let total = Int(t) else {
                throw ValueError("is not an integer", path: "total")
            }
            guard case let .number(s)? = page.envelope["snapshot_seq"], let seq = Int64(s) else {
                throw ValueError("is not an integer", path: "snapshot_seq")
            }
            return SnapshotPage(items: page.items, total: total, snapshotSeq: seq)
        }
    }

    /// Walks the snapshot of every collection from where `position` stands,
    /// committing each page with the walk's state; the last page sets the
    /// feed's `seq` to the smallest `snapshot_seq` seen.
    func walkSnapshots(_ position: inout Position, sink: any PullSink) async throws {
        let collections = Self.descriptor.collections
        let ahead = PageAhead<SnapshotKey, FetchedSnapshot> { key in try await fetchSnapshot(key.collection, offset: key.offset) }
        while var walk = position.snapshot {
            let collection = collections[walk.collection]
            let url = snapshotURL(collection, offset: walk.offset)
            let page = try await ahead.take(SnapshotKey(collection: collection, offset: walk.offset))
            if walk.offset == 0 && walk.anchors.isEmpty { await sink.expect(collection, total: page.total) }
            walk.minSeq = min(walk.minSeq ?? page.snapshotSeq, page.snapshotSeq)
            let (items, listed) = (page.items, page.listed)

            let sweepName = "\(walk.walk)/\(collection.rawValue)"
            var sweep = SweepStep.mark(walk: sweepName)
            let proven = walk.offset == 0 || walk.anchors.isEmpty || !Set(walk.anchors).isDisjoint(with: listed.compactMap { $0 })
            if !proven {
                // Shifted back by more than the overlap: look one page earlier.
                walk.stepBacks += 1
                guard walk.stepBacks <= Self.maxStepBacks else {
                    throw RegionError(region: Self.descriptor.name, collection: collection, url: url,
                                      "the snapshot keeps shifting under the walk (stepped back \(walk.stepBacks - 1) times); the next sync goes on")
                }
                logger.info("krasnoyarsk: \(collection.rawValue) snapshot shifted at offset \(walk.offset); stepping back")
                // One page back, as long as the region's pages are (it may answer fewer than asked).
                let answered = page.items.isEmpty ? pageSize : page.items.count
                walk.offset = max(0, walk.offset - max(1, answered - min(overlap, answered / 2)))
                position.snapshot = walk
            } else if page.items.isEmpty || (page.items.count < pageSize && walk.offset + page.items.count >= page.total) {
                // The end: a short page is not enough, since the page sets
                // no bound on how many records a snapshot page holds.
                sweep = .finish(walk: sweepName)
                if walk.collection + 1 < collections.count {
                    walk.collection += 1
                    walk.offset = 0
                    walk.anchors = []
                    walk.stepBacks = 0
                    position.snapshot = walk
                } else {
                    position.snapshot = nil
                    position.seq = walk.minSeq
                }
            } else {
                // A page shorter than asked still moves on (by at least one record).
                let kept = min(overlap, page.items.count / 2)
                walk.offset += page.items.count - kept
                // Malformed records (no id or time) cannot be anchors; with
                // none at all in the overlap the next page goes unproven.
                walk.anchors = listed.suffix(kept).compactMap { $0 }
                if walk.anchors.isEmpty {
                    logger.warning("krasnoyarsk: \(collection.rawValue) snapshot offset \(walk.offset): no readable record to anchor the next page")
                }
                position.snapshot = walk
            }
            if let next = position.snapshot {
                ahead.start(SnapshotKey(collection: collections[next.collection], offset: next.offset))
            }
            try await sink.commit(collection, items: items, stream: Self.stream, position: position.text, sweep: sweep)
        }
    }

    func snapshotURL(_ collection: CollectionName, offset: Int) -> String {
        "\(baseURL)/v3/\(collection.rawValue)?offset=\(offset)&limit=\(pageSize)"
    }

    /// Where a snapshot page is asked for.
    struct SnapshotKey: Equatable, Sendable {
        var collection: CollectionName
        var offset: Int
    }

    /// A snapshot page as fetched and decoded, before the walk moves past it.
    struct FetchedSnapshot: Sendable {
        var items: [PageItem] = []
        /// Each record as a later page must repeat it, where it could be read.
        var listed: [Anchor?] = []
        var total: Int
        var snapshotSeq: Int64
    }

    /// Fetches and decodes the snapshot page of `collection` at `offset`.
    func fetchSnapshot(_ collection: CollectionName, offset: Int) async throws -> FetchedSnapshot {
        let url = snapshotURL(collection, offset: offset)
        let request = HTTPRequest(url: url, headers: [("Accept", "application/json")])
        let (response, parsed) = try await client.fetchParsed(collection: collection, url: url, {
            () throws(RegionError) -> HTTPResponse in try await auth.send(request, collection: collection)
        }, parse: { try SnapshotPage.parse($0.body) })
        guard let page = parsed else { throw unexpected(response, url: url, collection: collection) }
        var fetched = FetchedSnapshot(total: page.total, snapshotSeq: page.snapshotSeq)
        for (index, item) in page.items.enumerated() {
            fetched.items.append(mapper.item(item.value, raw: item.raw, collection: collection)
                .placed("snapshot offset \(offset) record \(index + 1)"))
            if case let .string(id)? = item.value["id"], case let .string(modified)? = item.value["modified_at"] {
                fetched.listed.append(Anchor(id: id, modifiedAt: modified))
            } else {
                fetched.listed.append(nil)
            }
        }
        return fetched
    }

    // MARK: Feed

    struct FeedPage {
        var results: [(value: JSONValue, raw: String)]
        var lastSeq: Int64
        var pending: Int64

        static func parse(_ body: [UInt8]) throws -> FeedPage {
            let page = try JSONParser.parsePage(body, arrayKey: "results")
            guard page.envelope["results"] != nil else { throw ValueError("is missing", path: "results") }
            guard case let .number(l)? = page.envelope["last_seq"], let last = Int64(l) else {
                throw ValueError("is not an integer", path: "last_seq")
            }
            guard case let .number(p)? = page.envelope["pending"], let pending = Int64(p) else {
                throw ValueError("is not an integer", path: "pending")
            }
            return FeedPage(results: page.items, lastSeq: last, pending: pending)
        }
    }

    /// Reads the feed from `position.seq` to its end, committing each page
    /// with its `last_seq`.
    ///
    /// - Returns: `nil` when caught up, or the feed's `oldest_seq` when it
    ///   answered `410 compacted`.
    func readFeed(_ position: inout Position, sink: any PullSink) async throws -> Int64? {
        let ahead = PageAhead<Int64, FetchedFeed> { since in try await fetchFeed(since: since) }
        while true {
            let since = position.seq ?? 0
            let fetched = try await ahead.take(since)
            let page: FeedPage
            switch fetched {
            case let .compacted(oldest): return oldest
            case let .page(p, groups):
                page = p
                position.seq = page.lastSeq
                let done = page.pending <= 0 || page.results.isEmpty || page.lastSeq == since
                if !done { ahead.start(page.lastSeq) }
                try await sink.commit(groups: groups, stream: Self.stream, position: position.text)
                if done { return nil }
            }
        }
    }

    /// A feed page as fetched and grouped, or the feed's `oldest_seq` when
    /// it answered `410 compacted`.
    enum FetchedFeed: Sendable {
        case page(FeedPage, groups: [(collection: CollectionName, items: [PageItem])])
        case compacted(oldest: Int64)
    }

    /// Fetches the feed page after `since` and groups its changes.
    func fetchFeed(since: Int64) async throws -> FetchedFeed {
        let url = "\(baseURL)/v3/changes?since=\(since)&limit=\(pageSize)"
        let request = HTTPRequest(url: url, headers: [("Accept", "application/json")])
        let (response, parsed) = try await client.fetchParsed(collection: nil, url: url, {
            () throws(RegionError) -> HTTPResponse in try await auth.send(request, collection: nil)
        }, parse: { try FeedPage.parse($0.body) })
        if response.status == 410 {
            guard let body = try? JSONParser.parse(response.body), body["error"] == .string("compacted"),
                  case let .number(n)? = body["oldest_seq"], let oldest = Int64(n) else {
                throw unexpected(response, url: url, collection: nil)
            }
            return .compacted(oldest: oldest)
        }
        guard let page = parsed else { throw unexpected(response, url: url, collection: nil) }
        guard page.lastSeq >= since else {
            throw RegionError(region: Self.descriptor.name, url: url, "last_seq \(page.lastSeq) is before since \(since)")
        }
        return .page(page, groups: group(page.results, since: since))
    }

    /// A feed page's changes by collection, in the descriptor's order (a
    /// contract's certificate then resolves at once when both are in the
    /// page); each collection keeps feed order, with only the last change
    /// of each record.
    func group(_ results: [(value: JSONValue, raw: String)], since: Int64) -> [(collection: CollectionName, items: [PageItem])] {
        var changes: [CollectionName: [(id: String?, item: PageItem)]] = [:]
        for (index, result) in results.enumerated() {
            var change = mapper.change(result.value, raw: result.raw)
            let seq = if case let .number(s)? = result.value["seq"] { s } else { "?" }
            let place = "feed after seq \(since) record \(index + 1) (seq \(seq))"
            guard let collection = change.collection else {
                // Not a collection the gateway keeps (or none named): nowhere to file it.
                let reason = if case let .quarantine(_, _, r) = change.item { r } else { "" }
                logger.warning("krasnoyarsk: \(place) skipped: \(reason)")
                continue
            }
            change.item = change.item.placed(place)
            changes[collection, default: []].append((change.sourceID, change.item))
        }
        return Self.descriptor.collections.compactMap { collection in
            guard let list = changes[collection] else { return nil }
            var last: [String: Int] = [:]
            for (i, change) in list.enumerated() { if let id = change.id { last[id] = i } }
            let kept = list.enumerated().filter { i, change in change.id.map { last[$0] == i } ?? true }.map(\.element.item)
            return (collection, kept)
        }
    }
}
