import DopsyncModel
import Testing

@Suite("Edits are read strictly, field by field")
struct EditableFieldsTests {
    /// A program's description is `""` where the region sends none, so an
    /// operator can set it so; a title cannot be emptied.
    @Test func aDescriptionMayBeEmptiedButNotATitle() throws {
        let cleared = try EditableFields.assignment("description=", in: .programs)
        #expect(cleared.path == "description" && cleared.value == .string(""))
        #expect(try EditableFields.assignment("description= Шахматы ", in: .programs).value == .string("Шахматы"))
        #expect(throws: ValueError.self) { try EditableFields.assignment("title=", in: .programs) }
    }
}
