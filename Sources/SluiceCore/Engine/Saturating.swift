/// Sums and products of non-negative sizes that stop at `Int.max` instead of trapping: a
/// memory bound can be past any real memory (N lines of up to `--max-line` each), and
/// `Int.max` then says so.
enum Saturating {
    static func sum(_ terms: Int...) -> Int {
        var total = 0
        for term in terms {
            let (next, overflowed) = total.addingReportingOverflow(term)
            if overflowed { return Int.max }
            total = next
        }
        return total
    }

    static func product(_ a: Int, _ b: Int) -> Int {
        let (p, overflowed) = a.multipliedReportingOverflow(by: b)
        return overflowed ? Int.max : p
    }
}
