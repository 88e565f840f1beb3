import DopsyncModel
import DopsyncTesting
import Foundation
import Regions
public import Testing

/// Every fixture of every region decodes into the expected normalized record,
/// deletion, or quarantine reason.
@Suite("Region fixtures decode as documented")
struct FixtureTests {
    static var cases: [FixtureCase] {
        regionAdapters.flatMap { FixtureCase.load(region: $0.descriptor.name) }
    }

    @Test(arguments: cases)
    func decodes(_ fixture: FixtureCase) throws {
        let adapter = try #require(adapterType(named: fixture.region))
        let item = adapter.decode(raw: fixture.wire, collection: fixture.collection)
        switch (item, fixture.expectation) {
        case let (.upsert(record, _, _), .record(expected)):
            #expect(record.json.serialized() == expected.serialized())
            #expect(record.collection == fixture.collection)
        case let (.delete(id, updatedAt, version, _), .delete(expectedID, expectedUpdated, expectedVersion)):
            #expect(id == expectedID)
            #expect(updatedAt?.description == expectedUpdated)
            #expect(version == expectedVersion)
        case let (.quarantine(id, _, reason), .quarantine(expectedID, expectedReason)):
            #expect(id == expectedID)
            #expect(reason.contains(expectedReason), "\(reason)")
        default:
            Issue.record("\(fixture.name): got \(item)")
        }
    }

    @Test func everyRegionHasFixtures() {
        for adapter in regionAdapters {
            #expect(!FixtureCase.load(region: adapter.descriptor.name).isEmpty, "\(adapter.descriptor.name)")
        }
    }

    @Test func descriptorsMatchRegionFiles() throws {
        for adapter in regionAdapters {
            let d = adapter.descriptor
            let text = try String(contentsOfFile: repositoryPath("regions/\(d.name)/region.yaml"), encoding: .utf8)
            #expect(text.contains("name: \(d.name)\n"))
            #expect(text.contains("code: \"\(d.code)\"\n"))
            #expect(text.contains("page_size: \(d.pageSize)"))
            #expect(text.contains("requests_per_second: \(d.requestsPerSecond)"))
            let hours = d.utcOffsetSeconds / 3600
            #expect(text.contains("utc_offset: \"+\(hours < 10 ? "0" : "")\(hours):00\""))
            #expect(text.contains("collections: [\(d.collections.map(\.rawValue).joined(separator: ", "))]"))
        }
    }
}

extension FixtureCase: CustomTestStringConvertible {}
