extension String {
    /// This word as a POSIX shell reads it back: unchanged when every scalar is one the
    /// shell leaves alone (letters, digits, `_@%+=:,./-`), else in single quotes, each `'`
    /// written `'\''`. A byte that is not UTF-8 (an escape scalar, `String(rawBytes:)`)
    /// is quoted and stays that byte when the message is written.
    var shellQuoted: String {
        let plain = unicodeScalars.allSatisfy { s in
            s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s) || "_@%+=:,./-".unicodeScalars.contains(s))
        }
        if plain && !isEmpty { return self }
        var out = "'"
        for s in unicodeScalars {
            if s == "'" { out += "'\\''" } else { out.unicodeScalars.append(s) }
        }
        return out + "'"
    }
}
