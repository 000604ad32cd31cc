/// What a decompressing stage does with bytes after the last member or frame that are not
/// another one: `--trailing=error|warn|ignore`, the same for every format.
public enum TrailingPolicy: String, Sendable, CaseIterable {
    case error, warn, ignore

    static let option = OptionSpec(nil, "trailing", .required("POLICY"),
                                   help: "bytes after the last frame that are not one: error (default), warn or ignore")

    /// The last `--trailing`, or `.error`.
    static func parse(_ args: OptionReader) throws(SluiceError) -> TrailingPolicy {
        guard let given = args.last("trailing"), let value = given.value else { return .error }
        guard let policy = TrailingPolicy(rawValue: value) else {
            throw args.fail("--trailing: unknown policy '\(value)' (use error, warn or ignore)")
        }
        return policy
    }
}
