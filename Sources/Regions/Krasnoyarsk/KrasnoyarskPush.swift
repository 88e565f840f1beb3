public import DopsyncModel
internal import Transport

/// Krasnoyarsk's writes (regions/krasnoyarsk.md, "Writing"): a program is
/// `PUT` whole to `/v3/programs/{id}`, rebuilt from the last raw record with
/// the changed fields mapped to the wire (so `legal_form` and the directions
/// beyond the first survive); a certificate's status is `PATCH`ed. Both carry
/// `If-Match` with the ETag the change is based on, so a write is applied at
/// most once: sent again after a lost answer, it meets `412`, and the current
/// record read then already holds the change.
///
/// A record last read from a snapshot has no ETag (`source_version` null) and
/// the region answers a write without `If-Match` with `428`: the adapter then
/// first reads the record with `GET` to learn its ETag, and when the region's
/// record is no longer the one the change is based on it answers `.stale`
/// with it instead of writing, so the gateway merges first.
extension KrasnoyarskAdapter {
    public func push(_ change: OutgoingChange) async throws(RegionError) -> PushOutcome {
        let name = Self.descriptor.name
        func fail(_ message: String, url: String? = nil) -> RegionError {
            RegionError(region: name, collection: change.collection, url: url, "\(change.sourceID): \(message)")
        }
        // What the change is based on: the last raw record's doc (a feed
        // change wraps it in `doc`; a snapshot item or an answer is bare).
        guard let rawValue = try? JSONParser.parse(change.raw) else { throw fail("the last raw record does not read as JSON") }
        let based = rawValue["op"] != nil ? rawValue["doc"] : rawValue
        guard let based, case .object = based else { throw fail("the last raw record holds no record") }

        let method: String, body: JSONValue
        switch change.collection {
        case .programs:
            var wire = based
            for (field, value) in change.sortedFields {
                switch KrasnoyarskMapping.programWire(field, value, in: wire) {
                case let .success(next): wire = next
                case let .failure(why): return .rejected("\(field): \(why)")
                }
            }
            (method, body) = ("PUT", wire)
        case .certificates:
            guard change.fields.count == 1, case let .string(status)? = change.fields["status"] else {
                return .rejected("only status of a certificate can be written to Krasnoyarsk")
            }
            guard let code = KrasnoyarskMapping.certificateStatuses.first(where: { $0.value.rawValue == status })?.key else {
                return .rejected("status: \"\(status)\" has no Krasnoyarsk code")
            }
            (method, body) = ("PATCH", .object([("status", .string(code))]))
        case .contracts, .charges:
            throw fail("\(change.collection.rawValue) cannot be changed through the gateway")
        }

        let etag: String
        if let version = change.baseVersion {
            etag = "\"\(version)\""
        } else {
            // Read last from a snapshot: learn the ETag first (a write without
            // If-Match meets 428), and write only over the same record.
            switch try await read(change.collection, change.sourceID) {
            case nil:
                return .rejected("the region has no such record (404)")
            case let (doc, tag, item)?:
                guard doc == based else { return .stale(current: item) }
                etag = tag
            }
        }

        let url = recordURL(change.collection, change.sourceID)
        let request = HTTPRequest(method: method, url: url,
                                  headers: [("Content-Type", "application/json"), ("Accept", "application/json"),
                                            ("If-Match", etag)],
                                  body: Array(body.serialized().utf8))
        // A 200 cut short on the way is sent again: the write meets 412 then,
        // and the record read after it holds the change.
        let (response, stored) = try await client.fetchParsed(collection: change.collection, url: url, {
            () throws(RegionError) -> HTTPResponse in try await auth.send(request, collection: change.collection)
        }, parse: { response in try JSONParser.parse(response.body) })
        switch response.status {
        case 200:
            guard let stored, let tag = response.header("etag") else {
                throw fail("200 without the record and its ETag", url: url)
            }
            return .applied(answer(change.collection, change.sourceID, doc: stored, etag: tag))
        case 412, 428:
            // The answer carries no record: read the current one. (428, a
            // write without If-Match, is never sent; should the region still
            // say so, the record read now gives the ETag for the next round.)
            guard let (_, _, item) = try await read(change.collection, change.sourceID) else {
                return .rejected("the region has no such record (404)")
            }
            return .stale(current: item)
        case 422:
            var reasons: [String] = []
            if let answer = try? JSONParser.parse(response.body), case let .array(errors)? = answer["errors"] {
                for error in errors {
                    guard case let .string(field)? = error["field"] else { continue }
                    if case let .string(message)? = error["message"] { reasons.append("\(field): \(message)") } else { reasons.append(field) }
                }
            }
            return .rejected(reasons.isEmpty ? "the region refused the record (422)" : reasons.joined(separator: "; "))
        case 404:
            return .rejected("the region has no such record (404)")
        default:
            throw fail(TransportError.httpStatus(response.status, url: url, body: response.body).description, url: url)
        }
    }

