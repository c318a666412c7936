import MeshCore
import Testing

@Suite struct FormattingTests {
    @Test func decimalsRoundAndPad() {
        #expect(Formatting.decimal(2.345, 1) == "2.3")
        #expect(Formatting.decimal(2, 2) == "2.00")
        #expect(Formatting.decimal(-0.04, 1) == "0.0")
        #expect(Formatting.decimal(-1.25, 1) == "-1.3")
    }

    @Test func thousandsAreGroupedOnlyWhenAsked() {
        #expect(Formatting.decimal(1_234_567.89, 1) == "1234567.9")
        #expect(Formatting.decimal(1_234_567.89, 1, groupingThousands: true) == "1,234,567.9")
        #expect(Formatting.grouped(0) == "0")
        #expect(Formatting.grouped(999) == "999")
        #expect(Formatting.grouped(1000) == "1,000")
        #expect(Formatting.grouped(-3_600_040) == "-3,600,040")
    }
}
