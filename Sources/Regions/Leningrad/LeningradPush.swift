public import DopsyncModel
internal import Transport

/// Leningrad's writes (regions/leningrad.md, "Writing"): a `PATCH` that
/// carries the record's `version` and the changed fields only, in wire form;
/// a certificate's status is `blocked` 0 or 1, or `close`.
///
/// A write is applied at most once: `version` makes it conditional, so a
/// resend after a lost answer meets `409 stale`. That answer does not carry
/// the record, so the adapter reads it (`GET /api/v1/{collection}/{id}`) and
/// answers `.stale(current)`; the current record already holds the gateway's
/// change, and the merge finds nothing left to send.
extension LeningradAdapter {
    /// Sends one change as a `PATCH` (see the type's comment and `Regions/Push.swift`).
    ///
    /// - Returns: `.applied` with the stored record of a `200`; `.stale` with
    ///   the record read after a `409`; `.rejected` for a `400`, a `404`, or a
    ///   value Leningrad cannot hold (sent nowhere).
    /// - Throws: `RegionError` when no answer came, or an answer the page does not document.
    public func push(_ change: OutgoingChange) async throws(RegionError) -> PushOutcome {
        let name = Self.descriptor.name
        func fail(_ message: String, url: String? = nil) -> RegionError {
            RegionError(region: name, collection: change.collection, url: url, "\(change.sourceID): \(message)")
        }
        guard let text = change.baseVersion, let version = Int(text) else {
            throw fail("no integer version to send (\(change.baseVersion ?? "none"))")
        }
        var body: [(String, JSONValue)] = [("version", .int(version))]
        switch change.collection {
        case .programs:
            for (field, value) in change.sortedFields {
                switch mapper.programWireField(field, value) {
                case let .success(member): body.append(member)
                case let .failure(why): return .rejected("\(field): \(why.description)")
                }
            }
        case .certificates:
            guard change.fields.count == 1, let status = change.fields["status"] else {
                return .rejected("only status of a certificate can be written to Leningrad")
            }
            switch mapper.certificateStatusWrite(status, raw: change.raw) {
            case let .success(member): body.append(member)
            case let .failure(why): return .rejected("status: \(why.description)")
            }
        case .contracts, .charges:
            return .rejected("\(change.collection.rawValue) cannot be changed through the gateway")
        }

        let url = recordURL(change)
        let request = HTTPRequest(method: "PATCH", url: url,
                                  headers: [("Content-Type", "application/json"), ("Accept", "application/json"),
                                            ("X-Api-Key", apiKey)],
                                  body: Array(JSONValue.object(body).serialized().utf8))
        // A 200 cut short on the way is sent again: it meets 409 then, and
        // the record read after it holds the change.
        let (response, stored) = try await client.fetchParsed(collection: change.collection, url: url, {
            () throws(RegionError) -> HTTPResponse in try await client.send(request, collection: change.collection)
        }, parse: { response in try Self.parseRecord(response.body) })
        switch response.status {
        case 200:
            return .applied(mapper.decode(stored!, raw: response.bodyText, collection: change.collection))
        case 409:
            guard case .string("stale")? = (try? JSONParser.parse(response.body))?["error"] else {
                throw fail("HTTP 409 without the documented {\"error\":\"stale\"}: \(response.bodyText.prefix(200))", url: url)
            }
            return try await current(change)
        case 400:
            guard let answer = try? JSONParser.parse(response.body), case let .string(message)? = answer["message"] else {
                return .rejected("the region refused the change (400)")
            }
            return .rejected(message)
        case 404:
            return .rejected("the region has no such record (404)")
        default:
            throw failure(response, collection: change.collection, url: url)
        }
    }

    /// `…/api/v1/{collection}/{id}` of the changed record.
    func recordURL(_ change: OutgoingChange) -> String {
        "\(baseURL)/api/v1/\(change.collection.rawValue)/\(formEncode(change.sourceID))"
    }

    /// Reads the record after a `409`, which does not carry it: `.stale`
    /// with it, or `.rejected` when the region no longer has it (`404`).
    func current(_ change: OutgoingChange) async throws(RegionError) -> PushOutcome {
        let url = recordURL(change)
        let request = HTTPRequest(url: url, headers: [("Accept", "application/json"), ("X-Api-Key", apiKey)])
        let (response, record) = try await client.fetchParsed(collection: change.collection, url: url, {
            () throws(RegionError) -> HTTPResponse in try await client.send(request, collection: change.collection)
        }, parse: { response in try Self.parseRecord(response.body) })
        switch response.status {
        case 200:
            return .stale(current: mapper.decode(record!, raw: response.bodyText, collection: change.collection))
        case 404:
            return .rejected("the region has no such record (404)")
        default:
            throw failure(response, collection: change.collection, url: url)
        }
    }

