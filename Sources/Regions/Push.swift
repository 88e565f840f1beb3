public import DopsyncModel

// The push contract every region implements (`RegionAdapter.push`):
//
// - One call sends one `OutgoingChange`: the changed normalized fields of one
//   record, the gateway's whole record, the region's version it is based on
//   and the last raw record. Whole-record writes (Omsk, Krasnoyarsk `PUT`,
//   Kemerovo packages) are rebuilt from `raw` with the changed fields mapped
//   to the wire, so that what the model drops survives; partial writes
//   (Leningrad, certificate status) send the changed fields only.
// - The write is conditional on `baseVersion` (`If-Match`, `version` in the
//   body, `ExpectedModifiedAt`), which makes a resend after a lost answer
//   harmless: it meets the newer version, and the gateway sees its own change
//   in it. Where a region deduplicates by key (a `POST`'s `Idempotency-Key`,
//   Leningrad's `request_id`, Kemerovo's package id) send
//   `idempotencyKey`: it is the same on every retry of the change.
// - Answer with `.applied(record as a pull reads it)`, `.stale(current)` when
//   the version moved on (read the current record where the answer does not
//   carry it), `.rejected(why by field)`, or `.accepted` when the region
//   processes later (Kemerovo): the same change is then sent again, with the
//   same key, on the next push, and the adapter answers from the package's
//   status. Throw only when no answer came.

extension RegionAdapter {
    /// Regions whose writing is not built yet: any queued change fails the
    /// region's push with this message, and stays queued.
    public func push(_ change: OutgoingChange) async throws(RegionError) -> PushOutcome {
        throw RegionError(region: Self.descriptor.name, collection: change.collection,
                          "push is not supported for \(Self.descriptor.name) yet")
    }
}
