public import DopsyncModel
internal import Transport

/// Omsk's writes (regions/omsk.md, "Writing"): a program is `PUT` whole,
/// rebuilt from the last raw record with the changed fields; a certificate's
/// status is `PATCH`ed. Both carry `If-Match: "VERSION"`, so a write is
/// applied at most once: sent again after a lost answer, it meets `412` with
/// the current record, which already holds the change.
extension OmskAdapter {
    public func push(_ change: OutgoingChange) async throws(RegionError) -> PushOutcome {
        let name = Self.descriptor.name
        func fail(_ message: String, url: String? = nil) -> RegionError {
            RegionError(region: name, collection: change.collection, url: url, "\(change.sourceID): \(message)")
        }
        guard let version = change.baseVersion else { throw fail("no version to send in If-Match") }
        let method: String, path: String, body: JSONValue
        switch change.collection {
        case .programs:
            guard var wire = try? JSONParser.parse(change.raw), case .object = wire else {
                throw fail("the last raw record does not read as an object")
            }
            for (field, value) in change.sortedFields {
                guard case let (key, v)? = Self.programWireField(field, value), let next = wire.setting(path: key, to: v) else {
                    throw fail("\(field) cannot be written to Omsk")
                }
                wire = next
            }
            (method, path, body) = ("PUT", "programs", wire)
        case .certificates:
            guard let status = change.fields["status"], change.fields.count == 1 else {
                throw fail("only status of a certificate can be written to Omsk")
            }
            (method, path, body) = ("PATCH", "certificates", .object([("status", status)]))
        case .contracts, .charges:
            throw fail("\(change.collection.rawValue) cannot be changed through the gateway")
        }
        let url = "\(baseURL)/api/v2/\(path)/\(formEncode(change.sourceID))"
        let request = HTTPRequest(method: method, url: url,
                                  headers: [("Content-Type", "application/json"), ("Accept", "application/json"),
                                            ("If-Match", "\"\(version)\"")],
                                  body: Array(body.serialized().utf8))
        // A 200 cut short on the way is sent again: the write meets 412 then,
        // with the record that holds it.
        let (response, stored) = try await client.fetchParsed(collection: change.collection, url: url, {
            () throws(RegionError) -> HTTPResponse in try await auth.send(request, collection: change.collection)
        }, parse: { response in try JSONParser.parse(response.body) })
        switch response.status {
        case 200:
            return .applied(mapper.decode(stored!, raw: response.bodyText, collection: change.collection))
        case 412:
            guard let answer = try? JSONParser.parse(response.body), let current = answer["current"], case .object = current else {
                throw fail("412 without the current record", url: url)
            }
            return .stale(current: mapper.decode(current, raw: current.serialized(), collection: change.collection))
        case 422:
            var reasons: [String] = []
            if let answer = try? JSONParser.parse(response.body), case let .object(fields)? = answer["fields"] {
                for (field, why) in fields {
                    if case let .string(text) = why { reasons.append("\(field): \(text)") } else { reasons.append(field) }
                }
            }
            return .rejected(reasons.isEmpty ? "the region refused the record (422)" : reasons.joined(separator: "; "))
        case 404:
            return .rejected("the region has no such record (404)")
        default:
            throw fail(TransportError.httpStatus(response.status, url: url, body: response.body).description, url: url)
        }
    }

    /// A normalized program field as Omsk's wire field and value, or `nil`
    /// when the field has no place on the wire.
    static func programWireField(_ path: String, _ value: JSONValue) -> (String, JSONValue)? {
        switch path {
        case "title", "description", "registry", "format", "status", "provider.inn", "provider.ogrn", "provider.name",
             "provider.kind", "municipality.oktmo", "municipality.name":
            return (path, value)
        case "direction":
            guard case let .string(d) = value, let code = OmskMapping.directions.first(where: { $0.value.rawValue == d })?.key
            else { return nil }
            return (path, .string(code))
        case "age_min": return ("ageFrom", value)
        case "age_max": return ("ageTo", value)
        case "hours_total": return ("hoursTotal", value)
        case "starts_on": return ("startDate", value)
        case "ends_on": return ("endDate", value)
        case "price_month_kopecks":
            guard case let .number(n) = value, let k = try? Kopecks(kopecksText: n) else { return nil }
            return ("pricePerMonth", .string(k.roubles(separator: ".")))
        default:
            return nil
        }
    }
}
