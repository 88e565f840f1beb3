internal import GRDB
public import DopsyncModel

/// Reads a few fields of selected records inside one read transaction, so
/// that every answer comes from the same state of the store: what the
/// checks across records read when they look only at what changed.
public struct RecordReader {
    let db: Database

    /// The fields records can be looked up by, per collection: the column
    /// that holds each (see the "v4 check references" migration) and whether
    /// the lookup goes within a region. Each column has an index, so a
    /// lookup never walks the collection.
    public static let indexedFields: [CollectionName: [String: (column: String, byRegion: Bool)]] = [
        .certificates: ["child.snils": ("ref_b", false), "number": ("ref_a", true)],
        .contracts: ["certificate_number": ("ref_a", true), "program_source_id": ("ref_b", true)],
        .charges: ["contract_source_id": ("ref_a", true)],
    ]

    /// Calls `body` with `region`, `source_id`, the deleted flag and the
    /// values at `paths` (as text; `nil` for a JSON null or a missing field)
    /// of every record of `collection`, deleted ones included, whose export
    /// changed after sequence number `after` (the change sequence).
    public func changed(_ collection: CollectionName, after: Int64, _ paths: [String],
                        _ body: (_ region: String, _ sourceID: String, _ deleted: Bool, _ values: [String?]) throws -> Void) throws {
        let rows = try Row.fetchCursor(
            db.cachedStatement(sql: "SELECT region, source_id, deleted\(Self.extracting(paths)) FROM record WHERE collection = '\(collection.rawValue)' AND change_seq > ?"),
            arguments: [after])
        var values = [String?](repeating: nil, count: paths.count)
        while let row = try rows.next() {
            for i in paths.indices { values[i] = text(row[i + 3]) }
            try body(row[0], row[1], row[2], values)
        }
    }

    /// Calls `body` with the value it matched, `region`, `source_id` and the
    /// values at `paths` of every live record of `collection` whose field at
    /// `field` (its source id when `nil`) is one of `values`, in `region`
    /// when given. One query answers them all, going through the index in
    /// order. Only the fields `indexedFields` names can be looked up by,
    /// and a source id only within a region.
    public func lookup(_ collection: CollectionName, by field: String?, among values: [String], region: String?,
                       _ paths: [String],
                       _ body: (_ matched: String, _ region: String, _ sourceID: String, _ values: [String?]) throws -> Void) throws {
        guard !values.isEmpty else { return }
        let column: String
        if let field {
            guard let indexed = Self.indexedFields[collection]?[field], indexed.byRegion == (region != nil) else {
                throw StoreError("\(collection.rawValue).\(field) is not a field records can be looked up by")
            }
            column = indexed.column
        } else {
            guard region != nil else { throw StoreError("\(collection.rawValue): a source id is looked up within a region") }
            column = "source_id"
        }
        // Collection names, paths and columns are the code's own constants,
        // never input: they are written into the SQL as literals. The values
        // go as one JSON array, whatever their number.
        var sql = "SELECT \(column), region, source_id\(Self.extracting(paths)) FROM record WHERE collection = '\(collection.rawValue)'"
        sql += " AND \(column) IN (SELECT value FROM json_each(?)) AND deleted = 0"
        var arguments: StatementArguments = [JSONValue.array(values.map(JSONValue.string)).serialized()]
        if let region {
            sql += " AND region = ?"
            arguments += [region]
        }
        let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
        var found = [String?](repeating: nil, count: paths.count)
        while let row = try rows.next() {
            for i in paths.indices { found[i] = text(row[i + 3]) }
            try body(row[0], row[1], row[2], found)
        }
    }

    /// The SQL that reads `paths` of `normalized`, each as a column.
    private static func extracting(_ paths: [String]) -> String {
        paths.map { ", json_extract(normalized, '$.\($0)')" }.joined()
    }
}

/// A JSON value read by SQLite's `json_extract`, as text.
func text(_ value: DatabaseValue) -> String? {
    switch value.storage {
    case .null, .blob: nil
    case let .int64(n): String(n)
    case let .string(s): s
    case let .double(d): String(d)
    }
}

