public import DopsyncConfig
public import DopsyncModel
internal import Foundation
internal import Transport

/// Leningrad oblast (47), Navigator API v1: numbered pages computed afresh on
/// each request, `updated_from` inclusive in Moscow local time, a static API
/// key, deleted records kept in the feed with `"is_deleted": 1`.
///
/// ## Why the walk is by keyset, not by page number
///
/// The region orders each answer by (`updated_at`, `id`) and computes page `P`
/// at the moment it is asked. A record that changes while a client walks moves
/// to the end, and every record behind it shifts back by one: page `P + 1`
/// then starts one record later than it would have, and a record that never
/// changed is never served. So the walk never asks for page 2 of a filter
/// whose first page it has read. Each request asks for page 1 of
/// `updated_from` = the newest `updated_at` of the previous page. Every record
/// older than that second was on the previous page (the order is by time), so
/// nothing is skipped; a record that changes in the meantime gets a newer
/// `updated_at` and is read later; the records of that very second are read
/// again (`>=`), which the store counts as unchanged.
///
/// That makes no progress when a whole page shares one second (a bulk update
/// stamps thousands of records alike). Then the walk steps through that second
/// by page numbers, where a shift can skip a record, and guards it: it reads
/// the whole second again and again until two reads list the same records. A
/// read that skipped a record did so because an earlier record of the second
/// changed and left it, so that read lists a record the next one cannot: two
/// agreeing reads prove that the first skipped nothing. (A record cannot enter
/// a second that has passed, so the reads settle.) The reads are compared by a
/// digest of their ids, so the position stays small. The same guard covers a
/// `per_page` changed between a killed sync and its resumption: the read it
/// broke disagrees with the next.
///
/// The walk's state (the last complete walk's newest time, the current
/// `updated_from`, page and digests) is the position committed with each page,
/// so a sync killed at any moment resumes where it stood: nothing is lost, and
/// what is read twice is counted unchanged.
public struct LeningradAdapter: RegionAdapter {
    public static let descriptor = RegionDescriptor(
        name: "leningrad", code: "47", title: "Ленинградская область", utcOffsetSeconds: LeningradMapping.offset,
        collections: [.programs, .certificates, .contracts, .charges],
        pageSize: 500, requestsPerSecond: 10,
        settings: [
            SettingSpec("base_url", .url),
            SettingSpec("api_key", .secret),
            SettingSpec("ca_file", .file, required: false),
            // Smaller pages make a cut-short 1 MB answer less likely.
            SettingSpec("per_page", .text, required: false),
        ])

    let baseURL: String
    let apiKey: String
    /// Records asked for per page: `per_page` when set, else the descriptor's 500.
    let perPage: Int
    let client: RegionClient
    let mapper = LeningradMapping()

    /// - Throws: `RegionError` when `per_page` is not a whole number from 1 to
    ///   500, or HTTPS cannot be set up.
    public init(settings: RegionSettings) throws(RegionError) {
        let d = Self.descriptor
        baseURL = settings["base_url"]!
        apiKey = settings["api_key"]!
        if let text = settings["per_page"] {
            guard let n = Int(text), (1...d.pageSize).contains(n) else {
                throw RegionError(region: d.name, "per_page: \"\(text)\" is not a whole number from 1 to \(d.pageSize)")
            }
            perPage = n
        } else {
            perPage = d.pageSize
        }
        client = try RegionClient(region: d.name, tls: TLSOptions(caFile: settings["ca_file"]),
                                  requestsPerSecond: d.requestsPerSecond(settings))
    }

    public static func decode(raw: String, collection: CollectionName) -> PageItem {
        do {
            return LeningradMapping().decode(try JSONParser.parse(raw), raw: raw, collection: collection)
        } catch {
            return .quarantine(sourceID: nil, raw: raw, reason: "\(error)")
        }
    }

    public func pull(into sink: any PullSink, full: Bool) async throws {
        // The collections are separate streams, each with its own position.
        try await walkEachCollection { collection in try await self.walk(collection, sink: sink, full: full) }
    }

    // MARK: Position

