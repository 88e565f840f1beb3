import DopsyncModel
import DopsyncStore
import DopsyncTesting
import Foundation
import Gateway
import Testing
import Transport

@Suite("The operator API shows conflicts, quarantine and status as the commands do")
struct OperatorTests {
    @Test func conflictsAreTheObjectsOfConflictsListJSON() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let token = try world.token(.operator)
        let r = try await world.client.get("/operator/v1/conflicts", token: token)
        #expect(r.status == 200)
        let lines = try world.store.conflicts().map { $0.listJSON.serialized() }
        #expect(r.bodyText == #"{"items":["# + lines.joined(separator: ",") + "]}\n")
        // The fixed keys of interface.md, in order.
        #expect(lines[0].hasPrefix(#"{"id":1,"kind":"balance_mismatch","region":"55","collection":"certificates","source_id":"5500000001","opened_at":""#))
        #expect(lines[1].contains(#""kind":"broken_reference","region":"47","collection":"contracts","source_id":"2""#))

        let one = try await world.client.get("/operator/v1/conflicts/1", token: token)
        #expect(one.status == 200)
        #expect(one.json?["kind"]?.string == "balance_mismatch")
        #expect(one.json?["detail"]?["balance_kopecks"]?.int == 2_300_000)
        #expect(one.json?["closed_at"] != nil)

        let missing = try await world.client.get("/operator/v1/conflicts/99", token: token)
        #expect(missing.status == 404 && missing.errorCode == "not_found")
        #expect(missing.json?["error"]?["message"]?.string == "conflict 99 does not exist")
        let bad = try await world.client.get("/operator/v1/conflicts/abc", token: token)
        #expect(bad.status == 400)
    }

    @Test func quarantineListsWithoutRawTextAndShowsItByID() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let token = try world.token(.operator)
        let list = try await world.client.get("/operator/v1/quarantine", token: token)
        let items = list.json?["items"]?.array ?? []
        #expect(items.count == 1)
        #expect(items.first?["reason"]?.string == "snils: checksum fails")
        #expect(items.first?["raw"] == nil)
        #expect(!list.bodyText.contains("Сидорова"))

        let id = try #require(items.first?["id"]?.int)
        let one = try await world.client.get("/operator/v1/quarantine/\(id)", token: token)
        #expect(one.json?["raw"]?.string?.contains("Сидорова") == true)

        #expect(try await world.client.get("/operator/v1/quarantine?region=omsk", token: token).json?["items"]?.array.count == 1)
        #expect(try await world.client.get("/operator/v1/quarantine?region=47", token: token).json?["items"]?.array.isEmpty == true)
        let unknown = try await world.client.get("/operator/v1/quarantine?region=moscow", token: token)
        #expect(unknown.status == 400)
        #expect(unknown.json?["error"]?["message"]?.string?.contains("omsk, leningrad") == true)
        #expect(try await world.client.get("/operator/v1/quarantine/777", token: token).status == 404)
    }

    @Test func statusIsPerConfiguredRegion() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let r = try await world.client.get("/operator/v1/status", token: try world.token(.operator))
        let regions = r.json?["regions"]?.array ?? []
        #expect(regions.map { $0["name"]?.string } == ["omsk", "leningrad"])
        let omsk = regions[0]
        #expect(omsk["region"]?.string == "55")
        #expect(omsk["records"]?["programs"]?["live"]?.int == 3)
        #expect(omsk["records"]?["certificates"]?["live"]?.int == 2)
        #expect(omsk["open_conflicts"]?.int == 1 && omsk["quarantined"]?.int == 1)
        #expect(omsk["last_pull_ok_at"]?.string != nil)
        #expect(regions[1]["last_pull_ok_at"]?.string == nil)
        #expect(regions[1]["records"]?["contracts"]?["live"]?.int == 2)
    }
}

@Suite("Health and metrics")
struct HealthMetricsTests {
    @Test func healthNeedsNoTokenAndFailsWhenTheStoreIsGone() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dopsync-\(UUID().uuidString).sqlite").path
        let world = try await World.start(store: try Store(path: path))
        defer { Task { await world.stop() } }
        let ok = try await world.client.get("/healthz")
        #expect(ok.status == 200 && ok.bodyText == #"{"status":"ok"}"# + "\n")
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        let gone = try await world.client.get("/healthz")
        #expect(gone.status == 503 && gone.errorCode == "unavailable")
        #expect(!gone.bodyText.contains(path))
    }

    @Test func metricsCarryTheStoresFiguresAndTheRequests() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let token = try world.token(.federal)
        _ = try await world.client.get("/federal/v1/coverage?as_of=2026-11-01", token: token)
        _ = try await world.client.get("/federal/v1/coverage?as_of=2026-11-01", token: token)
        _ = try await world.client.get("/federal/v1/coverage?as_of=2026-11-01")
        _ = try await world.client.get("/operator/v1/conflicts/7", token: try world.token(.operator))
        _ = try await world.client.get("/no/such/path/\(UUID().uuidString)")

        let r = try await world.client.get("/metrics")
        #expect(r.status == 200)
        #expect(r.header("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
        let lines = Set(r.bodyText.split(separator: "\n").map(String.init))
        for expected in [
            #"dopsync_records{region="55",collection="programs",state="live"} 3"#,
            #"dopsync_records{region="55",collection="programs",state="deleted"} 0"#,
            #"dopsync_records{region="47",collection="certificates",state="live"} 2"#,
            #"dopsync_conflicts_open{region="55",kind="balance_mismatch"} 1"#,
            #"dopsync_conflicts_open{region="55",kind="broken_reference"} 0"#,
            #"dopsync_conflicts_open{region="47",kind="broken_reference"} 1"#,
            #"dopsync_conflicts_open{region="47",kind="edit_conflict"} 0"#,
            #"dopsync_quarantined_records{region="55"} 1"#,
            #"dopsync_quarantined_records{region="47"} 0"#,
            #"dopsync_http_requests_total{method="GET",route="/federal/v1/coverage",status="200"} 2"#,
            #"dopsync_http_requests_total{method="GET",route="/federal/v1/coverage",status="401"} 1"#,
            #"dopsync_http_requests_total{method="GET",route="/operator/v1/conflicts/{id}",status="404"} 1"#,
            #"dopsync_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
            "# TYPE dopsync_http_requests_total counter",
            "# TYPE dopsync_records gauge",
        ] {
            #expect(lines.contains(expected), "missing: \(expected)")
        }
        // Omsk was pulled, Leningrad never: only Omsk has a last-pull time.
        #expect(lines.contains { $0.hasPrefix(#"dopsync_region_last_pull_success_timestamp_seconds{region="55",name="omsk"} "#) })
        #expect(!lines.contains { $0.hasPrefix(#"dopsync_region_last_pull_success_timestamp_seconds{region="47""#) })
        #expect(lines.contains { $0.hasPrefix(#"dopsync_region_last_pull_duration_seconds{region="55",name="omsk"} "#) })
        #expect(!lines.contains { $0.hasPrefix(#"dopsync_region_last_pull_duration_seconds{region="47""#) })
        #expect(!r.bodyText.contains("Жукова"))
    }
}
