public import DopsyncModel
internal import Foundation
public import Transport

/// The HTTP side every adapter shares: one libcurl client for the region, its
/// documented request rate enforced on our side, and retries of what is worth
/// retrying (connect errors, timeouts, cut-short bodies, 429 and 5xx), with
/// exponential backoff and full jitter, honouring `Retry-After`.
public final class RegionClient: Sendable {
    public let region: String
    let http: HTTPClient
    let limiter: RateLimiter
    let policy: RetryPolicy

    /// - Parameters:
    ///   - region: the region's name, for errors.
    ///   - tls: extra CA and client certificate.
    ///   - requestsPerSecond: the region's documented limit.
    public init(region: String, tls: TLSOptions, requestsPerSecond: Int,
                policy: RetryPolicy = .default) throws(RegionError) {
        self.region = region
        do {
            http = try HTTPClient(configuration: HTTPClientConfiguration(tls: tls))
        } catch {
            throw RegionError(region: region, "cannot set up HTTPS: \(error)")
        }
        limiter = RateLimiter(perSecond: requestsPerSecond)
        self.policy = policy
    }

    /// Sends `request`, retrying transport failures and the statuses that
    /// mean "later" (429, 502, 503, 504, other 5xx unless `retryServerErrors`
    /// is false), and returns the first other response.
    ///
    /// - Parameter prepare: completes the request once its turn under the rate
    ///   limit has come, on every attempt (a bearer token is taken then, so
    ///   that it cannot die while the request waits).
    /// - Throws: `RegionError` naming the collection, URL and last cause when
    ///   the retry budget is spent or the failure is not worth retrying.
    public func send(_ request: HTTPRequest, collection: CollectionName?, retryServerErrors: Bool = true,
                     prepare: (@Sendable (HTTPRequest) async throws(RegionError) -> HTTPRequest)? = nil)
        async throws(RegionError) -> HTTPResponse {
        var attempt = 0
        var waited: Duration = .zero
        while true {
            attempt += 1
            await limiter.acquire()
            let cause: String
            var retryAfter: Duration? = nil
            let outcome: Result<HTTPResponse, TransportError>
            do {
                let prepared: HTTPRequest
                do {
                    prepared = try await prepare?(request) ?? request
                } catch {
                    await limiter.release()
                    throw error
                }
                do {
                    outcome = .success(try await http.execute(prepared))
                } catch {
                    outcome = .failure(error)
                }
            }
            await limiter.release()
            do {
                let response = try outcome.get()
                let s = response.status
                let retryable = s == 429 || s == 502 || s == 503 || s == 504 || (retryServerErrors && s >= 500)
                if !retryable { return response }
                cause = TransportError.httpStatus(s, url: request.url, body: response.body).description
                if let header = response.header("retry-after"), let seconds = Int(header.trimmingCharacters(in: .whitespaces)) {
                    retryAfter = .seconds(max(0, seconds))
                }
            } catch {
                if error.kind == .cancelled { throw RegionError(region: region, collection: collection, url: request.url, "cancelled") }
                guard error.isRetryable else {
                    throw RegionError(region: region, collection: collection, url: request.url, error.description)
                }
                cause = error.description
            }
            guard attempt < policy.maxAttempts else {
                throw RegionError(region: region, collection: collection, url: request.url,
                                  "gave up after \(attempt) attempts: \(cause)")
            }
            let delay = retryAfter ?? policy.backoff(attempt: attempt)
            guard waited + delay <= policy.maxTotalWait else {
                throw RegionError(region: region, collection: collection, url: request.url,
                                  "gave up: the region asks to wait \(delay) (\(cause))")
            }
            waited += delay
            do {
                try await Task.sleep(for: delay)
            } catch {
                throw RegionError(region: region, collection: collection, url: request.url, "cancelled")
            }
        }
    }
}