extension Store {
    /// The references the checks' lookups go by, and the sequence number up
    /// to which the checks have seen every change.
    static func registerCheckIndexes(_ m: inout DatabaseMigrator) {
        m.registerMigration("v4 check references") { db in
            // Each record's references as columns, so that the checks find a
            // certificate's contracts or a contract's charges through an
            // index rather than by reading every record: `ref_a` is a
            // certificate's number, a contract's certificate number or a
            // charge's contract; `ref_b` a certificate's СНИЛС (as the export
            // writes it) or a contract's program. The pull writes them with
            // each record (Store.upsert); a trigger keeps them for every other
            // write of `normalized` (those that leave `change_seq` to the
            // change-sequence trigger).
            try db.execute(sql: """
                ALTER TABLE record ADD COLUMN ref_a TEXT;
                ALTER TABLE record ADD COLUMN ref_b TEXT;
                UPDATE record SET \(referencesFromJSON(row: "record"));
                \(checkIndexSQL(["record_ref_a", "record_ref_b"]));
                CREATE TRIGGER record_references AFTER UPDATE OF normalized ON record
                WHEN NEW.change_seq = OLD.change_seq
                BEGIN
                    UPDATE record SET \(referencesFromJSON(row: "NEW")) WHERE id = NEW.id;
                END;

                -- The change sequence number up to which the checks across
                -- records have seen every change (NULL: never, check all).
                CREATE TABLE check_state (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    checked_seq INTEGER
                );
                INSERT INTO check_state(id, checked_seq) VALUES (1, NULL);

                -- The old value of a reference a record no longer makes (a
                -- contract moved to another certificate, a charge to another
                -- contract, a certificate renumbered or its СНИЛС corrected):
                -- the records that depended on the old value are judged again
                -- by the next checks, which then forget the row.
                CREATE TABLE check_moved (
                    id INTEGER PRIMARY KEY,
                    collection TEXT NOT NULL,
                    region TEXT NOT NULL,
                    old_reference TEXT,
                    old_snils TEXT
                );
                CREATE TRIGGER record_reference_moved AFTER UPDATE OF ref_a, ref_b ON record
                WHEN (OLD.ref_a IS NOT NULL AND OLD.ref_a IS NOT NEW.ref_a)
                  OR (NEW.collection = 'certificates' AND OLD.ref_b IS NOT NULL AND OLD.ref_b IS NOT NEW.ref_b)
                BEGIN
                    INSERT INTO check_moved(collection, region, old_reference, old_snils)
                    VALUES (OLD.collection, OLD.region, OLD.ref_a,
                            CASE OLD.collection WHEN 'certificates' THEN OLD.ref_b END);
                END;
                """)
        }
    }

    /// The indexes on each contract's link and each certificate's number
    /// (see `checkIndexes`).
    static func registerLinkIndexes(_ m: inout DatabaseMigrator) {
        m.registerMigration("v5 link indexes") { db in
            try db.execute(sql: checkIndexSQL(["record_contract_link", "record_certificate_number"]))
        }
    }

    /// Whether each program is held, in an index of its own (see `checkIndexes`).
    static func registerProgramLinkIndex(_ m: inout DatabaseMigrator) {
        m.registerMigration("v7 program link index") { db in
            try db.execute(sql: checkIndexSQL(["record_program_link"]))
        }
    }

    /// The regions whose changes the checks that need a complete pass have
    /// not judged yet (see `setChecked`).
    static func registerOwedRegions(_ m: inout DatabaseMigrator) {
        m.registerMigration("v6 checks owed") { db in
            try db.execute(sql: "CREATE TABLE check_owed (region TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID")
        }
    }

