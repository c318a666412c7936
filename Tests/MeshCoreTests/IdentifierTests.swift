import MeshCore
import Testing

@Suite struct IdentifierTests {
    @Test(arguments: ["a", "iris", "isvc__owner-0123456789", "model.v2", "A-1_b.c", String(repeating: "x", count: 200)])
    func acceptsSafeIds(_ raw: String) throws {
        #expect(try ModelID(raw).rawValue == raw)
    }

    @Test func refusesEmpty() {
        #expect(throws: MeshIdentifier.Problem.empty(kind: "model id")) { try ModelID("") }
    }

    @Test func refusesDotsAndSlashes() {
        #expect(throws: MeshIdentifier.Problem.badFirstCharacter(kind: "model id")) { try ModelID("..") }
        #expect(throws: MeshIdentifier.Problem.badFirstCharacter(kind: "model id")) { try ModelID(".hidden") }
        #expect(throws: MeshIdentifier.Problem.badCharacter(kind: "model id", character: "'/'", offset: 1)) {
            try ModelID("a/../b")
        }
    }

    @Test func refusesControlAndNonASCII() {
        #expect(throws: MeshIdentifier.Problem.badCharacter(kind: "model id", character: "byte 0x00", offset: 1)) {
            try ModelID("a\u{0}")
        }
        #expect(throws: MeshIdentifier.Problem.badCharacter(kind: "model id", character: "byte 0xC3", offset: 1)) {
            try ModelID("aé")
        }
    }

    @Test func refusesTooLong() {
        let raw = String(repeating: "x", count: 201)
        #expect(throws: MeshIdentifier.Problem.tooLong(kind: "model id", length: 201, limit: 200)) { try ModelID(raw) }
    }

    @Test func errorsReadWell() {
        let problem = MeshIdentifier.Problem.badCharacter(kind: "model id", character: "'/'", offset: 3)
        #expect(problem.description == "model id contains '/' at offset 3; allowed are letters, digits, '.', '_' and '-'")
    }
}
