internal import GRDB
public import DopsyncModel

extension Store {
    /// Calls `body` with `region`, `source_id` and the values at `paths` of
    /// every live (not deleted) record of `collection`, as text (`nil` for a
    /// JSON null), read by SQLite's JSON functions without parsing whole
    /// records: the checks across records and the reports read a few fields
    /// of every record, and this is several times cheaper than decoding each.
    ///
    /// - Parameter paths: dotted paths of the export form (`child.snils`).
    public func liveFields(_ collection: CollectionName, _ paths: [String],
                           _ body: (_ region: String, _ sourceID: String, _ values: [String?]) throws -> Void) throws(StoreError) {
        let columns = paths.map { "json_extract(normalized, '$.\($0)')" }.joined(separator: ", ")
        try read { db in
            let rows = try Row.fetchCursor(db, sql: """
                SELECT region, source_id\(paths.isEmpty ? "" : ", " + columns) FROM record
                WHERE collection = ? AND deleted = 0 ORDER BY region, source_id
                """, arguments: [collection.rawValue])
            var values = [String?](repeating: nil, count: paths.count)
            while let row = try rows.next() {
                for i in paths.indices { values[i] = text(row[i + 2]) }
                try body(row[0], row[1], values)
            }
        }
    }
}