    /// The indexes only the checks read by: the references; each contract's
    /// key with what a charge's check needs of it (held or not, its
    /// certificate), each certificate's number and each program's key with
    /// whether it is held, so that the full checks' joins from every charge
    /// to its contract and from every contract to its certificate and its
    /// program read an index alone (at 1M certificates the contracts' query
    /// took 6.6 s reading each program's row, 4.3 s with the index).
    static let checkIndexes: [(name: String, sql: String)] = [
        ("record_ref_a", "CREATE INDEX IF NOT EXISTS record_ref_a ON record(collection, region, ref_a) WHERE ref_a IS NOT NULL"),
        ("record_ref_b", "CREATE INDEX IF NOT EXISTS record_ref_b ON record(collection, ref_b, region) WHERE ref_b IS NOT NULL"),
        ("record_contract_link", """
            CREATE INDEX IF NOT EXISTS record_contract_link ON record(collection, region, source_id, deleted, ref_a)
            WHERE collection = 'contracts'
            """),
        ("record_certificate_number", """
            CREATE INDEX IF NOT EXISTS record_certificate_number ON record(collection, region, ref_a, deleted)
            WHERE collection = 'certificates'
            """),
        ("record_program_link", """
            CREATE INDEX IF NOT EXISTS record_program_link ON record(collection, region, source_id, deleted)
            WHERE collection = 'programs'
            """),
    ]

    /// The statements that create the checks' indexes named.
    static func checkIndexSQL(_ names: [String]) -> String {
        checkIndexes.filter { names.contains($0.name) }.map(\.sql).joined(separator: ";\n")
    }

    /// Drops the indexes only the checks read by, for a pull that writes
    /// many records: each record put one entry at a random place in each,
    /// a page written per record, where building them again afterwards is
    /// one sort (a pull of 1M certificates took 218 s with them, 122 s
    /// without, and building them 9 s). The checks build them again before
    /// they read (`ensureCheckIndexes`), so a sync killed in between leaves
    /// nothing wrong, only the building to the next sync.
    public func dropCheckIndexes() throws(StoreError) {
        try write { db in
            for index in Self.checkIndexes { try db.execute(sql: "DROP INDEX IF EXISTS \(index.name)") }
        }
    }

    /// Builds the indexes the checks read by where they are missing.
    /// - Returns: whether any was missing.
    @discardableResult
    public func ensureCheckIndexes() throws(StoreError) -> Bool {
        try write { db in
            let held = try String.fetchSet(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index'")
            let missing = Self.checkIndexes.filter { !held.contains($0.name) }
            for index in missing { try db.execute(sql: index.sql) }
            return !missing.isEmpty
        }
    }

    /// The SQL assignments of `ref_a` and `ref_b` from `row`'s `normalized`.
    private static func referencesFromJSON(row: String) -> String {
        """
        ref_a = CASE \(row).collection
                    WHEN 'certificates' THEN json_extract(\(row).normalized, '$.number')
                    WHEN 'contracts' THEN json_extract(\(row).normalized, '$.certificate_number')
                    WHEN 'charges' THEN json_extract(\(row).normalized, '$.contract_source_id') END,
        ref_b = CASE \(row).collection
                    WHEN 'certificates' THEN json_extract(\(row).normalized, '$.child.snils')
                    WHEN 'contracts' THEN json_extract(\(row).normalized, '$.program_source_id') END
        """
    }

    /// Notes that the checks have seen every change up to `sequence`
    /// (`nil`: none, so that the next run checks everything) and every moved
    /// reference up to `moved` (`MovedReference.id`), which are forgotten.
    ///
    /// - Parameter owed: the regions whose changes up to `sequence` the
    ///   checks that need a complete pass (references, balances) did not
    ///   judge, because the region's pass did not complete: the run after
    ///   the region's next complete pass checks every record again.
    public func setChecked(sequence: Int64?, moved: Int64?, owed: Set<String> = []) throws(StoreError) {
        try write { db in
            try db.execute(sql: "UPDATE check_state SET checked_seq = ? WHERE id = 1", arguments: [sequence])
            if let moved { try db.execute(sql: "DELETE FROM check_moved WHERE id <= ?", arguments: [moved]) }
            try db.execute(sql: "DELETE FROM check_owed")
            for region in owed.sorted() {
                try db.execute(sql: "INSERT INTO check_owed(region) VALUES (?)", arguments: [region])
            }
        }
    }

    /// Runs `body` with a reader over one consistent state of the store.
    public func reading<T>(_ body: (RecordReader) throws -> T) throws(StoreError) -> T {
        try read { db in try body(RecordReader(db: db)) }
    }
}

extension RecordReader {
    /// The last number of the change sequence given so far.
    public func changeSequence() throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT seq FROM change_counter WHERE id = 1") ?? 0
    }

