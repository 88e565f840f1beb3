internal import DopsyncModel
internal import Synchronization

/// Krasnoyarsk's change feed: every change to every collection, numbered in
/// commit order from 1. Compaction drops the oldest changes (the region keeps
/// 30 days); a reader whose `since` is older than what is kept must start
/// again from a snapshot.
final class ChangeLog: Sendable {
    /// One change as the feed serves it.
    struct Change: Sendable {
        var seq: Int64
        var collection: CollectionName
        var id: String
        /// The record's version after the change (its ETag, unquoted).
        var version: Int
        /// The record's wire text, or `nil` for a `delete`.
        var doc: String?
    }

    /// What a read of the feed gives.
    enum Read {
        /// `since` is older than the oldest change kept.
        case compacted(oldest: Int64)
        case page([Change], lastSeq: Int64, pending: Int64)
    }

    private struct State {
        /// Kept changes; their seqs run without gaps from `oldest`.
        var changes: [Change] = []
        /// The first seq still kept (`head + 1` when none is).
        var oldest: Int64 = 1
        var head: Int64 = 0
    }

    private let state = Mutex(State())

    /// Appends a change; returns its seq.
    @discardableResult
    func append(_ collection: CollectionName, id: String, version: Int, doc: String?) -> Int64 {
        state.withLock { s in
            s.head += 1
            s.changes.append(Change(seq: s.head, collection: collection, id: id, version: version, doc: doc))
            return s.head
        }
    }

    /// The newest seq (0 before any change): a snapshot's `snapshot_seq`.
    var head: Int64 { state.withLock { $0.head } }

    /// Drops every change recorded so far.
    func compact() {
        state.withLock { s in
            s.changes.removeAll()
            s.oldest = s.head + 1
        }
    }

    /// The changes after `since`, at most `limit`.
    func read(since: Int64, limit: Int) -> Read {
        state.withLock { s in
            // The change right after `since` must still be kept.
            if since + 1 < s.oldest { return .compacted(oldest: s.oldest) }
            let start = Int(max(0, since + 1 - s.oldest))
            guard start < s.changes.count else { return .page([], lastSeq: max(since, 0), pending: 0) }
            let page = Array(s.changes[start..<min(s.changes.count, start + limit)])
            let last = page.last!.seq
            return .page(page, lastSeq: last, pending: s.head - last)
        }
    }
}