    /// Where the walks of one collection stand; saved as JSON with each page.
    /// Times are UTC, ISO 8601.
    struct Position: Codable, Equatable {
        /// The newest `updated_at` of the last complete walk: where the next one starts.
        var watermark: String?
        /// The walk under way, if any.
        var walk: Walk?

        var text: String { String(decoding: try! JSONEncoder().encode(self), as: UTF8.self) }

        static func read(_ text: String?) -> Position {
            guard let text, let p = try? JSONDecoder().decode(Position.self, from: Data(text.utf8)) else { return Position() }
            return p
        }
    }

    /// A walk under way.
    struct Walk: Codable, Equatable {
        /// Whether it reads everything (`sync --full`).
        var full: Bool
        /// Its `updated_from`; `nil` reads from the start.
        var from: String?
        /// The page of `from` to ask next: 1, except while stepping through a crowded second.
        var page: Int
        /// The newest `updated_at` read so far.
        var newest: String?
        /// Set while stepping through the second `from` by page numbers.
        var crowd: Crowd?
    }

    /// The reads of one second whose records fill whole pages.
    struct Crowd: Codable, Equatable {
        /// The ids of the second listed so far by the read under way.
        var reading = Digest()
        /// The last complete read, to compare with.
        var previous: Digest?
    }

    /// A set of ids as a count and a sum of their hashes: equal sets give
    /// equal digests, whatever the order they were read in.
    struct Digest: Codable, Equatable {
        var count = 0
        /// The sum of the ids' hashes, in hexadecimal (JSON numbers are not
        /// trusted with 64 bits).
        var sum = "0"

        mutating func add(_ id: String) {
            // FNV-1a, 64 bits: stable across runs, unlike `Hasher`.
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in id.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
            count += 1
            sum = String((UInt64(sum, radix: 16) ?? 0) &+ h, radix: 16)
        }
    }

    // MARK: Walking

    /// A page's envelope did not have the documented form.
    struct PageFormatError: Error, CustomStringConvertible {
        let description: String
    }

    static func parsePage(_ body: [UInt8]) throws -> (envelope: JSONValue, items: [(value: JSONValue, raw: String)]) {
        let page = try JSONParser.parsePage(body, arrayKey: "items")
        guard case .array? = page.envelope["items"] else { throw PageFormatError(description: "the answer has no items array") }
        return page
    }

    static func utc(_ text: String?) -> Timestamp? { text.flatMap { try? Timestamp(iso: $0) } }

    static func later(_ a: String?, _ b: Timestamp?) -> String? {
        guard let b else { return a }
        guard let t = utc(a), t >= b else { return b.description }
        return a
    }

    func walk(_ collection: CollectionName, sink: any PullSink, full: Bool) async throws {
        let d = Self.descriptor
        let stream = collection.rawValue
        var position = Position.read(try await sink.position(stream))
        // A walk under way goes on, full or not, except that a full one is
        // asked while a partial one stood: a full walk covers what any reads.
        if position.walk == nil || (full && position.walk?.full == false) {
            position.walk = Walk(full: full, from: full ? nil : position.watermark, page: 1)
        }
        var reportedTotal = false
        let ahead = PageAhead<Target, FetchedPage> { target in try await fetchPage(collection, at: target) }
        while var w = position.walk {
            let from = Self.utc(w.from)
            let here = target(collection, w)
            let (url, place) = (here.url, here.place)
            let page = try await ahead.take(here)
            if !reportedTotal {
                await sink.expect(collection, total: page.total)
                reportedTotal = true
            }
            let (items, stamped) = (page.items, page.stamped)
            let times = stamped.compactMap(\.time)
            let short = page.items.count < perPage
            w.newest = Self.later(w.newest, times.max())

            var finished = false
            if var crowd = w.crowd, let second = from {
                // Stepping through one second by page numbers.
                for id in Set(stamped.filter { $0.time == second }.compactMap(\.id)) { crowd.reading.add(id) }
                if !short && !times.contains(where: { $0 > second }) {
                    w.page += 1
                    w.crowd = crowd
                } else if crowd.previous == crowd.reading {
                    // Two reads of the second list the same records: the first skipped none.
                    if short {
                        finished = true
                    } else {
                        w.from = Timestamp(seconds: second.seconds + 1).description
                        w.page = 1
                        w.crowd = nil
                    }
                } else {
                    // The second changed while it was read: read it again.
                    w.crowd = Crowd(reading: Digest(), previous: crowd.reading)
                    w.page = 1
                }
            } else if short {
                finished = true
            } else if let lo = times.min(), let hi = times.max(), lo < hi {
                w.from = hi.description
                w.page = 1
            } else if let hi = times.max() {
                // The whole page is one second: the keyset cannot move on.
                if from == hi {
                    var crowd = Crowd()
                    for id in Set(stamped.filter { $0.time == hi }.compactMap(\.id)) { crowd.reading.add(id) }
                    w.crowd = crowd
                    w.page = 2
                } else {
                    w.from = hi.description
                    w.page = 1
                    w.crowd = Crowd()
                }
            } else {
                // Keep what could be read, but do not move: moving blind could skip records.
                try await sink.commit(collection, items: items, stream: stream, position: nil)
                throw RegionError(region: d.name, collection: collection, url: url,
                                  "\(place): no record of a full page has a readable updated_at, so the walk cannot go on without risking a miss")
            }
            if finished {
                position.watermark = Self.later(position.watermark, Self.utc(w.newest))
                position.walk = nil
            } else {
                position.walk = w
                ahead.start(target(collection, w))
            }
            try await sink.commit(collection, items: items, stream: stream, position: position.text)
        }
    }