    /// The regions of `regions` with records changed after `sequence` (all
    /// of them for `nil`). Reads the changes since `sequence` once, so it is
    /// asked only when a run could not judge some region.
    public func regionsChanged(after sequence: Int64?, among regions: Set<String>) throws -> Set<String> {
        guard let sequence else { return regions }
        guard !regions.isEmpty else { return [] }
        var changed: Set<String> = []
        for collection in CollectionName.allCases {
            changed.formUnion(try String.fetchSet(db, sql: """
                SELECT DISTINCT region FROM record INDEXED BY record_change WHERE collection = ? AND change_seq > ?
                """, arguments: [collection.rawValue, sequence]))
        }
        return changed.intersection(regions)
    }

    /// The regions owed a check of every record (see `Store.setChecked`).
    public func owedRegions() throws -> Set<String> {
        try String.fetchSet(db, sql: "SELECT region FROM check_owed")
    }

    /// The number up to which the checks have seen every change, or `nil`
    /// when they have never run on this store.
    public func checkedSequence() throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT checked_seq FROM check_state WHERE id = 1")
    }

    /// The references records stopped making since the checks forgot the
    /// last ones (see the `check_moved` table), oldest first.
    public func movedReferences() throws -> [MovedReference] {
        try Row.fetchAll(db, sql: "SELECT id, collection, region, old_reference, old_snils FROM check_moved ORDER BY id").map {
            MovedReference(id: $0["id"], collection: CollectionName(rawValue: $0["collection"]) ?? .programs,
                           region: $0["region"], oldReference: $0["old_reference"], oldSnils: $0["old_snils"])
        }
    }

    /// The last moved reference noted so far (0 for none).
    public func lastMovedReference() throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM check_moved") ?? 0
    }

    /// About how many records the store holds (the largest row id: no walk).
    public func approximateRecordCount() throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT max(id) FROM record") ?? 0
    }
}

/// A reference a record stopped making: what depended on the old value has
/// to be judged again.
public struct MovedReference: Sendable {
    public var id: Int64
    public var collection: CollectionName
    public var region: String
    /// A certificate's old number, a contract's old certificate number or a
    /// charge's old contract.
    public var oldReference: String?
    /// A certificate's old СНИЛС, as the store held it.
    public var oldSnils: String?
}

/// The records the checks across records must judge in a full run: a
/// superset of what they find, flagged by the store's own queries, which
/// stream through SQLite instead of holding the store in memory.
public struct Suspects: Sendable {
    /// A record's region and source id.
    public struct Key: Sendable, Hashable {
        public var region: String, sourceID: String
    }
    /// СНИЛС (as held) of children with more than one active financing
    /// certificate for a year.
    public var children: [String] = []
    /// Charges whose parts do not add up to the price, or are negative.
    public var charges: [Key] = []
    /// Contracts (region and source id) with more than one charge for a month.
    public var chargeGroups: [Key] = []
    /// Contracts whose certificate or program is not held (or not yet known).
    public var contracts: [Key] = []
    /// Charges whose contract is not held.
    public var orphanCharges: [Key] = []
    /// Certificates whose balance is not the nominal less their charges.
    public var certificates: [Key] = []
}

