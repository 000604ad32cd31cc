import Testing
@testable import SluiceCore

@Suite struct SizesTests {
    @Test(arguments: [
        ("0", 0), ("1", 1), ("65536", 65536), ("64K", 65536), ("64k", 65536), ("64KiB", 65536),
        ("4M", 4 << 20), ("4MiB", 4 << 20), ("1G", 1 << 30), ("1GiB", 1 << 30), ("2T", 2 << 40),
    ])
    func parsesSizes(_ text: String, _ expected: Int) {
        #expect(Sizes.parse(text) == .success(expected))
    }

    @Test(arguments: ["", "K", "-1", "1.5M", "12X", "1KB", "1 M", "0x10", "M1", "1MM"])
    func rejectsInvalid(_ text: String) {
        #expect(Sizes.parse(text) == .failure(.invalid))
    }

    @Test(arguments: ["9223372036854775808", "99999999999999999999", "8388608T", "9007199254740992K"])
    func rejectsOverflow(_ text: String) {
        #expect(Sizes.parse(text) == .failure(.overflow))
    }

    @Test func largestThatFits() {
        #expect(Sizes.parse("8388607T") == .success(8_388_607 << 40))
        #expect(Sizes.parse("9223372036854775807") == .success(Int.max))
    }

    @Test func humanUnits() {
        #expect(Sizes.human(0) == "0 B")
        #expect(Sizes.human(1023) == "1023 B")
        #expect(Sizes.human(1024) == "1 KiB")
        #expect(Sizes.human(1536) == "1.50 KiB")
        #expect(Sizes.human(16 << 20) == "16 MiB")
        #expect(Sizes.human((1 << 30) + (1 << 29)) == "1.50 GiB")
    }

    @Test func decimalFormatting() {
        #expect(Decimal.format(1.23456, places: 2) == "1.23")
        #expect(Decimal.format(0.005, places: 2) == "0.01")
        #expect(Decimal.format(-1.5, places: 1) == "-1.5")
        #expect(Decimal.format(2, places: 0) == "2")
        #expect(Decimal.format(0.000001, places: 6) == "0.000001")
    }
}
