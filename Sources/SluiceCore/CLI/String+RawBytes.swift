import Glibc

// # Words from outside are bytes
//
// On Linux an argument, a file name or an exec argument is any byte string without NUL:
// `grep $'\x81'`, `tee $'caf\xe9.log'`. Swift's `String` holds only valid Unicode, and
// `CommandLine.arguments` turns every invalid byte into U+FFFD, so a pattern with 0x81
// searched for "\u{FFFD}" and a file name came out as another name.
//
// sluice keeps words in `String`s all the same, losslessly: `String(rawBytes:)` decodes
// valid UTF-8 as usual and each byte that is not part of valid UTF-8 as one scalar of a
// private-use range, U+10FF80...U+10FFFF (byte 0x80 + k is U+10FF80 + k); `rawBytes`
// turns such a string back into exactly the bytes it came from. A valid sequence that
// itself encodes a scalar of that range is escaped byte by byte as well, so the round
// trip is exact for every byte string, and a string that never held such bytes has
// `rawBytes == Array(utf8)`.
//
// Why not a byte-string type for words: the option grammar (names, sizes, counts) is
// ASCII and reads naturally as text; every stage's factory reads its values as
// `String`s; and messages quote words inside text. So words stay `String` from argv to
// the factory, and become bytes where bytes are meant: grep's pattern texts
// (`rawBytes`), paths (`FileDescriptor.open`), exec's argv, and every write of text to
// a descriptor (`FileDescriptor.writeAll(_: String)`), so that a message quoting a
// word prints the word's own bytes. `utf8` on such a string gives the escape's UTF-8,
// never the original bytes: where bytes are meant, say `rawBytes`.

extension String {
    /// The scalar that stands for a byte that is not valid UTF-8: 0x80 + k is U+10FF80 + k.
    static let rawByteBase: UInt32 = 0x10FF00

    /// `bytes` as a lossless string: valid UTF-8 decoded, every other byte escaped.
    public init<Bytes: Collection>(rawBytes bytes: Bytes) where Bytes.Element == UInt8 {
        if !bytes.contains(where: { $0 >= 0x80 }) {
            self = String(decoding: bytes, as: UTF8.self)
            return
        }
        let b = Array(bytes)
        var scalars = String.UnicodeScalarView()
        var i = 0
        while i < b.count {
            let n = String.validSequenceLength(b, at: i)
            let value = n == 0 ? 0 : String.decodeScalar(b, at: i, length: n)
            if n == 0 || value >= String.rawByteBase + 0x80 {
                // Not valid UTF-8, or valid but in the escape range: escape byte by byte.
                for k in i..<(i + Swift.max(n, 1)) { scalars.append(Unicode.Scalar(String.rawByteBase + UInt32(b[k]))!) }
                i += Swift.max(n, 1)
            } else {
                scalars.append(Unicode.Scalar(value)!)
                i += n
            }
        }
        self = String(scalars)
    }

    /// A NUL-terminated C string as a lossless string (an argv entry).
    public init(rawCString pointer: UnsafePointer<CChar>) {
        self.init(rawBytes: UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)))
    }

    /// The bytes this string stands for: its UTF-8, with each escape scalar of
    /// `String(rawBytes:)` turned back into its byte.
    public var rawBytes: [UInt8] {
        // Every escape scalar's UTF-8 begins with 0xF4.
        if !utf8.contains(0xF4) { return Array(utf8) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        for scalar in unicodeScalars {
            if scalar.value >= String.rawByteBase + 0x80 {
                bytes.append(UInt8(scalar.value - String.rawByteBase))
            } else {
                bytes += Array(String(scalar).utf8)
            }
        }
        return bytes
    }

    /// The length of the valid UTF-8 sequence at `i` (1 to 4), or 0 when the bytes there
    /// are not one: the table of Unicode's "well-formed UTF-8 byte sequences" (no
    /// overlong forms, no surrogates, nothing past U+10FFFF).
    static func validSequenceLength(_ b: [UInt8], at i: Int) -> Int {
        let lead = b[i]
        if lead < 0x80 { return 1 }
        let second: ClosedRange<UInt8>
        let length: Int
        switch lead {
        case 0xC2...0xDF: (second, length) = (0x80...0xBF, 2)
        case 0xE0: (second, length) = (0xA0...0xBF, 3)
        case 0xE1...0xEC, 0xEE...0xEF: (second, length) = (0x80...0xBF, 3)
        case 0xED: (second, length) = (0x80...0x9F, 3)
        case 0xF0: (second, length) = (0x90...0xBF, 4)
        case 0xF1...0xF3: (second, length) = (0x80...0xBF, 4)
        case 0xF4: (second, length) = (0x80...0x8F, 4)
        default: return 0
        }
        guard i + length <= b.count, second.contains(b[i + 1]) else { return 0 }
        for k in 2..<length where !(0x80...0xBF).contains(b[i + k]) { return 0 }
        return length
    }

    /// The scalar value of the valid sequence of `length` bytes at `i`.
    static func decodeScalar(_ b: [UInt8], at i: Int, length: Int) -> UInt32 {
        if length == 1 { return UInt32(b[i]) }
        var value = UInt32(b[i]) & (0xFF >> (length + 1))
        for k in 1..<length { value = value << 6 | UInt32(b[i + k] & 0x3F) }
        return value
    }
}
