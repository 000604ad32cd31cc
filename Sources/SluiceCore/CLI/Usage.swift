/// The texts of `--help`, `--version` and usage errors, built from the option tables and
/// the stage registry so they cannot drift from what the parser accepts.
public enum Usage {
    public static let synopsis = """
        usage: sluice [OPTION]... [STAGE [STAGE-OPTION|ARG]...]
                      [+ STAGE [STAGE-OPTION|ARG]...]...
        """

    /// Help is written for an 80-column terminal.
    static let width = 80

    /// What follows a usage error.
    public static let short = synopsis + "\nTry 'sluice --help' for more information.\n"

    /// What follows a usage error in the arguments of `stage`: that stage's synopsis.
    public static func short(for stage: String?) -> String {
        guard let stage, let d = StageRegistry.all.first(where: { $0.name == stage }) else { return short }
        return synopsis(of: d) + "Try 'sluice \(d.name) --help' for more information.\n"
    }

    public static var version: String {
        "sluice \(sluiceVersion)\n"
    }

    public static var help: String {
        var text = synopsis + "\n"
        text += """
            Read standard input in chunks, pass it through a chain of stages separated by
            a lone '+', and write standard output. Each stage runs on its own thread behind
            a bounded buffer; a slow consumer holds everything upstream back, so memory
            stays bounded whatever the input size. With no stage, sluice copies input to
            output.

            Options:

            """
        text += table(CommandParser.globalOptions)
        text += "\nStages:\n"
        for stage in StageRegistry.all {
            // A long synopsis continues indented by four, deeper than the next stage's.
            text += "  " + wrap(stage.synopsis, indent: 4).dropFirst(4)
            var summary = stage.summary
            if !stage.aliases.isEmpty { summary += "; also called " + stage.aliases.joined(separator: ", ") }
            text += wrap(summary, indent: 6)
        }
        let buffer = StageDescriptor.commonOptions.filter { $0.long != "help" }.map(\.displayName)
        text += "\n" + wrap("Every stage also takes " + buffer.dropLast().joined(separator: ", ")
            + " and \(buffer.last!) for its own output buffer, and --help; 'sluice --help STAGE' "
            + "shows a stage's help.", indent: 0)
        text += """
            SIZE is bytes or a number with K, M, G or T (powers of 1024; KB, MB, GB, TB:
            powers of 1000), which may have a fraction: 64K, 1.5M, 10MB. DURATION is
            seconds, bare or with ms, s or m, which may have a fraction: 0.5, 200ms, 2m.
            '--' ends a stage's options; a '+' right after it is an argument, not a
            separator.

            Exit status: 0 success, 1 runtime error (or, with grep -q, no line selected),
            2 usage error; when the reader of standard output goes away early, death by
            SIGPIPE (141), as for cat.

            Example: sluice gunzip + grep -F ERROR + gzip -6 < app.log.gz > errors.gz

            """
        return text
    }

    /// `sluice STAGE --help`.
    public static func help(for stage: StageDescriptor) -> String {
        var text = synopsis(of: stage) + "\n" + wrap(stage.summary, indent: 0)
        if !stage.aliases.isEmpty { text += "Also called: \(stage.aliases.joined(separator: ", ")).\n" }
        text += "\nOptions:\n" + table(stage.allOptions)
        return text
    }

    /// Options in two columns, the help wrapped under its own column.
    private static func table(_ options: [OptionSpec]) -> String {
        let rows = options.map { ($0.short == nil ? "    " + $0.displayName : $0.displayName, $0.help) }
        let column = (rows.map { $0.0.count }.max() ?? 0) + 4
        return rows.map { row in
            let lines = wrap(row.1, indent: column)
            return "  " + pad(row.0, column - 2) + lines.dropFirst(column)
        }.joined()
    }

    /// The words of `text`, a bracketed group (`[-f FILE]`) counting as one.
    private static func words(of text: String) -> [Substring] {
        var words: [Substring] = []
        var depth = 0, start = text.startIndex
        for i in text.indices {
            switch text[i] {
            case "[": depth += 1
            case "]": depth -= 1
            case " " where depth == 0:
                if start < i { words.append(text[start..<i]) }
                start = text.index(after: i)
            default: break
            }
        }
        if start < text.endIndex { words.append(text[start...]) }
        return words
    }

    /// `usage: sluice [OPTION]... STAGE-SYNOPSIS`, continued under `sluice`'s
    /// argument column when it is wider than the terminal.
    static func synopsis(of stage: StageDescriptor) -> String {
        let head = "usage: sluice [OPTION]... "
        let lines = wrap(stage.synopsis, indent: head.count)
        return head + lines.dropFirst(head.count).replacingFirstIndent(with: "usage: sluice ".count)
    }

    /// `text` wrapped at word boundaries to `width` columns, each line indented by
    /// `indent` spaces and ended by a newline.
    static func wrap(_ text: String, indent: Int) -> String {
        let margin = String(repeating: " ", count: indent)
        var out = "", line = ""
        for word in words(of: text) {
            if !line.isEmpty && indent + line.count + 1 + word.count > width {
                out += margin + line + "\n"
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        return out + margin + line + "\n"
    }

    private static func pad(_ s: String, _ width: Int) -> String {
        s + String(repeating: " ", count: max(0, width - s.count))
    }
}

extension Substring {
    /// Continuation lines re-indented to `indent` columns.
    fileprivate func replacingFirstIndent(with indent: Int) -> String {
        split(separator: "\n", omittingEmptySubsequences: false).enumerated().map { i, line in
            i == 0 || line.isEmpty ? String(line)
                : String(repeating: " ", count: indent) + line.drop { $0 == " " }
        }.joined(separator: "\n")
    }
}
