internal import Foundation
internal import GRDB

extension Store {
    /// Checks that the store can still be read: its file is where it was
    /// opened and its schema answers a query.
    ///
    /// An open connection keeps reading a file that was deleted or replaced
    /// under it, so the file's presence is checked by name as well.
    ///
    /// - Throws: `StoreError` saying what failed.
    public func ping() throws(StoreError) {
        if let path, !FileManager.default.fileExists(atPath: path) {
            throw StoreError("the store \(path) is gone")
        }
        _ = try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM change_counter") }
    }

    /// Open conflicts counted by region code and kind.
    public func openConflictCounts() throws(StoreError) -> [(region: String, kind: String, count: Int)] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT region, kind, count(*) AS n FROM conflict WHERE closed_at IS NULL
                GROUP BY region, kind ORDER BY region, kind
                """).map { ($0["region"], $0["kind"], $0["n"]) }
        }
    }
}
