internal import DopsyncModel

/// The pages of a walk, each asked for before its turn.
///
/// A walk knows where its next page starts (its `Key`: a cursor, an offset)
/// once it has read the current one, before it stores it. `start` sends that
/// request, and decodes the answer, in a task of its own while the current
/// page is written; the walk's next turn `take`s it. The network, the
/// decoding and the store's writer then overlap, where one after the other
/// each waited for the others.
///
/// The position committed with a page is still the one after it, so a walk
/// killed at any moment loses nothing: a page fetched ahead and not taken is
/// dropped (and its task cancelled) when the walk ends.
final class PageAhead<Key: Equatable & Sendable, Page: Sendable> {
    private let fetch: @Sendable (Key) async throws -> Page
    private var pending: (key: Key, task: Task<Page, any Error>)?

    /// - Parameter fetch: fetches and decodes the page at a key.
    init(_ fetch: @escaping @Sendable (Key) async throws -> Page) {
        self.fetch = fetch
    }

    /// Starts fetching the page at `key`, dropping one fetched ahead before.
    func start(_ key: Key) {
        pending?.task.cancel()
        let fetch = self.fetch
        pending = (key, Task { try await fetch(key) })
    }

    /// The page at `key`: the one fetched ahead when it is for the same key,
    /// else fetched now.
    func take(_ key: Key) async throws -> Page {
        if let ahead = pending {
            pending = nil
            if ahead.key == key { return try await ahead.task.value }
            ahead.task.cancel()
        }
        return try await fetch(key)
    }

    deinit { pending?.task.cancel() }
}

extension RegionAdapter {
    /// Runs `walk` for every collection of the region at once.
    ///
    /// For regions whose collections are separate streams, each with its own
    /// position: one walk decodes or writes while another waits for its
    /// answer, and the region's rate limit is kept by the one client they
    /// share. A contract read before its certificate waits for it in the
    /// store. The first walk that fails ends the others; what each committed
    /// stays.
    func walkEachCollection(_ walk: @escaping @Sendable (CollectionName) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for collection in Self.descriptor.collections {
                group.addTask { try await walk(collection) }
            }
            try await group.waitForAll()
        }
    }
}
