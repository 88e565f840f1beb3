import DopsyncConfig
@testable import Regions
import Testing

/// The client-side limit as a region counts it: a request arrives somewhere
/// between its start and its answer, so no second may see more than the
/// limit however long the answers take.
@Suite("The request rate limit holds as the region measures it")
struct RateLimiterTests {
    @Test func aRequestCountsUntilOneSecondAfterItsAnswer() async {
        let limiter = RateLimiter(perSecond: 5)
        let clock = ContinuousClock()
        var starts: [ContinuousClock.Instant] = [], answers: [ContinuousClock.Instant] = []
        for i in 0..<8 {
            await limiter.acquire()
            starts.append(clock.now)
            // The first answer is slow, as a first TLS handshake is.
            if i == 0 { try? await Task.sleep(for: .milliseconds(300)) }
            await limiter.release()
            answers.append(clock.now)
        }
        // The sixth request waits for the first one's answer to be a second old:
        // a token bucket would have let it start 200 ms after the fifth.
        for i in 5..<8 {
            #expect(starts[i] >= answers[i - 5] + .seconds(1), "request \(i + 1)")
        }
    }
}

@Suite("A region's request rate is its documented limit unless the configuration sets one")
struct ConfiguredRateTests {
    @Test func everyRegionAcceptsItsOwnRate() throws {
        for (name, specs) in regionSettingSpecs {
            #expect(specs.contains { $0.key == "requests_per_second" }, "\(name)")
        }
        let d = OmskAdapter.descriptor
        #expect(d.requestsPerSecond(.direct(name: "omsk", [:])) == 20)
        #expect(d.requestsPerSecond(.direct(name: "omsk", ["requests_per_second": "400"])) == 400)
    }
}
