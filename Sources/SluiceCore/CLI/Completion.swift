/// `sluice --completion bash|zsh|fish`: a completion script made from the stage registry
/// and the option tables, so that it completes exactly what the parser accepts. It
/// completes global options, stage names after the command and after each `+`, each
/// stage's options, sizes where a size goes, files, directories and commands where a
/// stage or an option takes one, and the words of options that take one of a few.
///
/// bash and zsh share one scanner, written in the shell language both run: it walks the
/// words before the cursor as `OptionParser` does (values of options, `--`, `+`) and
/// leaves the section the cursor is in; each shell's own function then offers the
/// candidates. fish has its own idiom, a `complete` line per option with a condition.
public enum CompletionShell: String, Sendable, CaseIterable {
    case bash, zsh, fish
}

public enum Completion {
    public static func script(for shell: CompletionShell) -> String {
        switch shell {
        case .bash: return header("#") + sharedFunctions + bashFunction
        case .zsh: return "#compdef sluice\n" + header("#") + sharedFunctions + zshFunction
        case .fish: return header("#") + fishScript
        }
    }

    /// What an option's value or a stage's operand is.
    enum Kind: Equatable {
        case size, file, directory, command
        case words([String])
        /// Anything (a pattern, a count): nothing to offer.
        case any
    }

    /// Sizes to offer where a SIZE goes.
    static let sizes = ["64K", "256K", "1M", "4M", "16M", "64M", "256M", "1G"]

    /// The values of the options that take one of a few words, by long name: what the
    /// parser accepts (CompletionTests holds the parser to each).
    static let choices: [String: [String]] = [
        "when-full": ["block", "drop-newest", "drop-oldest"],
        "trailing": ["error", "warn", "ignore"],
        "stats": ["table", "json", "hadoop", "hadoop,json"],
        "progress": ["auto", "force"],
        "completion": ["bash", "zsh", "fish"],
    ]

    static func kind(of metavariable: String, option: String?) -> Kind {
        if let option, let words = choices[option] { return .words(words) }
        switch metavariable {
        case "SIZE", "RATE": return .size
        case "FILE": return .file
        case "DIR": return .directory
        case "COMMAND": return .command
        default: return .any
        }
    }

    /// A part of the command line with options of its own: the global options (no names)
    /// or a stage, by its name and aliases.
    struct Section {
        var names: [String]
        var options: [OptionSpec]
        var summary = ""
        var stopsAtFirstOperand = true
        /// The first operand, and those after it, when the stage takes them.
        var firstOperand: Kind?
        var laterOperands: Kind?
    }

    static var globalSection: Section { Section(names: [], options: CommandParser.globalOptions) }

    static var stageSections: [Section] {
        StageRegistry.all.map { d in
            // The synopsis names the operands: `tee [-a] FILE`, `exec [-j N ...] COMMAND
            // [ARG]...`: the first upper-case word outside brackets.
            var depth = 0
            let operand = d.synopsis.split(separator: " ").dropFirst().first { word in
                let isOutside = depth == 0
                depth += word.filter { $0 == "[" }.count - word.filter { $0 == "]" }.count
                return isOutside && !word.hasPrefix("[") && !word.hasPrefix("-") && word.uppercased() == word
            }
            let first = d.operands.upperBound > 0 ? operand.map { kind(of: String($0), option: nil) } : nil
            return Section(names: [d.name] + d.aliases, options: d.allOptions, summary: d.summary,
                           stopsAtFirstOperand: d.stopsAtFirstOperand, firstOperand: first,
                           laterOperands: d.operands.upperBound > 1 ? .file : nil)
        }
    }

    private static func header(_ comment: String) -> String {
        "\(comment) Completion for sluice \(sluiceVersion), made by `sluice --completion`: regenerate it\n"
            + "\(comment) rather than edit it.\n"
    }

    // MARK: bash and zsh

    /// The options of a section, every spelling.
    private static func spellings(_ option: OptionSpec) -> [String] {
        [option.short.map { "-\($0)" }, option.long.map { "--\($0)" }].compactMap { $0 }
    }

    /// `a|b)` case patterns: every name of the section (none: the global one) with every
    /// word.
    private static func pattern(_ section: Section, _ words: [String]) -> String {
        let names = section.names.isEmpty ? [""] : section.names
        return names.flatMap { name in words.map { "\(name)/\($0)" } }.joined(separator: "|")
    }

    /// A kind as the shared functions write it: `size`, `file`, `dir`, `command`, `any`
    /// or `words A B C`.
    private static func code(_ kind: Kind) -> String {
        switch kind {
        case .size: return "words " + sizes.joined(separator: " ")
        case .file: return "file"
        case .directory: return "dir"
        case .command: return "command"
        case .words(let words): return "words " + words.joined(separator: " ")
        case .any: return "any"
        }
    }

