import Foundation
import Testing

/// `sluice --completion bash` loaded into a real bash: `complete -p` names its function,
/// which is called as readline calls it (COMP_WORDS, COMP_CWORD) and must offer what the
/// parser accepts. zsh and fish, when installed, at least parse their scripts; `make
/// test-scale` installs them and completes with them.
@Suite struct CompletionTests {
    /// A bash script with the completion loaded and `c LINE`, which prints the candidates
    /// for LINE (ending in a space: a new word), one per line.
    static func bash(_ body: String) throws -> Outcome {
        try sh("""
            source <("$SLUICE" --completion bash) || exit 10
            fn=$(complete -p sluice | sed -n 's/^complete -F \\([^ ]*\\) sluice$/\\1/p')
            [ -n "$fn" ] || { complete -p sluice; exit 11; }
            c() {
                read -ra COMP_WORDS <<< "$1"
                [[ $1 == *" " ]] && COMP_WORDS+=("")
                COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) COMP_LINE=$1 COMP_POINT=${#1} COMPREPLY=()
                "$fn" sluice "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
                printf '%s\\n' "${COMPREPLY[@]}" | sort -u
            }
            \(body)
            """)
    }

    @Test(arguments: [
        ("sluice gz", "gzip"),
        ("sluice gzip + gr", "grep"),
        ("sluice --hwm 1M --stats gu", "gunzip"),
        ("sluice zc", "zcat"),
        ("sluice cat + ra", "rate"),
        ("sluice --when-full ", "block\ndrop-newest\ndrop-oldest"),
        ("sluice gunzip --trailing ", "error\nignore\nwarn"),
        ("sluice --completion ", "bash\nfish\nzsh"),
        ("sluice buffer 25", "256K\n256M"),
        ("sluice cat --hwm 6", "64K\n64M"),
        ("sluice grep -- + + ca", "cat"),
        ("sluice exec grep -f x + he", "head"),
        ("sluice exec grep --hw", ""),
        ("sluice head -n 1", ""),
    ])
    func completesLikeTheParser(_ line: String, _ expected: String) throws {
        let r = try Self.bash("c '\(line)'")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.text == (expected.isEmpty ? "\n" : expected + "\n"), "\(line)")
    }

    @Test func stageOptionsAfterDashes() throws {
        let r = try Self.bash("c 'sluice grep --'")
        let words = r.text.split(separator: "\n")
        for option in ["--fixed-strings", "--max-count", "--file", "--hwm", "--help"] {
            #expect(words.contains(Substring(option)), "\(option) in \(r.text)")
        }
        #expect(!words.contains("--stats"))
    }

    /// Files where a stage takes one (tee FILE, grep -f FILE), directories for --spill,
    /// commands for exec, and the --opt=value form bash splits at '='.
    @Test func filesDirectoriesCommandsAndAttachedValues() throws {
        let r = try Self.bash("""
            mkdir $T/dir; touch $T/file1 $T/file2
            c "sluice tee $T/fi"; c "sluice grep -f $T/fi"; c "sluice --spill $T/"
            c 'sluice exec mkdi'
            COMP_WORDS=(sluice --stats = j) COMP_CWORD=3; "$fn"; echo "${COMPREPLY[*]}"
            COMP_WORDS=(sluice --stats =) COMP_CWORD=2; "$fn"; echo "${COMPREPLY[*]}"
            COMP_WORDS=(sluice --hwm = 1M + c) COMP_CWORD=5; "$fn"; echo "${COMPREPLY[*]}"
            """)
        #expect(r.status == 0, "\(r.stderr)")
        let dir = r.text.split(separator: "\n").first { $0.hasSuffix("/dir") }.map(String.init) ?? "?"
        let t = String(dir.dropLast(4))
        #expect(r.text == """
            \(t)/file1
            \(t)/file2
            \(t)/file1
            \(t)/file2
            \(t)/dir
            mkdir
            json
            table json hadoop hadoop,json
            cat

            """, "\(r.text)")
    }

    /// Every stage, alias and option the parser knows is offered: the script is made from
    /// the same tables.
    @Test func everyStageAndOptionIsOffered() throws {
        let stages = StageNames.all
        let r = try Self.bash("""
            c 'sluice '; echo ==; c 'sluice -'
            for s in \(stages.joined(separator: " ")); do echo "== $s"; c "sluice $s -"; done
            """)
        #expect(r.status == 0, "\(r.stderr)")
        let sections = r.text.components(separatedBy: "==")
        #expect(Set(sections[0].split(separator: "\n").map(String.init)) == Set(stages))
        let help = try sh("\"$SLUICE\" --help").text
        for option in try DocsTests.helpListing().options { #expect(sections[1].contains("\(option)\n"), "\(option)") }
        #expect(help.contains("--completion"))
        for (i, stage) in stages.enumerated() {
            let stageHelp = try sh("\"$SLUICE\" \(stage) --help").text
            // Option lines only, not help wrapped under its column.
            for line in stageHelp.split(separator: "\n") where line.hasPrefix("  -") || line.hasPrefix("      --") {
                for word in line.split(separator: " ").prefix(3) where word.hasPrefix("-") {
                    let option = word.split(separator: "[")[0].split(separator: ",")[0]
                    #expect(sections[i + 2].contains("\n\(option)\n"), "\(stage) \(option)")
                }
            }
        }
    }

    /// Each word offered for an option's value is one the parser takes.
    @Test(arguments: [
        "--when-full=block", "--when-full=drop-newest", "--when-full=drop-oldest",
        "--stats=table", "--stats=json", "--stats=hadoop", "--stats=hadoop,json",
        "--progress=auto", "--progress=force", "cat --hwm 64K", "gunzip --trailing=error",
        "gunzip --trailing=warn", "gunzip --trailing=ignore",
    ])
    func offeredValuesParse(_ words: String) throws {
        let input = words.contains("gunzip") ? "echo x | gzip -c | " : ""
        let r = try sh("\(input)\"$SLUICE\" \(words) \(words.contains(" ") ? "" : "cat") > /dev/null")
        #expect(r.status == 0, "\(words): \(r.stderr)")
        for shell in ["bash", "zsh", "fish"] {
            #expect(try sh("\"$SLUICE\" --completion=\(shell)").status == 0)
        }
        #expect(try sh("\"$SLUICE\" --completion tcsh").stderr.hasPrefix(
            "sluice: --completion: unknown shell 'tcsh' (use bash, zsh or fish)\n"))
    }

    @Test func otherShellsParseTheirScripts() throws {
        for shell in ["zsh", "fish"] where FileManager.default.isExecutableFile(atPath: "/usr/bin/\(shell)") {
            let r = try sh("\"$SLUICE\" --completion \(shell) > $T/script && \(shell) -n $T/script")
            #expect(r.status == 0, "\(shell): \(r.stderr)")
        }
    }
}

/// Stage names as `sluice --help` lists them, then the aliases each stage's help names.
enum StageNames {
    static let all: [String] = {
        guard let stages = try? DocsTests.helpListing().stages else { return [] }
        let aliases = stages.flatMap { stage -> [String] in
            let help = (try? sh("\"$SLUICE\" \(stage) --help").text) ?? ""
            guard let line = help.split(separator: "\n").first(where: { $0.hasPrefix("Also called: ") }) else { return [] }
            return line.dropFirst("Also called: ".count).dropLast().split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        return stages + aliases
    }()
}
