internal import Foundation
internal import GRDB
internal import Synchronization
internal import DopsyncModel

/// The gateway's local store: one SQLite database in WAL mode.
///
/// Invariants: every write that covers records also moves the position that
/// covers them, in the same transaction, so a process killed at any moment
/// leaves a store that the next sync continues from without loss or double
/// counting. The schema only moves forward through named migrations.
public final class Store: Sendable {
    let writer: any DatabaseWriter
    /// The collections (`region/collection`) most of whose last page was
    /// new records (see `PageWrite.expectNew`).
    let mostlyNew = Mutex<Set<String>>([])
    /// Where the database lives, or `nil` in memory.
    public let path: String?

    /// Opens (creating when missing) the store at `path` and migrates it.
    ///
    /// - Throws: `StoreError` when the file cannot be opened or migrated.
    public init(path: String) throws(StoreError) {
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.prepareDatabase { db in
            // WAL makes NORMAL safe: a crash loses no committed transaction's
            // consistency, only (at worst) the last ones before a power cut.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // The writer's 32 MB of page cache keeps the B-trees' upper levels
            // and the pages being filled from being read back again and again;
            // readers keep SQLite's default, so that memory stays bounded.
            if !db.configuration.readonly {
                try db.execute(sql: "PRAGMA cache_size = -32768")
                // A page of records dirties index pages all over the file;
                // checkpointing every 64 MB of log rather than every 4 MB
                // writes a page rewritten by many pages once, and fsyncs a
                // sixteenth as often: the initial pull of 1M certificates
                // went from 274 s to 218 s. The log is cut back afterwards.
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 65536")
                try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
            }
        }
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            writer = pool
            self.path = path
            try Store.migrator.migrate(pool)
        } catch {
            throw StoreError("cannot open the store \(path): \(error)")
        }
    }

    /// A fresh store in memory, for tests.
    public static func inMemory() throws(StoreError) -> Store {
        do {
            let queue = try DatabaseQueue()
            try migrator.migrate(queue)
            return Store(writer: queue)
        } catch {
            throw StoreError("cannot create an in-memory store: \(error)")
        }
    }

    private init(writer: any DatabaseWriter) {
        self.writer = writer
        self.path = nil
    }

    /// Runs `body` in one write transaction, mapping database errors.
    func write<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try writer.write(body)
        } catch let e as StoreError {
            throw e
        } catch {
            throw StoreError("store write failed: \(error)")
        }
    }

    /// `write`, suspending the calling task rather than holding its thread
    /// while the writer is busy: a sync's walks run on Swift's few shared
    /// threads, which then stay free to decode.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await writer.write(body)
        } catch let e as StoreError {
            throw e
        } catch {
            throw StoreError("store write failed: \(error)")
        }
    }

    /// Runs `body` with a read-only snapshot, mapping database errors.
    func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try writer.read(body)
        } catch let e as StoreError {
            throw e
        } catch {
            throw StoreError("store read failed: \(error)")
        }
    }

    /// The schema. Migrations are never edited once released; add new ones.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            // One row per (collection, region, source_id). `normalized` is the
            // gateway's state of the record as exported; `base` the last state
            // the region sent (the common base of a three-way merge); `raw` the
            // record exactly as the region sent it last.
            try db.execute(sql: """
                CREATE TABLE record (
                    collection TEXT NOT NULL,
                    region TEXT NOT NULL,
                    source_id TEXT NOT NULL,
                    normalized TEXT NOT NULL,
                    base TEXT NOT NULL,
                    raw TEXT NOT NULL,
                    content_hash BLOB NOT NULL,
                    deleted INTEGER NOT NULL DEFAULT 0,
                    source_updated_at TEXT,
                    source_version TEXT,
                    pending_ref TEXT,
                    seen_walk TEXT,
                    first_seen_at TEXT NOT NULL,
                    pulled_at TEXT NOT NULL,
                    edited_at TEXT,
                    PRIMARY KEY (collection, region, source_id)
                ) WITHOUT ROWID;
                CREATE INDEX record_pending_ref ON record(region, pending_ref) WHERE pending_ref IS NOT NULL;

                CREATE TABLE position (
                    region TEXT NOT NULL,
                    collection TEXT NOT NULL,
                    position TEXT NOT NULL,
                    updated_at TEXT NOT NULL,
                    PRIMARY KEY (region, collection)
                ) WITHOUT ROWID;

                CREATE TABLE region_state (
                    region TEXT PRIMARY KEY NOT NULL,
                    last_pull_started_at TEXT,
                    last_pull_ok_at TEXT,
                    last_push_ok_at TEXT,
                    last_error TEXT,
                    last_error_at TEXT
                );

                CREATE TABLE quarantine (
                    id INTEGER PRIMARY KEY,
                    region TEXT NOT NULL,
                    collection TEXT NOT NULL,
                    source_id TEXT,
                    qkey TEXT NOT NULL,
                    raw TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    first_seen_at TEXT NOT NULL,
                    last_seen_at TEXT NOT NULL,
                    resolved_at TEXT,
                    resolution TEXT,
                    UNIQUE (region, collection, qkey)
                );

                -- Changes made at the gateway, waiting to be pushed. The
                -- idempotency key is made once and reused on every retry.
                CREATE TABLE outbox (
                    id INTEGER PRIMARY KEY,
                    region TEXT NOT NULL,
                    collection TEXT NOT NULL,
                    source_id TEXT NOT NULL,
                    operation TEXT NOT NULL,
                    fields TEXT NOT NULL,
                    base_version TEXT,
                    idempotency_key TEXT NOT NULL UNIQUE,
                    state TEXT NOT NULL DEFAULT 'pending',
                    attempts INTEGER NOT NULL DEFAULT 0,
                    created_at TEXT NOT NULL,
                    sent_at TEXT,
                    done_at TEXT,
                    last_error TEXT,
                    result TEXT
                );
                CREATE INDEX outbox_pending ON outbox(region, state);

                CREATE TABLE conflict (
                    id INTEGER PRIMARY KEY,
                    kind TEXT NOT NULL,
                    dedup_key TEXT NOT NULL,
                    region TEXT NOT NULL,
                    collection TEXT NOT NULL,
                    source_id TEXT NOT NULL,
                    summary TEXT NOT NULL,
                    detail TEXT NOT NULL DEFAULT '{}',
                    opened_at TEXT NOT NULL,
                    closed_at TEXT,
                    close_reason TEXT
                );
                CREATE UNIQUE INDEX conflict_open ON conflict(kind, dedup_key) WHERE closed_at IS NULL;

                -- Append-only: who did what, when and why.
                CREATE TABLE audit (
                    id INTEGER PRIMARY KEY,
                    at TEXT NOT NULL,
                    operator TEXT NOT NULL,
                    action TEXT NOT NULL,
                    region TEXT,
                    collection TEXT,
                    source_id TEXT,
                    conflict_id INTEGER,
                    detail TEXT NOT NULL DEFAULT '{}',
                    reason TEXT
                );
                CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
                    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
                    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                """)
        }
        m.registerMigration("v2-push") { db in
            // `sent`: the request an outbox entry was sent as, so that a retry
            // after a lost answer or a kill sends exactly the same thing with
            // the same key. `resolution`: how an operator closed a conflict
            // (`dismiss`ed ones are not raised again by the checks).
            try db.execute(sql: """
                ALTER TABLE outbox ADD COLUMN sent TEXT;
                CREATE INDEX outbox_record ON outbox(region, collection, source_id, state);
                ALTER TABLE conflict ADD COLUMN resolution TEXT;
                """)
        }
        // The HTTP gateway's migrations live beside the code that uses them.
        registerChangeSequence(&m)
        registerAPITokens(&m)
        registerRecordRows(&m)
        registerCheckIndexes(&m)
        registerLinkIndexes(&m)
        registerOwedRegions(&m)
        registerProgramLinkIndex(&m)
        return m
    }

    /// Since v3 a record row has a rowid and holds `base` only while it differs.
    static func registerRecordRows(_ m: inout DatabaseMigrator) {
        m.registerMigration("v3 record rows with rowid") { db in
            // A record row is about a kilobyte (its export line and the raw
            // text). In a WITHOUT ROWID table a row that long spills into an
            // overflow page of its own, which doubled the file and the bytes
            // written; a rowid table keeps it inline. `base` is NULL while it
            // equals `normalized` (a record with no local edits), instead of
            // a second copy of every record. The change-sequence triggers now
            // stand back when the writer numbers the change itself (the pull
            // does, rather than rewriting each row it has just written).
            try db.execute(sql: """
                CREATE TABLE record_v3 (
                    id INTEGER PRIMARY KEY,
                    collection TEXT NOT NULL,
                    region TEXT NOT NULL,
                    source_id TEXT NOT NULL,
                    normalized TEXT NOT NULL,
                    base TEXT,
                    raw TEXT NOT NULL,
                    content_hash BLOB NOT NULL,
                    deleted INTEGER NOT NULL DEFAULT 0,
                    source_updated_at TEXT,
                    source_version TEXT,
                    pending_ref TEXT,
                    seen_walk TEXT,
                    first_seen_at TEXT NOT NULL,
                    pulled_at TEXT NOT NULL,
                    edited_at TEXT,
                    change_seq INTEGER NOT NULL DEFAULT 0,
                    changed_at TEXT
                );
                INSERT INTO record_v3(collection, region, source_id, normalized, base, raw, content_hash, deleted,
                    source_updated_at, source_version, pending_ref, seen_walk, first_seen_at, pulled_at, edited_at,
                    change_seq, changed_at)
                SELECT collection, region, source_id, normalized, nullif(base, normalized), raw, content_hash, deleted,
                    source_updated_at, source_version, pending_ref, seen_walk, first_seen_at, pulled_at, edited_at,
                    change_seq, changed_at
                FROM record ORDER BY collection, region, source_id;
                DROP TABLE record;
                ALTER TABLE record_v3 RENAME TO record;
                CREATE UNIQUE INDEX record_key ON record(collection, region, source_id);
                CREATE INDEX record_pending_ref ON record(region, pending_ref) WHERE pending_ref IS NOT NULL;
                CREATE INDEX record_change ON record(collection, change_seq);

                CREATE TRIGGER record_change_insert AFTER INSERT ON record
                WHEN NEW.change_seq = 0
                BEGIN
                    UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
                    UPDATE record SET change_seq = (SELECT seq FROM change_counter WHERE id = 1),
                                      changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
                    WHERE id = NEW.id;
                END;

                CREATE TRIGGER record_change_update AFTER UPDATE OF normalized ON record
                WHEN OLD.normalized IS NOT NEW.normalized AND NEW.change_seq = OLD.change_seq
                BEGIN
                    UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
                    UPDATE record SET change_seq = (SELECT seq FROM change_counter WHERE id = 1),
                                      changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
                    WHERE id = NEW.id;
                END;
                """)
        }
    }
}

/// A failure of the store, with what was being done.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure, so that the HTTP API can answer 404, 409 or 400
    /// without reading the message.
    public enum Kind: Sendable, Equatable {
        /// The database failed (or anything not listed below).
        case failure
        /// The object named does not exist (a conflict, a record).
        case notFound
        /// The request clashes with the object's state (closed, deleted).
        case conflict
        /// The request does not fit the object (a field, a value, a kind).
        case invalid
    }

    public let message: String
    public let kind: Kind
    /// The request field the error is about (`set.title`, `close`), when one is.
    public let field: String?

    public init(_ message: String, kind: Kind = .failure, field: String? = nil) {
        self.message = message
        self.kind = kind
        self.field = field
    }

    public var description: String { message }
}

/// The current time as the store writes it.
func nowText() -> String {
    Timestamp(seconds: Int64(Date().timeIntervalSince1970)).description
}