    /// `_sluice_value STAGE OPTION`: the kind of the option's value, `=`-prefixed when it
    /// is only ever attached (`--stats=json`); nothing for a flag.
    private static var valueFunction: String {
        var text = "_sluice_value() {\n    case $1/$2 in\n"
        for section in [globalSection] + stageSections {
            for option in section.options {
                let kind: String
                switch option.value {
                case .none: continue
                case .required(let meta): kind = code(Completion.kind(of: meta, option: option.long))
                case .optional(let meta): kind = "=" + code(Completion.kind(of: meta, option: option.long))
                }
                text += "    \(pattern(section, spellings(option)))) echo '\(kind)' ;;\n"
            }
        }
        return text + "    esac\n}\n"
    }

    /// `_sluice_options STAGE`: the options of a stage, or the global ones for ''.
    private static var optionsFunction: String {
        var text = "_sluice_options() {\n    case $1 in\n"
        for section in [globalSection] + stageSections {
            let names = section.names.isEmpty ? "''" : section.names.joined(separator: "|")
            text += "    \(names)) echo '\(section.options.flatMap(spellings).joined(separator: " "))' ;;\n"
        }
        return text + "    esac\n}\n"
    }

    /// `_sluice_operand STAGE N`: the kind of the stage's operand after N others.
    private static var operandFunction: String {
        var text = "_sluice_operand() {\n    case $1/$2 in\n"
        for section in stageSections {
            if let first = section.firstOperand { text += "    \(pattern(section, ["0"]))) echo '\(code(first))' ;;\n" }
            if let later = section.laterOperands { text += "    \(pattern(section, ["*"]))) echo '\(code(later))' ;;\n" }
        }
        return text + "    esac\n}\n"
    }

    private static var sharedFunctions: String {
        let stages = StageRegistry.all.flatMap { [$0.name] + $0.aliases }.joined(separator: " ")
        // The stages past whose first operand every word is an operand (`exec CMD -x`).
        let stopping = stageSections.filter(\.stopsAtFirstOperand).flatMap(\.names)
        let scanStops = stopping.map { "stage/\($0)/[1-9]*" }.joined(separator: "|")
        let whatStops = stopping.map { "\($0)/[1-9]*" }.joined(separator: "|")
        return """

            _sluice_stages='\(stages)'

            """ + valueFunction + optionsFunction + operandFunction + """

            # Walks the words before the cursor ($1 is the command) as sluice's parser does and
            # leaves where the cursor is: _sluice_state (global: before the first stage; name: a
            # stage name is due; stage; literal: right after --; operands: after that),
            # _sluice_stage, _sluice_operands (how many the stage has so far) and
            # _sluice_pending (the option whose value is due). bash splits --opt=value into
            # three words; zsh does not.
            _sluice_scan() {
                _sluice_state=global _sluice_stage= _sluice_operands=0 _sluice_pending=
                local w last= kind
                shift
                for w in "$@"; do
                    if [ -n "$_sluice_pending" ]; then
                        [ "$w" = "=" ] || _sluice_pending=
                        last=$w
                        continue
                    fi
                    if [ "$w" = "=" ]; then
                        _sluice_pending=$last
                        last=$w
                        continue
                    fi
                    case $_sluice_state/$w in
                    literal/*) _sluice_state=operands _sluice_operands=$((_sluice_operands + 1)) ;;
                    */+) _sluice_state=name _sluice_stage= ;;
                    global/-*|stage/-?*)
                        case $_sluice_state/$_sluice_stage/$_sluice_operands/$w in
                        \(scanStops)) _sluice_operands=$((_sluice_operands + 1)) ;;
                        stage/*/--) _sluice_state=literal ;;
                        */--*=*|*/--) ;;
                        *)
                            kind=$(_sluice_value "$_sluice_stage" "$w")
                            case $kind in ''|'='*) ;; *) _sluice_pending=$w ;; esac
                            ;;
                        esac
                        ;;
                    global/*|name/*) _sluice_state=stage _sluice_stage=$w _sluice_operands=0 ;;
                    *) _sluice_operands=$((_sluice_operands + 1)) ;;
                    esac
                    last=$w
                done
            }

            # What to offer for the word $1 at the place the scan left: _sluice_kind (words,
            # file, dir, command or none) and, for words, _sluice_words.
            _sluice_what() {
                local kind=
                _sluice_kind=words _sluice_words=
                if [ -n "$_sluice_pending" ]; then
                    kind=$(_sluice_value "$_sluice_stage" "$_sluice_pending")
                    kind=${kind#"="}
                else
                    case $_sluice_state/$1 in
                    global/-*) _sluice_words=$(_sluice_options '') ;;
                    global/*|name/*) _sluice_words=$_sluice_stages ;;
                    stage/-*)
                        case $_sluice_stage/$_sluice_operands in
                        \(whatStops)) kind=$(_sluice_operand "$_sluice_stage" "$_sluice_operands") ;;
                        *) _sluice_words=$(_sluice_options "$_sluice_stage") ;;
                        esac
                        ;;
                    *) kind=$(_sluice_operand "$_sluice_stage" "$_sluice_operands") ;;
                    esac
                fi
                case $kind in
                '') ;;
                words\\ *) _sluice_words=${kind#words } ;;
                file|dir|command) _sluice_kind=$kind ;;
                *) _sluice_kind=none ;;
                esac
            }

            """
    }