    /// A page to ask for: its URL, and how messages name it.
    struct Target: Equatable, Sendable {
        var url: String
        var place: String
    }

    /// The page where the walk `w` of `collection` stands.
    func target(_ collection: CollectionName, _ w: Walk) -> Target {
        let fromText = Self.utc(w.from)?.localISO(offsetSeconds: LeningradMapping.offset)
        var query = "page=\(w.page)&per_page=\(perPage)"
        if let fromText { query += "&updated_from=\(formEncode(fromText))" }
        return Target(url: "\(baseURL)/api/v1/\(collection.rawValue)?\(query)",
                      place: "updated_from \(fromText ?? "(none)") page \(w.page)")
    }

    /// One page as fetched and decoded, before the walk moves past it.
    struct FetchedPage: Sendable {
        var total: Int?
        var items: [PageItem] = []
        /// Each record's id and `updated_at`, as far as they could be read.
        var stamped: [(id: String?, time: Timestamp?)] = []
    }

    /// Fetches and decodes the page at `target`.
    func fetchPage(_ collection: CollectionName, at target: Target) async throws -> FetchedPage {
        let (url, place) = (target.url, target.place)
        let request = HTTPRequest(url: url, headers: [("Accept", "application/json"), ("X-Api-Key", apiKey)])
        let (response, parsed) = try await client.fetchParsed(collection: collection, url: url, {
            () throws(RegionError) -> HTTPResponse in try await client.send(request, collection: collection)
        }, parse: { response in try Self.parsePage(response.body) })
        guard let page = parsed else { throw failure(response, collection: collection, url: url) }
        var fetched = FetchedPage()
        if case let .number(n)? = page.envelope["total"] { fetched.total = Int(n) }
        fetched.items.reserveCapacity(page.items.count)
        for (index, item) in page.items.enumerated() {
            fetched.items.append(mapper.decode(item.value, raw: item.raw, collection: collection)
                .placed("\(place) record \(index + 1)"))
            var id: String? = nil
            switch item.value["id"] {
            case let .number(n)?: id = n
            case let .string(s)?: id = s
            default: break
            }
            fetched.stamped.append((id, mapper.updatedAt(item.value)))
        }
        return fetched
    }

    /// The error for an answer other than a page.
    func failure(_ response: HTTPResponse, collection: CollectionName, url: String) -> RegionError {
        let d = Self.descriptor
        let excerpt = TransportError.httpStatus(response.status, url: url, body: response.body).detail
        if response.status == 403 {
            return RegionError(region: d.name, collection: collection, url: url,
                               "the API key was refused (HTTP 403 \(excerpt)): check the key that regions.\(d.name).api_key_env or api_key_file gives")
        }
        return RegionError(region: d.name, collection: collection, url: url, "HTTP \(response.status): \(excerpt)")
    }
}
