import DopsyncModel
@testable import DopsyncStore
import Foundation
import GRDB
import Testing

@Suite("A store made by an earlier version keeps everything through the migrations")
struct MigrationTests {
    /// A store at the schema before "v3 record rows with rowid", holding a
    /// record as pulled and one with a local edit waiting to be pushed.
    private func oldStore(at path: String) throws -> (plain: String, edited: String, base: String) {
        let queue = try DatabaseQueue(path: path)
        try Store.migrator.migrate(queue, upTo: "serve-2 api tokens")
        let plain = try program("1").json.serialized()
        let base = try program("2").json.serialized()
        let edited = try program("2", title: "Шахматы").json.serialized()
        try queue.write { db in
            for (id, normalized, base, editedAt) in [("1", plain, plain, nil), ("2", edited, base, "2026-11-01T09:00:00Z")] {
                try db.execute(sql: """
                    INSERT INTO record(collection, region, source_id, normalized, base, raw, content_hash, first_seen_at,
                        pulled_at, edited_at)
                    VALUES ('programs', '55', ?, ?, ?, '{}', x'00', '2026-11-01T08:00:00Z', '2026-11-01T08:00:00Z', ?)
                    """, arguments: [id, normalized, base, editedAt])
            }
        }
        try queue.close()
        return (plain, edited, base)
    }

    @Test func recordsEditsAndTheChangeFeedSurviveTheRowidMigration() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dopsync-migration-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("store.sqlite").path
        let old = try oldStore(at: path)

        let store = try Store(path: path)
        #expect(try exported(store) == [old.plain, old.edited])
        let feedBefore = try store.changes(.programs, after: 0, limit: 10).items.map(\.sequence)
        #expect(feedBefore == [1, 2])

        let queue = try DatabaseQueue(path: path)
        let bases = try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT source_id, base FROM record ORDER BY source_id").map { ($0["source_id"] as String, $0["base"] as String?) }
        }
        try queue.close()
        // The unedited record keeps one copy; the edited one keeps its base for the merge.
        #expect(bases.map(\.0) == ["1", "2"])
        #expect(bases[0].1 == nil)
        #expect(bases[1].1 == old.base)

        // The edit still merges over the region's next version and is still to be sent.
        _ = try store.apply(region: "55", collection: .programs,
                            items: [.upsert(try program("2", version: 2), raw: "{}")], position: "p")
        let merged = try #require(try store.record(region: "55", collection: .programs, sourceID: "2"))
        guard case let .program(p) = merged else { Issue.record("not a program"); return }
        #expect(p.title == "Шахматы")
        #expect(p.meta.version == "2")

        // A pulled change goes to the end of the feed, numbered after the migrated ones.
        _ = try store.apply(region: "55", collection: .programs,
                            items: [.upsert(try program("1", title: "Шашки", version: 2), raw: "{}")], position: "p")
        let feed = try store.changes(.programs, after: 2, limit: 10).items
        #expect(feed.count == 2)
        #expect(feed.map(\.sequence) == feed.map(\.sequence).sorted())
        #expect(feed.first?.line.contains("\"title\":\"Шахматы\"") == true)
        #expect(feed.last?.line.contains("\"title\":\"Шашки\"") == true)
    }
}
