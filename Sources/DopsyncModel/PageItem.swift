/// One record of a page, as an adapter read it.
public enum PageItem: Sendable {
    /// A record the region sent, with its raw text. A contract whose region
    /// names its certificate by internal id (Leningrad, Krasnoyarsk) carries
    /// that id as `certificateRef`: the store fills `certificate_number` from
    /// the certificate with that source id, now or when it arrives.
    case upsert(Record, raw: String, certificateRef: String? = nil)
    /// A record the region marked deleted (an Omsk tombstone, a feed delete).
    /// `updatedAt` and `version` come from the deletion where it carries them.
    case delete(sourceID: String, updatedAt: Timestamp?, version: String?, raw: String)
    /// A record that could not be taken, with the reason.
    case quarantine(sourceID: String?, raw: String, reason: String)

    /// The item, a quarantine entry's reason led by where the record stood
    /// (`page 3 record 7: …`), so that the operator can find it.
    public func placed(_ place: String) -> PageItem {
        guard case let .quarantine(id, raw, reason) = self else { return self }
        return .quarantine(sourceID: id, raw: raw, reason: "\(place): \(reason)")
    }
}

/// A complete walk of a collection that tells deletions by absence (Kemerovo's
/// full export, Krasnoyarsk's snapshot): the records a walk lists are marked
/// as seen, and when the walk is complete every live record it did not list is
/// marked deleted. A walk that fails or is cut short never finishes, so it
/// never deletes anything.
public enum SweepStep: Sendable, Equatable {
    /// The page belongs to the walk with this id.
    case mark(walk: String)
    /// The page is the walk's last: after it, the records not seen are deleted.
    case finish(walk: String)
}
