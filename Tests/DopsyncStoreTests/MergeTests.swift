import DopsyncModel
import DopsyncStore
import Testing

/// A program of Omsk in version `version`, changed by `change` (the region's own edits).
func omskProgram(_ id: String = "1", version: Int, _ change: (inout Program) -> Void = { _ in }) throws -> Record {
    guard case var .program(p) = try program(id, version: version) else { fatalError("program() makes programs") }
    change(&p)
    return .program(p)
}

func pull(_ store: Store, _ record: Record) throws -> ApplyCounts {
    try store.apply(region: "55", collection: .programs, items: [.upsert(record, raw: #"{"id":1}"#)], position: nil)
}

func exportedProgram(_ store: Store) throws -> JSONValue {
    try JSONParser.parse(try #require(try exported(store).first))
}

@Suite("Three-way merge of gateway edits with region changes")
struct MergeTests {
    let base = try! omskProgram(version: 1).json

    @Test func aFieldChangedOnOneSideIsTaken() throws {
        let gateway = base.replacing(path: "title", with: .string("Шахматы"))!
        let region = try omskProgram(version: 2) { $0.description = "Новое описание" }.json
        let (merged, conflicts) = ThreeWayMerge.merge(base: base, gateway: gateway, region: region)
        #expect(conflicts.isEmpty)
        #expect(merged["title"] == .string("Шахматы"))
        #expect(merged["description"] == .string("Новое описание"))
        #expect(merged["source_version"] == .string("2"))
    }

    @Test func theSameChangeOnBothSidesIsNoConflict() throws {
        let gateway = base.replacing(path: "provider.name", with: .string("АНО Робот"))!
        let region = try omskProgram(version: 2) { $0.provider.name = "АНО Робот" }.json
        let (merged, conflicts) = ThreeWayMerge.merge(base: base, gateway: gateway, region: region)
        #expect(conflicts.isEmpty)
        #expect(merged == region)
    }

    @Test func differentChangesOfOneFieldConflictWhileOtherFieldsStillMerge() throws {
        var gateway = base.replacing(path: "title", with: .string("Шахматы"))!
        gateway = gateway.replacing(path: "hours_total", with: .int(72))!
        let region = try omskProgram(version: 2) { $0.title = "Го"; $0.description = "Новое описание" }.json
        let (merged, conflicts) = ThreeWayMerge.merge(base: base, gateway: gateway, region: region)
        #expect(conflicts == [FieldConflict(path: "title", base: .string("Робототехника"), gateway: .string("Шахматы"),
                                            region: .string("Го"))])
        #expect(merged["title"] == .string("Го"), "the region's value is kept while the conflict is open")
        #expect(merged["hours_total"] == .int(72))
        #expect(merged["description"] == .string("Новое описание"))
        #expect(ThreeWayMerge.changes(from: region, to: merged) == ["hours_total": .int(72)])
    }
}

@Suite("Edits are kept, merged with pulls and queued once")
struct EditStoreTests {
    func editedStore() throws -> Store {
        let store = try Store.inMemory()
        _ = try pull(store, try omskProgram(version: 1))
        let outcome = try store.edit(region: "55", collection: .programs, sourceID: "1",
                                     set: [("title", .string("Шахматы")), ("price_month_kopecks", .int(150_000))],
                                     operator: "ivanova", reason: "ticket 42")
        #expect(outcome.changed == ["title", "price_month_kopecks"])
        #expect(outcome.outboxEntry != nil)
        return store
    }

    @Test func anEditShowsAtOnceWithOneOutboxEntryAndAnAuditRow() throws {
        let store = try editedStore()
        let json = try exportedProgram(store)
        #expect(json["title"] == .string("Шахматы"))
        #expect(json["price_month_kopecks"] == .number("150000"))
        #expect(json["source_version"] == .string("1"))
        let outbox = try store.outbox()
        #expect(outbox.count == 1)
        #expect(outbox[0].state == "pending")
        #expect(outbox[0].fields == #"{"price_month_kopecks":150000,"title":"Шахматы"}"#)
        // A second edit of the same record joins the entry that has not been sent.
        _ = try store.edit(region: "55", collection: .programs, sourceID: "1", set: [("hours_total", .int(72))],
                           operator: "ivanova", reason: nil)
        #expect(try store.outbox().count == 1)
        let audit = try store.auditLog()
        #expect(audit.map(\.action) == ["edit", "edit"])
        #expect(audit[0].operatorName == "ivanova" && audit[0].reason == "ticket 42")
        #expect(audit[0].detail.contains(#""title":{"from":"Робототехника","to":"Шахматы"}"#))
    }

    @Test func onlyEditableFieldsOfHeldRecordsCanBeSet() throws {
        let store = try editedStore()
        #expect(throws: StoreError.self) {
            try store.edit(region: "55", collection: .programs, sourceID: "1", set: [("source_version", .string("9"))],
                           operator: "x", reason: nil)
        }
        #expect(throws: StoreError.self) {
            try store.edit(region: "55", collection: .programs, sourceID: "404", set: [("title", .string("X"))],
                           operator: "x", reason: nil)
        }
        #expect(throws: StoreError.self) {
            try store.edit(region: "55", collection: .programs, sourceID: "1", set: [("direction", .string("chess"))],
                           operator: "x", reason: nil)
        }
        #expect(try store.auditLog().count == 1)
    }

    @Test func aPullOfAnotherFieldMergesAndKeepsTheEditQueued() throws {
        let store = try editedStore()
        let counts = try pull(store, try omskProgram(version: 2) { $0.description = "Новое описание" })
        #expect(counts.updated == 1 && counts.conflictsOpened == 0)
        let json = try exportedProgram(store)
        #expect(json["title"] == .string("Шахматы"))
        #expect(json["description"] == .string("Новое описание"))
        #expect(json["source_version"] == .string("2"))
        let outbox = try store.outbox()
        #expect(outbox.count == 1 && outbox[0].state == "pending")
        #expect(try store.conflicts().isEmpty)
    }

    @Test func aPullThatBringsTheSameValuesSettlesTheEntry() throws {
        let store = try editedStore()
        _ = try pull(store, try omskProgram(version: 2) { $0.title = "Шахматы"; $0.priceMonth = Kopecks(150_000) })
        #expect(try store.outbox().map(\.state) == ["done"])
        #expect(try store.pushQueue(region: "55").isEmpty)
    }

    @Test func aPullThatChangedTheSameFieldOpensAnEditConflictAndTheRestStaysQueued() throws {
        let store = try editedStore()
        let counts = try pull(store, try omskProgram(version: 2) { $0.title = "Го" })
        #expect(counts.conflictsOpened == 1)
        let conflicts = try store.conflicts()
        #expect(conflicts.count == 1)
        #expect(conflicts[0].kind == "edit_conflict" && conflicts[0].collection == .programs && conflicts[0].sourceID == "1")
        #expect(conflicts[0].region == "55")
        #expect(conflicts[0].summary == "title changed differently at the gateway and in the region since version 1")
        let json = try exportedProgram(store)
        #expect(json["title"] == .string("Го"))
        #expect(json["price_month_kopecks"] == .number("150000"))
        // Only the field without a conflict is sent.
        let change = try #require(try store.preparePush(region: "55", collection: .programs, sourceID: "1"))
        #expect(change.fields == ["price_month_kopecks": .int(150_000)])
        #expect(change.baseVersion == "2")

        let view = try #require(try store.editConflictView(id: conflicts[0].id))
        #expect(view.base["title"] == .string("Робототехника"))
        #expect(view.region["title"] == .string("Го"))
        #expect(view.gateway["title"] == .string("Шахматы"))
    }

    /// The region's values were kept and nothing is left to push, yet the
    /// conflict closes itself once the region holds the gateway's value.
    @Test func anEditConflictClosesWhenTheRegionLaterHoldsTheGatewaysValue() throws {
        let store = try editedStore()
        _ = try pull(store, try omskProgram(version: 2) { $0.title = "Го"; $0.priceMonth = Kopecks(150_000) })
        #expect(try store.conflicts().map(\.kind) == ["edit_conflict"])
        #expect(try store.pushQueue(region: "55").isEmpty)
        _ = try pull(store, try omskProgram(version: 3) { $0.title = "Го"; $0.description = "Другое" })
        #expect(try store.conflicts().count == 1, "another field changing settles nothing")
        _ = try pull(store, try omskProgram(version: 4) { $0.title = "Шахматы" })
        #expect(try store.conflicts().isEmpty)
        let closed = try #require(try store.conflicts(includeClosed: true).first)
        #expect(closed.closeReason == "resolved by newer data: the region now holds the gateway's values")
    }

    @Test func anEditConflictClosesWhenTheRegionDeletesTheRecord() throws {
        let store = try editedStore()
        _ = try pull(store, try omskProgram(version: 2) { $0.title = "Го" })
        #expect(try store.conflicts().count == 1)
        _ = try store.apply(region: "55", collection: .programs,
                            items: [.delete(sourceID: "1", updatedAt: nil, version: "3", raw: #"{"id":1,"deleted":true}"#)], position: nil)
        #expect(try store.conflicts().isEmpty)
        let closed = try #require(try store.conflicts(includeClosed: true).first)
        #expect(closed.closeReason == "resolved by newer data: the region has deleted the record")
    }

    /// A write that meets a record the region has deleted (its current
    /// record a tombstone) is not sent again: the record is stored deleted
    /// and its edits are dropped.
    @Test func aWriteThatMeetsADeletionIsNotSentAgain() throws {
        let store = try editedStore()
        let change = try #require(try store.preparePush(region: "55", collection: .programs, sourceID: "1"))
        let tombstone = PageItem.delete(sourceID: "1", updatedAt: try Timestamp(iso: "2026-09-02T00:00:00Z"), version: "2",
                                        raw: #"{"id":1,"deleted":true,"updatedAt":"2026-09-02T06:00:00+06:00","version":2}"#)
        #expect(try store.supersedePush(change, current: tombstone) == 0)
        let json = try exportedProgram(store)
        #expect(json["deleted"] == .bool(true) && json["source_version"] == .string("2"))
        #expect(try store.preparePush(region: "55", collection: .programs, sourceID: "1") == nil)
        #expect(try store.outbox().map(\.state) == ["rejected"])
        #expect(try store.outbox().first?.lastError == "the region has deleted the record")
    }

    @Test func aRetryAfterALostAnswerSendsTheSameRequestWithTheSameKey() throws {
        let store = try editedStore()
        let first = try #require(try store.preparePush(region: "55", collection: .programs, sourceID: "1"))
        // No answer came (a kill, a cut connection): the entry stays `sending`,
        // and an edit made meanwhile does not change what is sent again.
        _ = try store.edit(region: "55", collection: .programs, sourceID: "1", set: [("hours_total", .int(72))],
                           operator: "x", reason: nil)
        let again = try #require(try store.preparePush(region: "55", collection: .programs, sourceID: "1"))
        #expect(again == first)
        #expect(try store.outbox().map(\.state) == ["sending", "pending"])

        // The region applied it: the answer is its new version; the later edit is then sent on its own.
        let answer = try omskProgram(version: 2) { $0.title = "Шахматы"; $0.priceMonth = Kopecks(150_000) }
        #expect(try store.completePush(again, answer: .upsert(answer, raw: "{}")) == 0)
        let next = try #require(try store.preparePush(region: "55", collection: .programs, sourceID: "1"))
        #expect(next.fields == ["hours_total": .int(72)])
        #expect(next.baseVersion == "2")
        #expect(next.idempotencyKey != first.idempotencyKey)
        #expect(try exportedProgram(store)["hours_total"] == .number("72"))
    }

    @Test func aRejectedChangeGoesBackToTheRegionsValues() throws {
        let store = try editedStore()
        let change = try #require(try store.preparePush(region: "55", collection: .programs, sourceID: "1"))
        try store.rejectPush(change, reason: "title: too long")
        #expect(try store.outbox().map(\.state) == ["rejected"])
        #expect(try exportedProgram(store) == (try omskProgram(version: 1)).json)
        #expect(try store.auditLog().last?.action == "push_rejected")
        #expect(try store.auditLog().last?.reason == "title: too long")
    }

    @Test func takingTheGatewaysSideQueuesItsValuesAndIsAudited() throws {
        let store = try editedStore()
        _ = try pull(store, try omskProgram(version: 2) { $0.title = "Го" })
        let id = try #require(try store.conflicts().first?.id)
        let outcome = try store.resolveConflict(id: id, .takeGateway, operator: "petrov", reason: "the provider confirmed")
        #expect(outcome.outboxEntry != nil)
        #expect(try store.conflicts().isEmpty)
        #expect(try exportedProgram(store)["title"] == .string("Шахматы"))
        let change = try #require(try store.preparePush(region: "55", collection: .programs, sourceID: "1"))
        #expect(change.fields["title"] == .string("Шахматы"))
        let audit = try #require(try store.auditLog().last)
        #expect(audit.action == "resolve" && audit.operatorName == "petrov" && audit.conflictID == id)
        #expect(audit.reason == "the provider confirmed")
        #expect(throws: StoreError.self) { try store.resolveConflict(id: id, .takeRegion, operator: "x", reason: nil) }
    }

    @Test func aDismissedCheckIsNotRaisedAgain() throws {
        let store = try Store.inMemory()
        let finding = ConflictCandidate(kind: "balance_mismatch", dedupKey: "55/1", region: "55", collection: .certificates,
                                        sourceID: "1", summary: "balance")
        _ = try store.reconcileConflicts(kinds: ["balance_mismatch"], found: [finding], scope: ["55"]) { _ in "gone" }
        let id = try #require(try store.conflicts().first?.id)
        #expect(throws: StoreError.self) { try store.resolveConflict(id: id, .dismiss, operator: "x", reason: nil) }
        _ = try store.resolveConflict(id: id, .dismiss, operator: "x", reason: "known: a manual correction in the region")
        let reopened = try store.reconcileConflicts(kinds: ["balance_mismatch"], found: [finding], scope: ["55"]) { _ in "gone" }
        #expect(reopened.isEmpty)
        #expect(try store.conflicts().isEmpty)
    }
}
