public import DopsyncConfig
public import DopsyncModel
internal import Foundation
internal import Transport

/// Kemerovo oblast (42), Электронная Школа 2.0 exchange: XML over `POST`,
/// answers in windows-1251, mutual TLS plus `X-ES2-Client`, offset pages
/// filtered by `changedSince` (inclusive), faults as `500` bodies, and no
/// deletions reported.
///
/// Each collection is read by a keyset walk (see `KemerovoWalk`) whose
/// position is committed with every page. An incremental sync starts at the
/// newest `ModifiedAt` of the last complete walk and never deletes. A full
/// sync (`sync --full`) reads everything and, once its walk is complete,
/// marks deleted the records it did not list; a walk that fails or is cut
/// short deletes nothing, and the next full sync resumes it.
public struct KemerovoAdapter: RegionAdapter {
    /// What the region is; regions/kemerovo/region.yaml says the same (a test compares them).
    public static let descriptor = RegionDescriptor(
        name: "kemerovo", code: "42", title: "Кемеровская область — Кузбасс", utcOffsetSeconds: 7 * 3600,
        collections: [.programs, .certificates, .contracts, .charges],
        pageSize: 1000, requestsPerSecond: 5,
        settings: [
            SettingSpec("base_url", .url),
            SettingSpec("client_id", .text),
            SettingSpec("client_cert_file", .file),
            SettingSpec("client_key_file", .file),
            SettingSpec("ca_file", .file, required: false),
        ])

    /// How often `ES2-429` is waited out (1 second each) before a request gives up.
    static let maxBusyWaits = 10

    let baseURL: String
    let clientID: String
    let client: RegionClient
    let pageSize: Int
    /// Status answers a push asks for before it answers `.accepted`.
    let statusPolls: Int
    let mapping = KemerovoMapping()

    /// Makes an adapter from its checked settings, with the exchange's largest page.
    ///
    /// - Throws: `RegionError` when the client certificate or key cannot be used.
    public init(settings: RegionSettings) throws(RegionError) {
        try self.init(settings: settings, pageSize: Self.descriptor.pageSize)
    }

    /// Makes an adapter with a page size and retries of its own (tests use
    /// small pages to walk through many of them, and give up sooner).
    ///
    /// - Parameters:
    ///   - pageSize: records asked per page, 2 to 1000.
    ///   - retryPolicy: how transient failures are retried.
    ///   - statusPolls: status answers a push asks for, a second apart,
    ///     before it answers `.accepted` (tests ask fewer).
    /// - Throws: `RegionError` when the client certificate or key cannot be
    ///   used, or the page size is out of range.
    public init(settings: RegionSettings, pageSize: Int, retryPolicy: RetryPolicy = .default,
                statusPolls: Int = KemerovoAdapter.defaultStatusPolls) throws(RegionError) {
        let d = Self.descriptor
        guard (2...1000).contains(pageSize) else {
            throw RegionError(region: d.name, "page size \(pageSize) is not within 2...1000 (the exchange's count)")
        }
        guard let cert = settings["client_cert_file"], let key = settings["client_key_file"] else {
            throw RegionError(region: d.name, "the region requires a client certificate: set client_cert_file and client_key_file")
        }
        baseURL = settings["base_url"]!
        clientID = settings["client_id"]!
        self.pageSize = pageSize
        self.statusPolls = max(1, statusPolls)
        client = try RegionClient(
            region: d.name, tls: TLSOptions(caFile: settings["ca_file"], clientCertFile: cert, clientKeyFile: key),
            requestsPerSecond: d.requestsPerSecond(settings), policy: retryPolicy)
    }

    /// Decodes one record element's text (`<Program>…</Program>`, UTF-8, as
    /// stored) into a record or a quarantine entry.
    public static func decode(raw: String, collection: CollectionName) -> PageItem {
        do {
            let bytes = Array(raw.utf8)
            var parser = XMLPullParser(bytes)
            guard case let .start(name, attributes, selfClosing, _)? = try parser.next() else {
                throw XMLSyntaxError("no element", offset: 0)
            }
            var node = XMLElementNode(name: name, attributes: attributes)
            if selfClosing { _ = try parser.next() } else { node = try parser.readElement(name: name, attributes: attributes) }
            guard try parser.next() == nil else { throw parser.fail("content after the record element") }
            return KemerovoMapping().decode(node, raw: raw, collection: collection)
        } catch {
            return .quarantine(sourceID: nil, raw: raw, reason: "not well-formed XML: \(error)")
        }
    }

    /// Pulls every collection at once; see the type's description.
    ///
    /// - Throws: `RegionError` when a request fails past its retries,
    ///   `KemerovoFault` when the region answers a fault other than `ES2-429`.
    ///   Pages committed before stay, and the walk resumes from them.
    public func pull(into sink: any PullSink, full: Bool) async throws {
        // The collections are separate streams, each with its own position.
        try await walkEachCollection { collection in try await self.walk(collection, sink: sink, full: full) }
    }

