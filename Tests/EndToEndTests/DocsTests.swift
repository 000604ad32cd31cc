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

    /// Help is read in an 80-column terminal: no line of it is wider.
    @Test func helpFitsEightyColumns() throws {
        let (stages, _) = try Self.helpListing()
        #expect(stages.count >= 10)
        for args in [["--help"]] + stages.map { [$0, "--help"] } {
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

    /// The suites written to drive sluice's threads hardest: every stage thread at once,
    /// gzip's workers, exec's drain thread, early stops and failures mid-stream.
    static let threadSuites = [
        "IdentityThreadTests", "StopThreadTests", "OutputFailureThreadTests", "NonBlockingThreadTests",
        "BackpressureThreadTests", "GunzipFormatThreadTests", "ParallelGzipThreadTests", "ExecThreadTests",
        "TeeThreadTests", "StallThreadTests", "CardPipelineThreadTests", "GrepAgainstGrepThreadTests",
        "ExecEndThreadTests",
    ]

    /// `make test-sanitize` selects suites by name: its filter must pick every suite named
    /// `...ThreadTests` and no other, and those must still include `threadSuites`.
    @Test func sanitizerRunSelectsTheThreadSuites() throws {
        let key = "SANITIZE_FILTER := "
        let line = try #require(try Self.read("Makefile").split(separator: "\n").first { $0.hasPrefix(key) })
        let filter = try Regex(String(line.dropFirst(key.count)))
        let folder = Self.root.appendingPathComponent("Tests/EndToEndTests").path
        var suites: [String] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: folder) where file.hasSuffix(".swift") {
            for line in try Self.read("Tests/EndToEndTests/\(file)").split(separator: "\n") where line.hasPrefix("@Suite") {
                guard let name = line.split(separator: " ").drop(while: { $0 != "struct" }).dropFirst().first else { continue }
                suites.append(String(name))
            }
        }
        // A test ID as swift-testing matches a filter against it: module.Suite/test().
        let selected = Set(suites.filter { "EndToEndTests.\($0)/someTest()".contains(filter) })
        #expect(selected == Set(suites.filter { $0.hasSuffix("ThreadTests") }))
        for suite in Self.threadSuites {
            #expect(selected.contains(suite), "make test-sanitize does not run \(suite)")
        }
    }

    @Test func manPageLintsClean() throws {
        let r = try sh("mandoc -Tlint -W warning '\(Self.root.path)/man/sluice.1' 2>&1")
        #expect(r.text.isEmpty, "\(r.text)")
    }
}
