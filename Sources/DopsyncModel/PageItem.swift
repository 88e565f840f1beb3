/// One record of a page, as an adapter read it.
public enum PageItem: Sendable {
    /// A record the region sent, with its raw text.
    case upsert(Record, raw: String)
    /// A record the region marked deleted (an Omsk tombstone, a feed delete).
    /// `updatedAt` and `version` come from the deletion where it carries them.
    case delete(sourceID: String, updatedAt: Timestamp?, version: String?, raw: String)
    /// A record that could not be taken, with the reason.
    case quarantine(sourceID: String?, raw: String, reason: String)
}
