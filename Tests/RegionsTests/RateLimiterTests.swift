import Testing
@testable import Regions

@Suite("The client keeps each region's request rate")
struct RateLimiterTests {
    /// "5 requests a second, measured over one second": no window of one
    /// second may hold more, from the very first request on.
    @Test func noSecondHoldsMoreThanTheLimit() async {
        let limiter = RateLimiter(perSecond: 5)
        let clock = ContinuousClock()
        var times: [ContinuousClock.Instant] = []
        for _ in 0..<12 {
            await limiter.acquire()
            times.append(clock.now)
        }
        for i in 0..<(times.count - 5) {
            #expect(times[i + 5] - times[i] >= .seconds(1), "requests \(i)...\(i + 5) fell within one second")
        }
    }
}
