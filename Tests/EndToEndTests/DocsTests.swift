import Foundation
import Testing

/// The man page and README must describe exactly what the binary does: every stage and
/// every option `--help` lists appears in both.
@Suite struct DocsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static func read(_ name: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(name), encoding: .utf8)
    }

    /// Stage names and global long options, as `sluice --help` prints them.
    static func helpListing() throws -> (stages: [String], options: [String]) {
        let help = try sh("\"$SLUICE\" --help").text
        var stages: [String] = [], options: [String] = []
        var section = ""
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasSuffix(":") && !line.hasPrefix(" ") { section = String(line); continue }
            let words = line.split(separator: " ")
            guard line.hasPrefix("  "), let first = words.first else { continue }
            // A stage's synopsis is indented by two; its summary, below, by more.
            if section == "Stages:" && !line.hasPrefix("   ") { stages.append(String(first)) }
            if section == "Options:" && first.hasPrefix("-") {
                for w in words where w.hasPrefix("--") {
                    options.append(String(w.split(separator: "[")[0].split(separator: "=")[0]))
                    break
                }
            }
        }
        return (stages, options)
    }

    @Test func everyStageIsDocumented() throws {
        let (stages, _) = try Self.helpListing()
        #expect(stages.count >= 2)
        let man = try Self.read("man/sluice.1"), readme = try Self.read("README.md")
        for stage in stages {
            #expect(man.contains(".It Cm \(stage)"), "man page lacks stage \(stage)")
            #expect(readme.contains("| `\(stage)"), "README lacks stage \(stage)")
        }
    }

    @Test func everyGlobalOptionIsDocumented() throws {
        let (_, options) = try Self.helpListing()
        #expect(options.contains("--hwm"))
        let man = try Self.read("man/sluice.1"), readme = try Self.read("README.md")
        for option in options {
            let name = option.dropFirst(2)
            #expect(man.contains("Fl \\-\(name)"), "man page lacks \(option)")
            #expect(readme.contains("`\(option)"), "README lacks \(option)")
        }
    }

    /// The global help's "every stage also takes" names each option a stage's help adds
    /// to its own (those `cat`, which has none of its own, lists).
    @Test func globalHelpNamesEveryCommonStageOption() throws {
        let help = try sh("\"$SLUICE\" --help").text
        let start = try #require(help.range(of: "Every stage also takes"))
        let paragraph = help[start.lowerBound...].prefix { $0 != ";" }.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        let common = try sh("\"$SLUICE\" cat --help").text.split(separator: "\n").compactMap { line in
            line.split(separator: " ").first { $0.hasPrefix("--") }.map(String.init)
        }
        #expect(common.count >= 6)
        for option in common { #expect(paragraph.contains(option), "global help lacks \(option): \(paragraph)") }
    }

    /// Help is read in an 80-column terminal: no line of it is wider.
    @Test func helpFitsEightyColumns() throws {
        let (stages, _) = try Self.helpListing()
        #expect(stages.count >= 10)
        for args in [["--help"]] + stages.map({ [$0, "--help"] }) {
            let help = try sh("\"$SLUICE\" \(args.joined(separator: " "))").text
            for line in help.split(separator: "\n") {
                #expect(line.count <= 80, "\(args.joined(separator: " ")): \(line.count) columns: \(line)")
            }
        }
        let usage = try sh("\"$SLUICE\" grep -Q x").stderr
        for line in usage.split(separator: "\n") { #expect(line.count <= 80, "\(line)") }
    }

    @Test func everyStageOptionIsInTheManPage() throws {
        let (stages, _) = try Self.helpListing()
        let man = try Self.read("man/sluice.1")
        for stage in stages {
            let help = try sh("\"$SLUICE\" \(stage) --help").text
            for line in help.split(separator: "\n") where line.hasPrefix("  ") {
                guard let option = line.split(separator: " ").first(where: { $0.hasPrefix("--") }) else { continue }
                let name = option.split(separator: "[")[0].split(separator: "=")[0].dropFirst(2)
                #expect(man.contains("\\-\(name)"), "man page lacks \(stage) --\(name)")
            }
        }
    }

    /// `make test-sanitize` selects suites by name: its filter must pick exactly the suites
    /// tagged `.threads` (those written to drive sluice's threads hardest), and each of
    /// them must be named `...ThreadTests`.
    @Test func sanitizerRunSelectsTheThreadSuites() throws {
        let key = "SANITIZE_FILTER := "
        let line = try #require(try Self.read("Makefile").split(separator: "\n").first { $0.hasPrefix(key) })
        let filter = try Regex(String(line.dropFirst(key.count)))
        let folder = Self.root.appendingPathComponent("Tests/EndToEndTests").path
        var suites: [String] = []
        var tagged: Set<String> = []
        for file in try FileManager.default.contentsOfDirectory(atPath: folder) where file.hasSuffix(".swift") {
            for line in try Self.read("Tests/EndToEndTests/\(file)").split(separator: "\n") where line.hasPrefix("@Suite") {
                guard let name = line.split(separator: " ").drop(while: { $0 != "struct" }).dropFirst().first else { continue }
                suites.append(String(name))
                if line.contains(".tags(.threads)") { tagged.insert(String(name)) }
            }
        }
        #expect(tagged.count >= 15)
        // A test ID as swift-testing matches a filter against it: module.Suite/test().
        let selected = Set(suites.filter { "EndToEndTests.\($0)/someTest()".contains(filter) })
        #expect(selected == tagged, "make test-sanitize runs exactly the suites tagged .threads")
        for suite in tagged { #expect(suite.hasSuffix("ThreadTests"), "\(suite) is tagged .threads") }
    }

    /// An example of each global option, for `passThroughParagraphIsTrue`.
    static let optionExamples = [
        "--hwm": "--hwm 1M", "--lwm": "--lwm 100K", "--chunk": "--chunk 64K", "--stats": "--stats",
        "--stall-timeout": "--stall-timeout 9", "--progress": "--progress=force",
        "--pipe-size": "--pipe-size 64K", "--max-line": "--max-line 1M", "--size": "--size 4M",
        "--when-full": "--when-full=drop-newest", "--spill": "--spill /tmp", "--spill-max": "--spill-max 1G",
        "--trace": "--trace /dev/null", "--trace-interval": "--trace-interval 1s", "--drain": "--drain",
    ]

    /// The man page's pass-through paragraph cites splice(2) only, and names exactly the
    /// options that turn splice off: with each of them sluice read(2)s its 4 MiB of input
    /// (rchar in /proc/PID/io counts it), with any other option it does not. Each run is
    /// read once it has exited, as a zombie (waitid with WNOWAIT), so all 4 MiB are in.
    @Test func passThroughParagraphIsTrue() throws {
        // Bold and underline are overstruck: a character, a backspace, the character.
        let page = try sh("mandoc -Tascii -O width=1000 '\(Self.root.path)/man/sluice.1'").text
            .replacing(/.\x{8}/, with: "")
        let paragraph = try #require(page.split(separator: "\n").first { $0.contains("copies its input to its output") })
        #expect(paragraph.matches(of: /[a-z]+\([0-9]\)/).map { String(paragraph[$0.range]) } == ["splice(2)"])
        let named = Set(paragraph.matches(of: /--[a-z-]+/).map { String(paragraph[$0.range]) })
        // The options that print and exit run nothing to splice.
        let options = try Self.helpListing().options.filter { !["--help", "--version", "--completion"].contains($0) }
        #expect(Set(options) == Set(Self.optionExamples.keys), "an example for each option")
        let examples = options.map { shellQuoted(Self.optionExamples[$0] ?? $0) }
        let r = try sh("""
            python3 - "$SLUICE" \(examples.joined(separator: " ")) <<'EOF'
            import os, shlex, subprocess, sys
            runs = [subprocess.Popen([sys.argv[1]] + shlex.split(a), stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for a in sys.argv[2:]]
            for p in runs:
                p.stdin.write(bytes(4 << 20))
                p.stdin.close()
            for p in runs:
                os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
                rchar = next(int(l.split()[1]) for l in open('/proc/%d/io' % p.pid) if l.startswith('rchar'))
                print('read' if rchar >= 4 << 20 else 'spliced')
                p.wait()
            EOF
            """, timeout: 60)
        let ways = r.text.split(separator: "\n").map(String.init)
        #expect(ways.count == options.count, "\(r.stderr)")
        for (option, way) in zip(options, ways) {
            #expect(way == (named.contains(option) ? "read" : "spliced"), "\(option)")
        }
    }

    /// The scale-out recipes (GNU parallel, Spark, Hadoop) are examples, not
    /// compatibility notes: they sit in EXAMPLES, and COMPATIBILITY lists differences.
    @Test func scaleOutRecipesAreExamples() throws {
        let man = try Self.read("man/sluice.1")
        func section(_ name: String) -> String {
            guard let start = man.range(of: "\n.Sh \(name)\n") else { return "" }
            let rest = man[start.upperBound...]
            return String(rest[..<(rest.range(of: "\n.Sh ")?.lowerBound ?? rest.endIndex)])
        }
        let examples = section("EXAMPLES"), compatibility = section("COMPATIBILITY")
        #expect(!compatibility.isEmpty)
        for recipe in ["parallel \\-\\-pipepart", "rdd.pipe(", "hadoop jar"] {
            #expect(examples.contains(recipe), "EXAMPLES lacks \(recipe)")
            #expect(!compatibility.contains(recipe), "COMPATIBILITY holds \(recipe)")
        }
    }

    @Test func manPageLintsClean() throws {
        let r = try sh("mandoc -Tlint -W warning '\(Self.root.path)/man/sluice.1' 2>&1")
        #expect(r.text.isEmpty, "\(r.text)")
    }
}