    /// A bare record: a JSON object, or an error (a body cut short).
    static func parseRecord(_ body: [UInt8]) throws -> JSONValue {
        let value = try JSONParser.parse(body)
        guard case .object = value else { throw PageFormatError(description: "the answer is not a JSON object") }
        return value
    }
}

/// Why a normalized value has no place on Leningrad's wire.
struct UnwritableValue: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension LeningradMapping {
    /// A normalized program field as Leningrad's wire member, the inverse of
    /// `program(_:)` by the same tables; a failure says why the value has no
    /// place there (a field the region does not keep, a value it cannot hold).
    func programWireField(_ path: String, _ value: JSONValue) -> Result<(String, JSONValue), UnwritableValue> {
        func text(_ key: String) -> Result<(String, JSONValue), UnwritableValue> {
            guard case let .string(s) = value else { return .failure(UnwritableValue("Leningrad requires a value here")) }
            return .success((key, .string(s)))
        }
        func integer(_ key: String) -> Result<(String, JSONValue), UnwritableValue> {
            guard case let .number(n) = value, let i = Int(n) else {
                return .failure(UnwritableValue("Leningrad requires a whole number here"))
            }
            return .success((key, .int(i)))
        }
        func code<T: RawRepresentable, W>(_ key: String, _ table: [W: T], wire: (W) -> JSONValue)
            -> Result<(String, JSONValue), UnwritableValue> where T.RawValue == String {
            guard case let .string(s) = value, let w = table.first(where: { $0.value.rawValue == s })?.key else {
                return .failure(UnwritableValue("\(value.serialized()) has no code in Leningrad"))
            }
            return .success((key, wire(w)))
        }
        func date(_ key: String) -> Result<(String, JSONValue), UnwritableValue> {
            guard case let .string(s) = value, let d = try? LocalDate(iso: s) else {
                return .failure(UnwritableValue("Leningrad requires a date here"))
            }
            return .success((key, .string(d.dotted)))
        }
        switch path {
        case "title": return text("name")
        case "provider.inn": return text("org_inn")
        case "provider.ogrn": return text("org_ogrn")
        case "provider.name": return text("org_name")
        case "provider.kind": return code("org_type", Self.orgTypes) { .int($0) }
        case "direction": return code("focus", Self.focuses) { .int($0) }
        case "age_min": return integer("age_min")
        case "age_max": return integer("age_max")
        case "hours_total": return integer("hours")
        case "price_month_kopecks":
            guard case let .number(n) = value, let k = try? Kopecks(kopecksText: n) else {
                return .failure(UnwritableValue("Leningrad requires a whole number of kopecks here"))
            }
            return .success(("month_price", .int(k.value)))
        case "registry": return code("register", Self.registers) { .string($0) }
        case "municipality.oktmo": return text("oktmo")
        case "format":
            // `is_online` tells online or offline only.
            switch value {
            case .string(ProgramFormat.online.rawValue): return .success(("is_online", .int(1)))
            case .string(ProgramFormat.offline.rawValue): return .success(("is_online", .int(0)))
            default: return .failure(UnwritableValue("Leningrad tells only online or offline (is_online)"))
            }
        case "status": return code("state", Self.states) { .string($0) }
        case "starts_on": return date("date_start")
        case "ends_on": return date("date_end")
        case "description": return .failure(UnwritableValue("Leningrad keeps no description of a program"))
        case "municipality.name": return .failure(UnwritableValue("Leningrad keeps only the ОКТМО code, no municipality name"))
        default: return .failure(UnwritableValue("has no place in a Leningrad program"))
        }
    }

    /// A certificate's new status as the `PATCH` member: `active` is
    /// `blocked` 0, `suspended` `blocked` 1, `closed` `close`. A certificate
    /// closed in the region (`closed_at` in its last raw record) cannot be
    /// reopened there.
    func certificateStatusWrite(_ value: JSONValue, raw: String) -> Result<(String, JSONValue), UnwritableValue> {
        guard case let .string(s) = value, let status = CertificateStatus(rawValue: s) else {
            return .failure(UnwritableValue("\(value.serialized()) is not a certificate status"))
        }
        let closed = (try? JSONParser.parse(raw))?["closed_at"].map { !$0.isNull } ?? false
        if closed && status != .closed {
            return .failure(UnwritableValue("the certificate is closed in Leningrad, and a closed certificate cannot be reopened"))
        }
        switch status {
        case .closed:
            return .success(("close", .bool(true)))
        case .active:
            return .success(("blocked", .int(0)))
        case .suspended:
            return .success(("blocked", .int(1)))
        }
    }
}
