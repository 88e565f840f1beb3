import DopsyncConfig
import DopsyncModel
import DopsyncTesting
import Regions
import Testing

/// What the Leningrad fixtures cannot say by themselves: the certificate a
/// contract names, personal data kept out of reasons, and the settings.
@Suite("Leningrad wire records")
struct LeningradMappingTests {
    static let fixtures = FixtureCase.load(region: "leningrad")

    @Test func aContractHandsItsCertificatesInternalIDToTheStore() throws {
        let wire = #"{"id":30001,"certificate_id":70001,"program_id":1234,"date_start":"01.09.2026","date_end":"31.05.2027","month_price":125050,"status":1,"is_deleted":0,"updated_at":"2026-09-05 10:15:00","version":2}"#
        guard case let .upsert(record, raw, certificateRef) = LeningradAdapter.decode(raw: wire, collection: .contracts) else {
            Issue.record("the contract was not taken")
            return
        }
        #expect(certificateRef == "70001")
        #expect(raw == wire)
        guard case let .contract(contract) = record else { Issue.record("not a contract"); return }
        #expect(contract.certificateNumber == nil)
    }

    /// Every certificate a fixture quarantines: its reason names the field
    /// but quotes none of the child's name, birth date or СНИЛС.
    @Test func quarantineReasonsNeverQuotePersonalData() throws {
        let certificates = Self.fixtures.filter { $0.collection == .certificates }
        var checked = 0
        for fixture in certificates {
            guard case let .quarantine(_, _, reason) = LeningradAdapter.decode(raw: fixture.wire, collection: .certificates),
                  case let .object(members) = try JSONParser.parse(fixture.wire) else { continue }
            let wire = JSONValue.object(members)
            var personal: [String] = []
            if case let .string(fio)? = wire["fio"] { personal += fio.split(separator: " ").map(String.init) }
            if case let .string(birthday)? = wire["birthday"] { personal.append(birthday) }
            if case let .string(snils)? = wire["snils"] { personal += [snils, String(snils.prefix(9))] }
            for value in personal {
                #expect(!reason.contains(value), "\(fixture.name): the reason quotes personal data")
            }
            checked += 1
        }
        #expect(checked >= 6)
    }

    @Test(arguments: ["0", "501", "fifty"])
    func aBadPageSizeIsRefusedNamingTheSetting(_ perPage: String) {
        let settings = RegionSettings.direct(name: "leningrad", ["base_url": "https://127.0.0.1:8444", "api_key": "k",
                                                                 "per_page": perPage])
        #expect {
            _ = try LeningradAdapter(settings: settings)
        } throws: { error in
            "\(error)".contains("per_page: \"\(perPage)\" is not a whole number from 1 to 500")
        }
    }
}
