public import DopsyncConfig
public import DopsyncModel
internal import Foundation
internal import Transport

/// Omsk oblast (55), Navigator API v2: JSON cursor pages filtered by
/// `updated_since` (inclusive), OAuth2 client credentials, tombstones.
///
/// A walk of a collection asks for `updated_since` = the watermark (the newest
/// `updatedAt` of the last complete walk) and follows `next_cursor`. Each page
/// is committed with the cursor, so a killed sync resumes mid-walk. An expired
/// cursor restarts the walk from the newest `updatedAt` seen in it: the order is
/// by `updatedAt`, so nothing before it can be missed, and `>=` re-reads the
/// records of that very second, which the store counts as unchanged.
public struct OmskAdapter: RegionAdapter {
    public static let descriptor = RegionDescriptor(
        name: "omsk", code: "55", title: "Омская область", utcOffsetSeconds: 6 * 3600,
        collections: [.programs, .certificates, .contracts, .charges],
        pageSize: 1000, requestsPerSecond: 20,
        settings: [
            SettingSpec("base_url", .url),
            SettingSpec("client_id", .text),
            SettingSpec("client_secret", .secret),
            SettingSpec("ca_file", .file, required: false),
        ])

    let baseURL: String
    let client: RegionClient
    let auth: OAuthClientCredentials
    let mapper = OmskMapping()

    public init(settings: RegionSettings) throws(RegionError) {
        let d = Self.descriptor
        baseURL = settings["base_url"]!
        client = try RegionClient(region: d.name, tls: TLSOptions(caFile: settings["ca_file"]),
                                  requestsPerSecond: d.requestsPerSecond(settings))
        auth = OAuthClientCredentials(client: client, tokenURL: baseURL + "/oauth/token",
                                      clientID: settings["client_id"]!, clientSecret: settings["client_secret"]!)
    }

    public static func decode(raw: String, collection: CollectionName) -> PageItem {
        do {
            return OmskMapping().decode(try JSONParser.parse(raw), raw: raw, collection: collection)
        } catch {
            return .quarantine(sourceID: nil, raw: raw, reason: "\(error)")
        }
    }

    public func pull(into sink: any PullSink, full: Bool) async throws {
        // The collections are separate streams, each with its own position.
        try await walkEachCollection { collection in try await self.walk(collection, sink: sink, full: full) }
    }

    /// Where a walk of one collection stands; saved as JSON with each page.
    struct Position: Codable, Equatable {
        /// The newest `updatedAt` of the last complete walk.
        var watermark: String?
        /// The walk under way: its `updated_since`, next cursor and newest time seen.
        var walkSince: String?
        var cursor: String?
        var walkMax: String?
        /// Whether the walk under way reads everything (`sync --full`).
        var walkFull: Bool?

        var text: String { String(decoding: try! JSONEncoder().encode(self), as: UTF8.self) }
        static func read(_ text: String?) -> Position {
            guard let text, let p = try? JSONDecoder().decode(Position.self, from: Data(text.utf8)) else { return Position() }
            return p
        }
    }

    /// Where a page is asked for: the walk's `updated_since` and cursor, and
    /// its number (for messages).
    struct PageKey: Equatable, Sendable {
        var since: String?
        var cursor: String?
        var number: Int
    }

    /// One page as fetched and decoded, before it is committed.
    struct FetchedPage: Sendable {
        /// The answer was `400 cursor_expired`.
        var cursorExpired = false
        var items: [PageItem] = []
        var total: Int?
        var next: String?
        /// The newest `updatedAt` of the page, as Omsk wrote it.
        var newest: String?
    }

