public import DopsyncModel
internal import Synchronization

/// What tests hook on a region's write API.
struct WriteHooks {
    var before: [@Sendable (CollectionName, String) -> Void] = []
    var after: [@Sendable (CollectionName, String) async -> Bool] = []
}

extension RegionData {
    /// Calls `hook` each time a write reaches a record, before it is checked
    /// against the record's version and applied: a test changes the record
    /// there (`update`) to play a change made in the region that lands just
    /// before the gateway's write (a race).
    public func beforeWrite(_ hook: @escaping @Sendable (CollectionName, String) -> Void) {
        writeHooks.withLock { $0.before.append(hook) }
    }

    /// Calls `hook` each time a write was applied, before its answer leaves.
    /// When it returns `true` the answer is lost on the way (the client gets
    /// the front proxy's `503`) though the write stays applied; a hook may
    /// also hold the answer back while a test kills the client.
    public func afterWrite(_ hook: @escaping @Sendable (CollectionName, String) async -> Bool) {
        writeHooks.withLock { $0.after.append(hook) }
    }

    /// Removes every write hook.
    public func clearWriteHooks() { writeHooks.withLock { $0 = WriteHooks() } }

    /// Runs a write through the hooks: `apply` answers the request, `200` when it applied the write.
    func write(_ collection: CollectionName, _ sourceID: String, _ apply: () -> SimResponse) async -> SimResponse {
        let hooks = writeHooks.withLock { $0 }
        for hook in hooks.before { hook(collection, sourceID) }
        let answer = apply()
        guard answer.status == 200 else { return answer }
        var lost = false
        for hook in hooks.after where await hook(collection, sourceID) { lost = true }
        return lost ? FaultPlayer.play(.unavailable, on: answer) : answer
    }

    /// Changes one record as the region's own users would: its version
    /// grows and it moves to the end of the order. Not counted as a write
    /// through the API.
    ///
    /// - Returns: the entry as it now stands, or `nil` when there is no such record.
    @discardableResult
    public func update(_ collection: CollectionName, _ sourceID: String, _ change: (inout Record) -> Void) -> SimEntry? {
        _ = mutate(collection) { _, c in
            guard let i = c.index[sourceID] else { return [] }
            change(&c.entries[i].record)
            return [i]
        }
        return entry(collection, sourceID)
    }
}
