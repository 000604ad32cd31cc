import CZlib

/// Builders for gzip test data, independent of the stages under test: zlib's own deflate
/// and CRC-32, and hand-made headers.
public enum GzipFixture {
    /// zlib deflate with `windowBits` (31: gzip member, -15: raw), all at once.
    public static func deflate(_ input: [UInt8], level: Int32 = 6, windowBits: Int32 = 31) -> [UInt8] {
        var s = z_stream()
        precondition(sluice_deflateInit2(&s, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY) == Z_OK)
        defer { deflateEnd(&s) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&s, uLong(input.count))) + 64)
        var input = input
        let written = input.withUnsafeMutableBufferPointer { inp in
            out.withUnsafeMutableBufferPointer { o in
                s.next_in = inp.baseAddress
                s.avail_in = uInt(inp.count)
                s.next_out = o.baseAddress
                s.avail_out = uInt(o.count)
                precondition(CZlib.deflate(&s, Z_FINISH) == Z_STREAM_END)
                return o.count - Int(s.avail_out)
            }
        }
        return Array(out.prefix(written))
    }

    /// zlib's decoding of whole gzip members.
    public static func gunzip(_ data: [UInt8]) -> [UInt8]? {
        data.isEmpty ? nil : Reference.gunzipMembers(data)
    }

    /// What zlib says of a damaged raw deflate `body` inflated at once, and how many of
    /// its bytes it used before saying so.
    public static func inflateError(_ body: [UInt8]) -> (reason: String, used: Int) {
        var s = z_stream()
        precondition(sluice_inflateInit2(&s, -15) == Z_OK)
        defer { inflateEnd(&s) }
        var input = body
        var output = [UInt8](repeating: 0, count: 1 << 20)
        let r = input.withUnsafeMutableBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in
                s.next_in = i.baseAddress
                s.avail_in = uInt(i.count)
                s.next_out = o.baseAddress
                s.avail_out = uInt(o.count)
                return inflate(&s, Z_FINISH)
            }
        }
        precondition(r == Z_DATA_ERROR, "the damage is a data error, not \(r)")
        return (String(cString: s.msg), body.count - Int(s.avail_in))
    }

    /// zlib's CRC-32 of `bytes`.
    public static func crc(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(CZlib.crc32(0, $0.baseAddress, uInt($0.count))) }
    }

    /// One member with a hand-made header: optional FEXTRA, FNAME, FCOMMENT, FHCRC,
    /// FTEXT, and the given OS byte.
    public static func member(_ payload: [UInt8], extra: [UInt8]? = nil, name: String? = nil,
                              comment: String? = nil, headerCRC: Bool = false, text: Bool = false,
                              os: UInt8 = 3) -> [UInt8] {
        var flags: UInt8 = 0
        if text { flags |= 1 }
        if headerCRC { flags |= 2 }
        if extra != nil { flags |= 4 }
        if name != nil { flags |= 8 }
        if comment != nil { flags |= 16 }
        var header: [UInt8] = [0x1f, 0x8b, 8, flags, 0x78, 0x56, 0x34, 0x12, 0, os]
        if let extra { header += [UInt8(extra.count & 0xff), UInt8(extra.count >> 8)] + extra }
        if let name { header += Array(name.utf8) + [0] }
        if let comment { header += Array(comment.utf8) + [0] }
        if headerCRC {
            let c = crc(header)
            header += [UInt8(c & 0xff), UInt8((c >> 8) & 0xff)]
        }
        let n = UInt32(truncatingIfNeeded: payload.count)
        return header + deflate(payload, windowBits: -15) + littleEndian(crc(payload)) + littleEndian(n)
    }

    public static func littleEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v & 0xff), UInt8((v >> 8) & 0xff), UInt8((v >> 16) & 0xff), UInt8(v >> 24)]
    }

    /// Text with repetition, so that it compresses like a log.
    public static func text(_ lines: Int) -> [UInt8] {
        var out: [UInt8] = []
        for i in 0..<lines { out += Array("line \(i): the quick brown fox \(i % 7) jumps\n".utf8) }
        return out
    }
}

/// BGZF test data made with zlib directly and headers written here from the SAM/BAM
/// specification (4.1), not with the code under test.
public enum BGZFFixture {
    /// The header of a member `memberBytes` long, as htslib writes it: FEXTRA, MTIME 0,
    /// XFL 0, OS 255, and the `BC` subfield holding the size less one.
    public static func header(memberBytes: Int) -> [UInt8] {
        let bsize = memberBytes - 1
        return [0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, 0x42, 0x43, 2, 0,
                UInt8(truncatingIfNeeded: bsize), UInt8(truncatingIfNeeded: bsize >> 8)]
    }

    /// The end-of-file marker: an empty member (SAM/BAM spec 4.1.2).
    public static let endOfFile: [UInt8] = [0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, 0x42, 0x43, 2, 0,
                                            0x1b, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]

    /// One BGZF member of `payload` (at most 65280 bytes), with its `BC` size.
    public static func member(_ payload: [UInt8], level: Int32 = 6) -> [UInt8] {
        let body = GzipFixture.deflate(payload, level: level, windowBits: -15)
        return header(memberBytes: 18 + body.count + 8) + body
            + GzipFixture.littleEndian(GzipFixture.crc(payload)) + GzipFixture.littleEndian(UInt32(payload.count))
    }

    /// `payload` cut into blocks of `blockBytes`, one member each, then the EOF member.
    public static func file(_ payload: [UInt8], blockBytes: Int = 4096, endOfFile: Bool = true) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < payload.count {
            out += member(Array(payload[i..<min(i + blockBytes, payload.count)]))
            i += blockBytes
        }
        return out + (endOfFile ? Self.endOfFile : [])
    }

    /// The members of a BGZF file, by their `BC` sizes.
    public static func members(_ data: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var i = 0
        while i + 18 <= data.count {
            let size = (Int(data[i + 16]) | Int(data[i + 17]) << 8) + 1
            out.append(Array(data[i..<min(i + size, data.count)]))
            i += size
        }
        return out
    }

    public static let payload = GzipFixture.text(1500)
}
