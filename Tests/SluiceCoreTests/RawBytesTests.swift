import Testing
@testable import SluiceCore
import SluiceTestSupport

/// Words from outside are bytes: `String(rawBytes:)` and `rawBytes` round-trip any byte
/// string, and the parser works on them byte-wise.
@Suite struct RawBytesTests {
    /// Every string of one and two bytes, and every byte between ASCII letters.
    @Test func shortStringsRoundTrip() {
        for a in 1...255 {
            for b in 1...255 {
                let bytes: [UInt8] = [UInt8(a), UInt8(b)]
                #expect(String(rawBytes: bytes).rawBytes == bytes, "\(bytes)")
            }
            let bytes: [UInt8] = [0x61, UInt8(a), 0x62]
            #expect(String(rawBytes: bytes).rawBytes == bytes, "\(bytes)")
        }
    }

    /// Truncated, overlong, surrogate and out-of-range sequences, and valid UTF-8 of the
    /// escape range itself (U+10FF80...U+10FFFF), next to valid text.
    @Test(arguments: [
        [0xE2, 0x82], [0xE2, 0x82, 0x61], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
        [0xF4, 0x8F, 0xBE, 0x80], [0xF4, 0x8F, 0xBF, 0xBF], [0xF4, 0x8F, 0xBE, 0x80, 0x81],
        [0x63, 0x61, 0x66, 0xC3, 0xA9, 0xE9], [0xF0, 0x9F, 0x98, 0x80, 0xFF, 0xFE],
    ] as [[UInt8]])
    func awkwardSequencesRoundTrip(_ bytes: [UInt8]) {
        #expect(String(rawBytes: bytes).rawBytes == bytes)
    }

    @Test func validTextIsUnchanged() {
        let text = "café ☕ \u{10FF7F}"
        #expect(String(rawBytes: Array(text.utf8)) == text)
        #expect(text.rawBytes == Array(text.utf8))
    }

    /// Deterministic pseudo-random byte strings (`SplitMix`, so a failure reproduces).
    @Test func randomStringsRoundTrip() {
        var g = SplitMix(12345)
        for _ in 0..<2000 {
            let bytes = g.bytes(g.next(below: 16)).map { $0 | 1 }
            #expect(String(rawBytes: bytes).rawBytes == bytes, "\(bytes)")
        }
    }

    func parse(_ words: [[UInt8]]) throws(SluiceError) -> ParsedOptions {
        var cursor = ArgumentCursor(words.map { String(rawBytes: $0) })
        let options = [OptionSpec("e", "regexp", .required("P"), help: ""), OptionSpec("i", nil, help: "")]
        return try OptionParser(options: options, owner: "t").parse(&cursor)
    }

    /// `-e` followed by a combining mark is the option and its value, as getopt sees the
    /// bytes; so is `--regexp=` followed by one, and an invalid byte after `-e`.
    @Test func optionLettersAreBytesNotCharacters() throws {
        #expect(try parse([[0x2D, 0x65, 0xCC, 0x81]]).last("regexp")?.value?.rawBytes == [0xCC, 0x81])
        #expect(try parse([Array("--regexp=".utf8) + [0xCC, 0x81]]).last("regexp")?.value?.rawBytes == [0xCC, 0x81])
        #expect(try parse([[0x2D, 0x69, 0x65, 0xFF]]).last("regexp")?.value?.rawBytes == [0xFF])
    }

    /// A dash and a combining mark is an option word (an unknown option), not an operand.
    @Test func dashAndCombiningMarkIsAnOption() {
        #expect(throws: SluiceError.self) { try parse([[0x2D, 0xCC, 0x81]]) }
    }
}
