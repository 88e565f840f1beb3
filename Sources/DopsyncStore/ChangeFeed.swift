internal import GRDB
public import DopsyncModel

/// One page of a collection's change feed.
///
/// Invariant: `items` are in ascending `sequence`; every record whose exported
/// content changed after a page was read has a higher sequence than anything
/// on it, so a reader that resumes after the page's last sequence sees it again.
public struct ChangePage: Sendable {
    /// A record as exported, with the sequence of its last change.
    public struct Item: Sendable {
        /// The store-wide sequence number of the record's last change.
        public var sequence: Int64
        /// The export line (normalized-model.md), deleted records included.
        public var line: String
    }

    /// At most the limit asked for, oldest change first.
    public var items: [Item]
    /// `true` when more changes follow the last item.
    public var hasMore: Bool
}

extension Store {
    /// Adds the change sequence: every record carries the store-wide sequence
    /// number of the last change of its exported content, and the time of it.
    ///
    /// The triggers, not the writing code, keep it: whichever path changes
    /// `normalized` (a pull, a deletion, a resolved reference, an operator's
    /// edit added later) moves the record to the end of the feed. (Since
    /// migration v3 the pull's own writes take the next number themselves and
    /// the triggers stand back for them; every other path is still the
    /// triggers'.) SQLite
    /// serializes writers, so a committed change always carries a higher
    /// number than every change committed before it; a reader never skips one.
    static func registerChangeSequence(_ m: inout DatabaseMigrator) {
        m.registerMigration("serve-1 record change sequence") { db in
            try db.execute(sql: """
                ALTER TABLE record ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE record ADD COLUMN changed_at TEXT;

                -- One row: the last sequence number given (a counter, not
                -- max(change_seq)+1, so that a number is never given twice),
                -- and the epoch, random per store, which tells a reader's
                -- position in this store from one in a store built afresh.
                CREATE TABLE change_counter (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    seq INTEGER NOT NULL,
                    epoch TEXT NOT NULL
                );

                -- Records held before this migration are numbered in export order.
                UPDATE record SET change_seq = numbered.n, changed_at = record.pulled_at
                FROM (SELECT collection, region, source_id,
                             row_number() OVER (ORDER BY collection, region, source_id) AS n
                      FROM record) AS numbered
                WHERE record.collection = numbered.collection AND record.region = numbered.region
                    AND record.source_id = numbered.source_id;
                INSERT INTO change_counter(id, seq, epoch) VALUES (1, (SELECT count(*) FROM record), lower(hex(randomblob(8))));

                CREATE INDEX record_change ON record(collection, change_seq);

                CREATE TRIGGER record_change_insert AFTER INSERT ON record
                BEGIN
                    UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
                    UPDATE record SET change_seq = (SELECT seq FROM change_counter WHERE id = 1),
                                      changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
                    WHERE collection = NEW.collection AND region = NEW.region AND source_id = NEW.source_id;
                END;

                CREATE TRIGGER record_change_update AFTER UPDATE OF normalized ON record
                WHEN OLD.normalized IS NOT NEW.normalized
                BEGIN
                    UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
                    UPDATE record SET change_seq = (SELECT seq FROM change_counter WHERE id = 1),
                                      changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
                    WHERE collection = NEW.collection AND region = NEW.region AND source_id = NEW.source_id;
                END;
                """)
        }
    }

    /// The records of `collection` (all regions, deleted ones included) whose
    /// last change comes after sequence `after`, oldest change first.
    ///
    /// - Parameters:
    ///   - after: the sequence of the last change already read; 0 for all.
    ///   - changedSince: only records changed at the gateway at or after this
    ///     time (`YYYY-MM-DDTHH:MM:SSZ`), when given.
    ///   - limit: at most this many items.
    public func changes(_ collection: CollectionName, after: Int64, changedSince: Timestamp? = nil,
                        limit: Int) throws(StoreError) -> ChangePage {
        try read { db in
            var sql = "SELECT change_seq, normalized FROM record WHERE collection = ? AND change_seq > ?"
            var arguments: StatementArguments = [collection.rawValue, after]
            if let changedSince {
                sql += " AND changed_at >= ?"
                arguments += [changedSince.description]
            }
            sql += " ORDER BY change_seq LIMIT ?"
            // One more than asked tells whether another page follows.
            arguments += [limit + 1]
            var items: [ChangePage.Item] = []
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try cursor.next() {
                items.append(ChangePage.Item(sequence: row[0], line: row[1]))
            }
            let hasMore = items.count > limit
            if hasMore { items.removeLast() }
            return ChangePage(items: items, hasMore: hasMore)
        }
    }

    /// The store's change epoch: random, made with the store. Sequences of
    /// one store mean nothing in another, so a reader's saved position
    /// carries the epoch it was read in.
    public func changeEpoch() throws(StoreError) -> String {
        try read { db in try String.fetchOne(db, sql: "SELECT epoch FROM change_counter WHERE id = 1") ?? "" }
    }
}