extension RegionClient {
    /// Fetches a page and parses it; a `200` whose body does not parse was
    /// cut short on the way (a front proxy's fault that keeps the status) and
    /// is fetched again, with the same backoff and budget as any transient
    /// failure.
    ///
    /// - Parameters:
    ///   - fetch: sends the request (through the region's authentication).
    ///   - parse: reads a `200` answer; its error says what was wrong.
    /// - Returns: the response and, for a `200`, what `parse` made of it.
    /// - Throws: `RegionError` when every attempt was cut short, or as `fetch` throws.
    public func fetchParsed<T>(collection: CollectionName?, url: String,
                               _ fetch: () async throws(RegionError) -> HTTPResponse,
                               parse: (HTTPResponse) throws -> T) async throws(RegionError) -> (response: HTTPResponse, parsed: T?) {
        var attempt = 0
        while true {
            attempt += 1
            let response = try await fetch()
            guard response.status == 200 else { return (response, nil) }
            do {
                return (response, try parse(response))
            } catch {
                guard attempt < policy.maxAttempts else {
                    throw RegionError(region: region, collection: collection, url: url,
                                      "the answer is not the documented format after \(attempt) attempts: \(error)")
                }
                do {
                    try await Task.sleep(for: policy.backoff(attempt: attempt))
                } catch {
                    throw RegionError(region: region, collection: collection, url: url, "cancelled")
                }
            }
        }
    }
}

/// How hard a request is retried.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration
    /// The most a request waits in all before its region's pass gives up.
    public var maxTotalWait: Duration

    public init(maxAttempts: Int, baseDelay: Duration, maxDelay: Duration, maxTotalWait: Duration) {
        self.maxAttempts = maxAttempts; self.baseDelay = baseDelay; self.maxDelay = maxDelay
        self.maxTotalWait = maxTotalWait
    }

    public static let `default` = RetryPolicy(maxAttempts: 8, baseDelay: .milliseconds(100),
                                              maxDelay: .seconds(5), maxTotalWait: .seconds(60))

    /// Full jitter: a random delay between zero and the capped exponential step.
    func backoff(attempt: Int) -> Duration {
        let cap = min(maxDelay, baseDelay * (1 << min(attempt - 1, 20)))
        let ms = cap / .milliseconds(1)
        return .milliseconds(Int64.random(in: 0...max(1, Int64(ms))))
    }
}

/// At most `perSecond` requests in any second as the server counts them.
///
/// A server counts a request when it arrives, somewhere between our start and
/// our answer; a token bucket that counts starts only lets `2 × perSecond`
/// through in one second (a full bucket, then its refill) and a slow first
/// answer pushes more arrivals into one second. So a request counts from its
/// start until one second after its answer: a new one starts only while fewer
/// than `perSecond` are in flight or answered within the last second.
actor RateLimiter {
    let perSecond: Int
    private var inFlight = 0
    /// When each recent request was answered, oldest first.
    private var answered: [ContinuousClock.Instant] = []
    private let clock = ContinuousClock()

    init(perSecond: Int) {
        self.perSecond = max(1, perSecond)
    }

    /// Waits until one more request may start, and counts it as in flight.
    func acquire() async {
        while true {
            let now = clock.now
            answered.removeAll { now - $0 >= .seconds(1) }
            // A cancelled task goes on to fail at once rather than spin on a
            // sleep that no longer waits.
            if inFlight + answered.count < perSecond || Task.isCancelled {
                inFlight += 1
                return
            }
            // Wake when the oldest answer leaves the window; with every slot
            // in flight, poll briefly (an answer also frees a slot).
            let wait = answered.first.map { .seconds(1) - (now - $0) } ?? .milliseconds(20)
            try? await Task.sleep(for: max(wait, .milliseconds(1)))
        }
    }

    /// Marks a request started by `acquire` as answered (or failed) now.
    func release() {
        inFlight = max(0, inFlight - 1)
        answered.append(clock.now)
    }
}
