/// The labels that tell the stages apart in `--stats`, `-P`, the bottleneck and the stall
/// message: a stage's name, unless another stage has the same name. Then an `exec` stage
/// adds its command's name (`exec jq`, `exec sed`), and labels still alike are numbered in
/// order (`gzip#1`, `gzip#2`; `exec jq#1`, `exec jq#2`). A chain without repeated names
/// is labelled exactly as before labels existed.
public enum StageLabels {
    /// One label per stage, given each stage's name and, for `exec`, its command as typed
    /// (its last path component is used: `/usr/bin/jq` is `jq`).
    public static func make(names: [String], commands: [String?]) -> [String] {
        let detailed = names.indices.map { i in
            guard count(of: names[i], in: names) > 1, let command = commands[i] else { return names[i] }
            return names[i] + " " + (command.split(separator: "/").last.map(String.init) ?? command)
        }
        var seen: [String: Int] = [:]
        return detailed.map { label in
            guard count(of: label, in: detailed) > 1 else { return label }
            seen[label, default: 0] += 1
            return "\(label)#\(seen[label]!)"
        }
    }

    private static func count(of name: String, in names: [String]) -> Int {
        names.reduce(0) { $0 + ($1 == name ? 1 : 0) }
    }
}