    func walk(_ collection: CollectionName, sink: any PullSink, full: Bool) async throws {
        let stream = collection.rawValue
        var position = KemerovoPosition()
        if let text = try await sink.position(stream) {
            guard let saved = try? JSONDecoder().decode(KemerovoPosition.self, from: Data(text.utf8)) else {
                throw RegionError(region: Self.descriptor.name, collection: collection,
                                  "the saved position is not one this version writes: \(text)")
            }
            position = saved
        }
        // A walk of the other kind under way is dropped: a full walk is only
        // ever finished by a full sync, so an incremental one never deletes.
        if position.walk?.full != full {
            position.walk = KemerovoWalk(id: UUID().uuidString, full: full, since: full ? nil : position.watermark)
        }
        var walk = position.walk!
        let ahead = PageAhead<PageKey, KemerovoExchange.ExportPage> { key in
            try await fetchPage(collection, since: key.since, offset: key.offset)
        }
        while true {
            let page = try await ahead.take(PageKey(since: walk.since, offset: walk.offset))
            if walk.pages == 0 { await sink.expect(collection, total: page.total) }
            if page.unidentified > 0 { walk.unsweepable = true }
            let step: KemerovoWalk.Step
            do {
                step = try walk.advance(past: page.keys, pageSize: pageSize)
            } catch {
                throw RegionError(region: Self.descriptor.name, collection: collection, url: baseURL + KemerovoExchange.exportPath,
                                  error.description)
            }
            let items = page.items.enumerated().map { index, item in item.placed("page \(walk.pages) record \(index + 1)") }
            let sweep: SweepStep?
            if step == .complete {
                position.watermark = [position.watermark, walk.newest].compactMap { $0 }.max()
                position.walk = nil
                // A full walk that met a record it could not identify deletes nothing.
                sweep = walk.full && !walk.unsweepable ? .finish(walk: walk.id) : nil
            } else {
                position.walk = walk
                sweep = walk.full ? .mark(walk: walk.id) : nil
                ahead.start(PageKey(since: walk.since, offset: walk.offset))
            }
            try await sink.commit(collection, items: items, stream: stream, position: Self.encode(position), sweep: sweep)
            if step == .complete { return }
        }
    }

    /// Where a page is asked for: `changedSince` (UTC seconds) and `offset`.
    struct PageKey: Equatable, Sendable {
        var since: Int64?
        var offset: Int
    }

    static func encode(_ position: KemerovoPosition) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try! encoder.encode(position), as: UTF8.self)
    }

    /// One export page, from `changedSince` = `since` at `offset`.
    func fetchPage(_ collection: CollectionName, since: Int64?, offset: Int) async throws -> KemerovoExchange.ExportPage {
        let body = KemerovoExchange.exportRequest(entity: KemerovoMapping.entity(collection),
                                                  changedSince: since.map(Timestamp.init(seconds:)),
                                                  offset: offset, count: pageSize)
        return try await exchange(collection, path: KemerovoExchange.exportPath, body: body) { response in
            try KemerovoExchange.parseExport(response.body, collection: collection, mapping: mapping)
        }
    }

    /// Sends one exchange document and reads the answer of status
    /// `expecting` (`200`; an import's receipt is `202`) with `parse`.
    ///
    /// Transport failures, front-proxy statuses (429, 502, 503, 504) and
    /// answers cut short are retried by `RegionClient`. A fault is a `500`
    /// that must not be retried blindly: `ES2-429` is waited out one second
    /// at a time (at most `maxBusyWaits` times), any other is thrown.
    @discardableResult
    func exchange<T>(_ collection: CollectionName?, path: String, body: String, expecting: Int = 200,
                     parse: (HTTPResponse) throws -> T) async throws -> T {
        let url = baseURL + path
        let request = HTTPRequest(method: "POST", url: url,
                                  headers: [("Content-Type", "application/xml; charset=utf-8"),
                                            ("Accept", "application/xml"), ("X-ES2-Client", clientID)],
                                  body: Array(body.utf8))
        var busyWaits = 0, cutShort = 0
        while true {
            let (response, parsed) = try await client.fetchParsed(collection: collection, url: url, {
                () throws(RegionError) -> HTTPResponse in
                try await client.send(request, collection: collection, retryServerErrors: false)
            }, parse: parse)
            if let parsed { return parsed }
            if expecting != 200 && response.status == expecting {
                // `fetchParsed` reads only a 200; a receipt cut short is sent again (the package id makes that harmless).
                do {
                    return try parse(response)
                } catch is XMLSyntaxError where cutShort < 3 {
                    cutShort += 1
                    continue
                }
            }
            if response.status == 500, let fault = KemerovoExchange.fault(response.body) {
                if fault.code == "ES2-429" && busyWaits < Self.maxBusyWaits {
                    busyWaits += 1
                    // The page says: wait one second and try again.
                    do { try await Task.sleep(for: .seconds(1)) } catch {
                        throw RegionError(region: Self.descriptor.name, collection: collection, url: url, "cancelled")
                    }
                    continue
                }
                throw KemerovoFault(code: fault.code, text: fault.text, collection: collection, url: url)
            }
            throw RegionError(region: Self.descriptor.name, collection: collection, url: url,
                              TransportError.httpStatus(response.status, url: url,
                                                        body: (try? XMLText.utf8(response.body)) ?? response.body).description)
        }
    }
}