    /// Fetches and decodes the page at `since`/`cursor`.
    func fetchPage(_ collection: CollectionName, since: String?, cursor: String?,
                   pageNumber: Int) async throws(RegionError) -> FetchedPage {
        var query = "limit=\(Self.descriptor.pageSize)"
        if let since { query += "&updated_since=\(formEncode(since))" }
        if let cursor { query += "&cursor=\(formEncode(cursor))" }
        let url = "\(baseURL)/api/v2/\(collection.rawValue)?\(query)"
        let request = HTTPRequest(url: url, headers: [("Accept", "application/json")])
        let (response, parsed) = try await client.fetchParsed(collection: collection, url: url, {
            () throws(RegionError) -> HTTPResponse in try await auth.send(request, collection: collection)
        }, parse: { response in try JSONParser.parsePage(response.body, arrayKey: "data") })
        if response.status == 400, cursor != nil,
           let body = try? JSONParser.parse(response.body), body["error"] == .string("cursor_expired") {
            return FetchedPage(cursorExpired: true)
        }
        guard let page = parsed else {
            throw RegionError(region: Self.descriptor.name, collection: collection, url: url,
                              TransportError.httpStatus(response.status, url: url, body: response.body).description)
        }
        var fetched = FetchedPage()
        if case let .number(n)? = page.envelope.value(atPath: "meta.total") { fetched.total = Int(n) }
        fetched.items.reserveCapacity(page.items.count)
        for (index, item) in page.items.enumerated() {
            fetched.items.append(mapper.decode(item.value, raw: item.raw, collection: collection)
                .placed("page \(pageNumber) record \(index + 1)"))
            if let t = mapper.updatedAt(item.value), t > (fetched.newest ?? "") { fetched.newest = t }
        }
        switch page.envelope.value(atPath: "meta.next_cursor") {
        case let .string(c)?: fetched.next = c
        case .null?, nil: fetched.next = nil
        default:
            throw RegionError(region: Self.descriptor.name, collection: collection, url: url,
                              "meta.next_cursor is neither a string nor null")
        }
        return fetched
    }

    /// Walks one collection. While a page is written to the store, the next
    /// one is already being fetched and decoded, so the network, the decoding
    /// and SQLite overlap; the position saved with a page is still the cursor
    /// after it, so a kill loses nothing.
    func walk(_ collection: CollectionName, sink: any PullSink, full: Bool) async throws {
        let stream = collection.rawValue
        var position = Position.read(try await sink.position(stream))
        let resuming = position.cursor != nil && (position.walkFull ?? false) == full
        if !resuming {
            position.walkSince = full ? nil : position.watermark
            position.cursor = nil
            position.walkMax = nil
            position.walkFull = full
        }
        var reportedTotal = false
        var pageNumber = 1
        let ahead = PageAhead<PageKey, FetchedPage> { key in
            try await fetchPage(collection, since: key.since, cursor: key.cursor, pageNumber: key.number)
        }
        var restartsWithoutProgress = 0
        while true {
            let page = try await ahead.take(PageKey(since: position.walkSince, cursor: position.cursor, number: pageNumber))
            if page.cursorExpired {
                // Restart from the newest time seen: the order is by
                // updatedAt, so nothing before it can be missed, and `>=`
                // re-reads that second, which the store counts as unchanged.
                let since = position.walkMax ?? position.walkSince
                restartsWithoutProgress = since == position.walkSince ? restartsWithoutProgress + 1 : 0
                guard restartsWithoutProgress < 3 else {
                    throw RegionError(region: Self.descriptor.name, collection: collection,
                                      "cursors keep expiring before the walk can pass \(since ?? "the start")")
                }
                position.walkSince = since
                position.cursor = nil
                continue
            }
            if !reportedTotal {
                await sink.expect(collection, total: page.total)
                reportedTotal = true
            }
            if let newest = page.newest, newest > (position.walkMax ?? "") { position.walkMax = newest }
            if let next = page.next {
                position.cursor = next
                ahead.start(PageKey(since: position.walkSince, cursor: next, number: pageNumber + 1))
            } else {
                // The walk is complete: its newest time is where the next one starts.
                position.watermark = [position.watermark, position.walkMax].compactMap { $0 }.max()
                position.walkSince = nil
                position.cursor = nil
                position.walkMax = nil
                position.walkFull = nil
            }
            try await sink.commit(collection, items: page.items, stream: stream, position: position.text)
            if page.next == nil { return }
            pageNumber += 1
        }
    }
}
