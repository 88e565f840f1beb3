import DopsyncTesting
import Foundation
import Simulator
import Testing
import Transport

/// What libcurl makes of the simulator's `reset` fault: a connection reset
/// in the middle of a body is a failed transfer worth retrying, never an
/// answer.
@Suite("A connection reset in the middle of a body")
struct ResetTests {
    @Test func isARetryableResetNotAShortAnswer() async throws {
        let gateway = try await GatewayUnderTest.start(regions: ["leningrad"], scale: 40) { options in
            options.faults = SimFaults(reset: 1)
        }
        defer { Task { await gateway.stop() } }
        let leningrad = gateway.simulator.data("leningrad")
        let key = try String(contentsOf: gateway.directory.appendingPathComponent("leningrad.key"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let client = try HTTPClient(configuration: HTTPClientConfiguration(tls: TLSOptions(caFile: gateway.simulator.caPath)))
        defer { client.shutdown() }
        let request = HTTPRequest(url: gateway.simulator.baseURL("leningrad") + "/api/v1/programs?per_page=50",
                                  headers: [("X-Api-Key", key)])

        let error = await #expect(throws: TransportError.self) { try await client.execute(request) }
        #expect(error?.kind == .reset, "\(String(describing: error))")
        #expect(error?.isRetryable == true)
        #expect(leningrad.faultsPlayed(.reset) == 1)

        // With the fault off the same page comes whole, on a new connection.
        leningrad.setFaults(.none)
        let response = try await client.execute(request)
        #expect(response.status == 200)
        #expect(response.header("content-length") == String(response.body.count))
        #expect(leningrad.faultsPlayed(.reset) == 1)
    }
}
