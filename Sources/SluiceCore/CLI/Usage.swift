/// The texts of `--help`, `--version` and usage errors, built from the option tables and
/// the stage registry so they cannot drift from what the parser accepts.
public enum Usage {
    public static let synopsis = """
        usage: sluice [OPTION]... [STAGE [STAGE-OPTION|ARG]...] [+ STAGE [STAGE-OPTION|ARG]...]...
        """

    /// What follows a usage error.
    public static let short = synopsis + "\nTry 'sluice --help' for more information.\n"

    /// What follows a usage error in the arguments of `stage`: that stage's synopsis.
    public static func short(for stage: String?) -> String {
        guard let stage, let d = StageRegistry.all.first(where: { $0.name == stage }) else { return short }
        return "usage: sluice [OPTION]... \(d.synopsis)\nTry 'sluice \(d.name) --help' for more information.\n"
    }

    public static var version: String {
        "sluice \(sluiceVersion)\n"
    }

    public static var help: String {
        var text = synopsis + "\n"
        text += """
            Read standard input in chunks, pass it through a chain of stages separated by
            a lone '+', and write standard output. Each stage runs on its own thread behind
            a bounded buffer; a slow consumer holds everything upstream back, so memory stays
            bounded whatever the input size. With no stage, sluice copies input to output.

            Options:

            """
        text += table(CommandParser.globalOptions)
        text += "\nStages:\n"
        let width = StageRegistry.all.map { $0.synopsis.count }.max() ?? 0
        for stage in StageRegistry.all {
            text += "  " + pad(stage.synopsis, width) + "  " + stage.summary + "\n"
        }
        text += """

            Every stage also takes --hwm SIZE and --lwm SIZE for its own output buffer, and
            --help. SIZE is bytes or a number with K, M, G or T (powers of 1024): 64K, 4M.
            '--' ends a stage's options; a '+' right after it is an argument, not a separator.

            Exit status: 0 success, 1 runtime error, 2 usage error; when the reader of
            standard output goes away early, death by SIGPIPE (141), as for cat.

            Example: sluice gunzip + grep -F ERROR + gzip -6 < app.log.gz > errors.gz

            """
        return text
    }

    /// `sluice STAGE --help`.
    public static func help(for stage: StageDescriptor) -> String {
        var text = "usage: sluice [OPTION]... \(stage.synopsis)\n\n\(stage.summary)\n"
        if !stage.aliases.isEmpty { text += "Also called: \(stage.aliases.joined(separator: ", ")).\n" }
        text += "\nOptions:\n" + table(stage.allOptions)
        return text
    }

    private static func table(_ options: [OptionSpec]) -> String {
        let rows = options.map { ($0.short == nil ? "    " + $0.displayName : $0.displayName, $0.help) }
        let width = rows.map { $0.0.count }.max() ?? 0
        return rows.map { "  " + pad($0.0, width) + "  " + $0.1 + "\n" }.joined()
    }

    private static func pad(_ s: String, _ width: Int) -> String {
        s + String(repeating: " ", count: max(0, width - s.count))
    }
}