    private static let bashFunction = """
        _sluice() {
            local cur=${COMP_WORDS[COMP_CWORD]}
            _sluice_scan "${COMP_WORDS[@]:0:COMP_CWORD}"
            # The cursor right after --opt=, which bash made a word of its own.
            if [ "$cur" = "=" ]; then
                _sluice_pending=${COMP_WORDS[COMP_CWORD-1]}
                cur=
            fi
            _sluice_what "$cur"
            case $_sluice_kind in
            words) COMPREPLY=($(compgen -W "$_sluice_words" -- "$cur")) ;;
            file) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")) ;;
            dir) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")) ;;
            command) COMPREPLY=($(compgen -c -- "$cur")) ;;
            *) COMPREPLY=() ;;
            esac
        }
        complete -F _sluice sluice

        """

    private static let zshFunction = """
        _sluice() {
            local cur=${words[CURRENT]}
            _sluice_scan "${(@)words[1,CURRENT-1]}"
            if [[ -z $_sluice_pending && $cur == -*=* ]]; then
                _sluice_pending=${cur%%=*}
                compset -P '*='
                cur=${cur#*=}
            fi
            _sluice_what "$cur"
            case $_sluice_kind in
            words) compadd -- ${=_sluice_words} ;;
            file) _files ;;
            dir) _files -/ ;;
            command) _command_names -e ;;
            esac
        }

        if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then
            _sluice "$@"
        else
            compdef _sluice sluice
        fi

        """

    // MARK: fish

    /// `text` in single quotes as fish reads them.
    private static func fishQuoted(_ text: String) -> String {
        "'" + text.replacingAll("\\", with: "\\\\").replacingAll("'", with: "\\'") + "'"
    }

    /// The arguments of `complete` that offer a value or an operand of `kind`.
    private static func fishArguments(_ kind: Kind) -> String {
        switch kind {
        case .size: return "-x -a " + fishQuoted(sizes.joined(separator: " "))
        case .file: return "-r -F"
        case .directory: return "-x -a '(__fish_complete_directories)'"
        case .command: return "-x -a '(__fish_complete_command)'"
        case .words(let words): return "-x -a " + fishQuoted(words.joined(separator: " "))
        case .any: return "-x"
        }
    }

    private static func fishOption(_ option: OptionSpec, condition: String) -> String {
        var line = "complete -c sluice -n \(fishQuoted(condition))"
        if let short = option.short { line += " -s \(short)" }
        if let long = option.long { line += " -l \(long)" }
        if case .required(let meta) = option.value { line += " " + fishArguments(kind(of: meta, option: option.long)) }
        return line + " -d " + fishQuoted(option.help) + "\n"
    }

    private static var fishScript: String {
        let valued = CommandParser.globalOptions.filter { if case .required = $0.value { true } else { false } }
            .flatMap(spellings)
        var text = """

            # The stage the cursor is in: '' before the first, '+' when a stage name is due.
            function __sluice_stage
                set -l words (commandline -opc)
                set -e words[1]
                set -l stage ''
                set -l skip 0
                for w in $words
                    if test $skip = 1
                        set skip 0
                    else if test "$w" = +
                        set stage +
                    else if test "$stage" = +
                        set stage $w
                    else if test -z "$stage"
                        if contains -- $w \(valued.joined(separator: " "))
                            set skip 1
                        else if not string match -q -- '-*' $w
                            set stage $w
                        end
                    end
                end
                echo $stage
            end

            function __sluice_stage_is
                contains -- (__sluice_stage) $argv
            end

            function __sluice_wants_stage
                contains -- (__sluice_stage) '' +
            end

            complete -c sluice -f

            """
        for option in CommandParser.globalOptions {
            text += fishOption(option, condition: "__sluice_stage_is ''")
        }
        for stage in StageRegistry.all {
            for name in [stage.name] + stage.aliases {
                text += "complete -c sluice -n __sluice_wants_stage -a \(name) -d \(fishQuoted(stage.summary))\n"
            }
        }
        for section in stageSections {
            let condition = "__sluice_stage_is " + section.names.joined(separator: " ")
            for option in section.options { text += fishOption(option, condition: condition) }
            if let operand = section.firstOperand {
                text += "complete -c sluice -n \(fishQuoted(condition)) \(fishArguments(operand))\n"
            }
        }
        return text
    }
}

extension String {
    /// Every `target` replaced, without Foundation.
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