    func recordURL(_ collection: CollectionName, _ id: String) -> String {
        "\(baseURL)/v3/\(collection.rawValue)/\(formEncode(id))"
    }

    /// `GET /v3/{collection}/{id}`: the record's wire form, its ETag (with
    /// the quotes) and the record as a pull reads it; `nil` on `404`.
    func read(_ collection: CollectionName, _ id: String) async throws(RegionError) -> (doc: JSONValue, etag: String, item: PageItem)? {
        let url = recordURL(collection, id)
        let request = HTTPRequest(url: url, headers: [("Accept", "application/json")])
        let (response, parsed) = try await client.fetchParsed(collection: collection, url: url, {
            () throws(RegionError) -> HTTPResponse in try await auth.send(request, collection: collection)
        }, parse: { response in try JSONParser.parse(response.body) })
        if response.status == 404 { return nil }
        guard let doc = parsed else { throw unexpected(response, url: url, collection: collection) }
        guard let etag = response.header("etag") else {
            throw RegionError(region: Self.descriptor.name, collection: collection, url: url, "\(id): the answer has no ETag")
        }
        return (doc, etag, answer(collection, id, doc: doc, etag: etag))
    }

    /// A record the region answered with its ETag, stored as a feed change
    /// would be (`upsert` with `etag` and `doc`): its version is the ETag
    /// without the quotes, and `decode(raw:)` reads it back the same.
    func answer(_ collection: CollectionName, _ id: String, doc: JSONValue, etag: String) -> PageItem {
        let envelope = JSONValue.object([
            ("collection", .string(collection.rawValue)), ("id", .string(id)), ("op", .string("upsert")),
            ("etag", .string(etag)), ("doc", doc),
        ])
        return mapper.change(envelope, raw: envelope.serialized()).item
    }
}

extension KrasnoyarskMapping {
    /// `wire` (a program as the region sent it) with one normalized field
    /// written in, the inverse of `program(_:)`; or why the field cannot be
    /// written to Krasnoyarsk.
    static func programWire(_ path: String, _ value: JSONValue, in wire: JSONValue) -> Result<JSONValue, WireWriteError> {
        func set(_ key: String, _ v: JSONValue) -> Result<JSONValue, WireWriteError> {
            wire.setting(path: key, to: v).map { .success($0) } ?? .failure(WireWriteError("\(key) is not in an object on the wire"))
        }
        switch path {
        case "title", "registry", "status", "starts_on", "ends_on", "provider.inn", "provider.ogrn", "provider.name",
             "municipality.oktmo", "municipality.name":
            return set(path, value)
        case "age_min": return set("age.min", value)
        case "age_max": return set("age.max", value)
        case "hours_total": return set("hours", value)
        case "price_month_kopecks":
            guard case let .number(n) = value, let k = try? Kopecks(kopecksText: n) else {
                return .failure(WireWriteError("is not a whole number of kopecks"))
            }
            return set("price_month", .number(k.roubles(separator: ".")))
        case "format":
            switch value {
            case .string("online"): return set("online", .bool(true))
            case .string("offline"): return set("online", .bool(false))
            default: return .failure(WireWriteError("Krasnoyarsk programs are online or offline only"))
            }
        case "description":
            // The wire has no description: the model reads it as "".
            if value == .string("") { return .success(wire) }
            return .failure(WireWriteError("Krasnoyarsk programs have no description"))
        case "direction":
            // The main direction is the first of `directions`; the others stay.
            guard case let .string(d) = value, let code = directions.first(where: { $0.value.rawValue == d })?.key else {
                return .failure(WireWriteError("has no Krasnoyarsk code"))
            }
            var rest: [JSONValue] = []
            if case let .array(codes)? = wire["directions"] { rest = codes.dropFirst().filter { $0 != .string(code) } }
            return set("directions", .array([.string(code)] + rest))
        case "provider.kind":
            // A legal form of that kind: the one the region has when it fits, else the plainest.
            guard case let .string(k) = value, let kind = ProviderKind(rawValue: k) else {
                return .failure(WireWriteError("is not a provider kind"))
            }
            if case let .string(current)? = wire.value(atPath: "provider.legal_form"), legalForms[current] == kind {
                return .success(wire)
            }
            let forms = legalForms.filter { $0.value == kind }.keys.sorted()
            guard let form = forms.contains("other") ? "other" : forms.first else {
                return .failure(WireWriteError("has no Krasnoyarsk legal form"))
            }
            return set("provider.legal_form", .string(form))
        default:
            return .failure(WireWriteError("cannot be written to Krasnoyarsk"))
        }
    }
}

/// Why a normalized field has no place on a region's wire.
struct WireWriteError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