extension RecordReader {
    /// The records a full run of the checks judges (see `Suspects`). Each
    /// query mirrors its check's rule exactly, missing values read as the
    /// checks read them (money as 0, a missing reference as not held).
    /// Needs the checks' indexes (`Store.ensureCheckIndexes`).
    public func suspects() throws -> Suspects {
        func keys(_ sql: String) throws -> [Suspects.Key] {
            try Row.fetchAll(db, sql: sql).map { Suspects.Key(region: $0[0], sourceID: $0[1]) }
        }
        func money(_ row: String, _ field: String) -> String { "coalesce(json_extract(\(row).normalized, '$.\(field)'), 0)" }
        var s = Suspects()
        // A query that walks a collection reads it in the table's order (NOT
        // INDEXED): through an index its rows come in random order, a page
        // read per row (at 1M certificates the duplicates' walk took 4.3 s
        // that way, 2.4 s this way). What a row is joined to is found
        // through an index that holds all the join needs.
        s.children = try String.fetchAll(db, sql: """
            SELECT DISTINCT ref_b FROM (
                SELECT ref_b FROM record NOT INDEXED
                WHERE collection = 'certificates' AND deleted = 0 AND ref_b IS NOT NULL
                    AND json_extract(normalized, '$.type') = 'financing' AND json_extract(normalized, '$.status') = 'active'
                GROUP BY ref_b, json_extract(normalized, '$.year') HAVING count(*) > 1)
            """)
        s.charges = try keys("""
            SELECT region, source_id FROM record h
            WHERE collection = 'charges' AND deleted = 0
                AND (\(money("h", "certificate_part_kopecks")) + \(money("h", "parent_part_kopecks")) <> \(money("h", "price_kopecks"))
                     OR \(money("h", "certificate_part_kopecks")) < 0 OR \(money("h", "parent_part_kopecks")) < 0)
            """)
        s.chargeGroups = try keys("""
            SELECT DISTINCT region, contract FROM (
                SELECT region, coalesce(ref_a, '') AS contract FROM record NOT INDEXED
                WHERE collection = 'charges' AND deleted = 0
                GROUP BY region, coalesce(ref_a, ''), json_extract(normalized, '$.month') HAVING count(*) > 1)
            """)
        s.contracts = try keys("""
            SELECT k.region, k.source_id FROM record k NOT INDEXED
            WHERE k.collection = 'contracts' AND k.deleted = 0 AND (
                k.ref_a IS NULL
                OR NOT EXISTS (SELECT 1 FROM record c INDEXED BY record_certificate_number
                               WHERE c.collection = 'certificates' AND c.region = k.region
                                   AND c.ref_a = k.ref_a AND c.deleted = 0)
                OR NOT EXISTS (SELECT 1 FROM record p INDEXED BY record_program_link
                               WHERE p.collection = 'programs' AND p.region = k.region
                                   AND p.source_id = coalesce(k.ref_b, '') AND p.deleted = 0))
            """)
        let contractLink = "INDEXED BY record_contract_link"
        s.orphanCharges = try keys("""
            SELECT h.region, h.source_id FROM record h NOT INDEXED
            WHERE h.collection = 'charges' AND h.deleted = 0
                AND NOT EXISTS (SELECT 1 FROM record k \(contractLink) WHERE k.collection = 'contracts' AND k.region = h.region
                                    AND k.source_id = coalesce(h.ref_a, '') AND k.deleted = 0)
            """)
        // Charges are summed by contract and year first, so that each
        // contract is looked up once rather than once per charge (at 1M
        // certificates: 17.0 s before, 12.3 s with this and the walk of the
        // certificates in table order).
        s.certificates = try keys("""
            WITH spent AS (
                SELECT k.region AS region, k.ref_a AS number, g.year AS year, sum(g.used) AS used
                FROM (SELECT h.region AS region, h.ref_a AS contract,
                             CAST(substr(json_extract(h.normalized, '$.month'), 1, 4) AS INTEGER) AS year,
                             sum(\(money("h", "certificate_part_kopecks"))) AS used
                      FROM record h NOT INDEXED
                      WHERE h.collection = 'charges' AND h.deleted = 0 AND h.ref_a IS NOT NULL
                      GROUP BY 1, 2, 3) g
                CROSS JOIN record k \(contractLink)
                    ON k.collection = 'contracts' AND k.region = g.region AND k.source_id = g.contract AND k.deleted = 0
                WHERE k.ref_a IS NOT NULL
                GROUP BY 1, 2, 3)
            SELECT c.region, c.source_id FROM record c NOT INDEXED
                LEFT JOIN spent s ON s.region = c.region AND s.number = coalesce(c.ref_a, '')
                    AND s.year = coalesce(json_extract(c.normalized, '$.year'), 0)
            WHERE c.collection = 'certificates' AND c.deleted = 0
                AND \(money("c", "balance_kopecks")) <> \(money("c", "nominal_kopecks")) - coalesce(s.used, 0)
            """)
        return s
    }
}
