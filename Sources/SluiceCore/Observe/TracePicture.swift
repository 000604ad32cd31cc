/// The picture `--trace FILE.svg` draws: one lane per node, time across; in each lane
/// the node's state as a coloured band (busy, starved, blocked, pacing, in proportion
/// to their shares), its buffer's fill against its high-water mark as a line, and its
/// rate as a thin line; along the top, who the bottleneck was; a title with the command
/// line and a legend. Plain SVG, written by sluice itself.
struct TracePicture {
    let samples: [Trace.Sample]
    let labels: [String]
    let title: String

    static let colors = (busy: "#e4572e", starved: "#d9d9d9", blocked: "#4d7ea8", pacing: "#9d75cb")
    let left = 110, top = 70, laneHeight = 56, laneGap = 12, width = 900

    var svg: String {
        let height = top + labels.count * (laneHeight + laneGap) + 40
        var out = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(left + width + 20)" height="\(height)" \
            font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="10" y="20" font-size="14">\(escape(title))</text>

            """
        out += legend()
        let end = max(samples.last?.seconds ?? 0, 0.001)
        let start = samples.first.map { max(0, $0.seconds - 0.1) } ?? 0
        func x(_ t: Double) -> Double { Double(left) + (t - start) / max(end - start, 0.001) * Double(width) }
        out += bottleneckStrip(x)
        for i in labels.indices { out += lane(i, x) }
        out += "<text x=\"\(left)\" y=\"\(height - 12)\">0 s</text>"
        out += "<text x=\"\(left + width)\" y=\"\(height - 12)\" text-anchor=\"end\">\(fmt(end)) s</text>\n"
        return out + "</svg>\n"
    }

    private func legend() -> String {
        let items = [("busy", Self.colors.busy), ("starved", Self.colors.starved),
                     ("blocked", Self.colors.blocked), ("pacing", Self.colors.pacing)]
        var out = ""
        for (k, item) in items.enumerated() {
            let x = 10 + k * 90
            out += "<rect x=\"\(x)\" y=\"32\" width=\"12\" height=\"12\" fill=\"\(item.1)\"/>"
            out += "<text x=\"\(x + 16)\" y=\"42\">\(item.0)</text>\n"
        }
        out += "<line x1=\"370\" y1=\"38\" x2=\"390\" y2=\"38\" stroke=\"black\" stroke-width=\"2\"/>"
        out += "<text x=\"394\" y=\"42\">buffer fill / hwm</text>\n"
        return out
    }

    /// Who limited the run, sample by sample, as a labelled strip along the top.
    private func bottleneckStrip(_ x: (Double) -> Double) -> String {
        var out = "<text x=\"10\" y=\"\(top - 6)\">bottleneck</text>\n"
        var runStart = 0
        for i in samples.indices where i == samples.count - 1 || samples[i + 1].bottleneck != samples[i].bottleneck {
            let from = x(runStart == 0 ? (samples.first?.seconds ?? 0) - 0.1 : samples[runStart - 1].seconds)
            let to = x(samples[i].seconds)
            if let name = samples[i].bottleneck {
                out += "<rect x=\"\(fmt(from))\" y=\"\(top - 18)\" width=\"\(fmt(max(1, to - from)))\" height=\"14\" "
                    + "fill=\"#fff3b0\" stroke=\"#c9a227\"/>"
                if to - from > Double(name.count * 7) {
                    out += "<text x=\"\(fmt(from + 3))\" y=\"\(top - 7)\">\(escape(name))</text>"
                }
                out += "\n"
            }
            runStart = i + 1
        }
        return out
    }

    private func lane(_ i: Int, _ x: (Double) -> Double) -> String {
        let y0 = top + i * (laneHeight + laneGap)
        var out = "<text class=\"lane\" x=\"10\" y=\"\(y0 + laneHeight / 2 + 4)\">\(escape(labels[i]))</text>\n"
        out += "<rect x=\"\(left)\" y=\"\(y0)\" width=\"\(width)\" height=\"\(laneHeight)\" fill=\"none\" stroke=\"#999\"/>\n"
        var fill: [String] = []
        for (k, s) in samples.enumerated() {
            let from = x(k == 0 ? s.seconds - 0.1 : samples[k - 1].seconds), to = x(s.seconds)
            let n = s.nodes[i]
            var y = Double(y0 + laneHeight)
            for (share, color) in [(n.busy, Self.colors.busy), (n.pacing, Self.colors.pacing),
                                   (n.blocked, Self.colors.blocked), (n.starved, Self.colors.starved)] where share > 0 {
                let h = share * Double(laneHeight)
                y -= h
                out += "<rect x=\"\(fmt(from))\" y=\"\(fmt(y))\" width=\"\(fmt(max(0.5, to - from)))\" "
                    + "height=\"\(fmt(h))\" fill=\"\(color)\"/>"
            }
            if let buffered = n.buffered, let hwm = n.highWaterMark, hwm > 0 {
                let f = min(1, Double(buffered) / Double(hwm))
                fill.append("\(fmt(to)),\(fmt(Double(y0 + laneHeight) - f * Double(laneHeight)))")
            }
        }
        out += "\n"
        if !fill.isEmpty {
            out += "<polyline points=\"\(fill.joined(separator: " "))\" fill=\"none\" stroke=\"black\" stroke-width=\"1.5\"/>\n"
        }
        return out
    }

    private func fmt(_ v: Double) -> String { Decimal.format(v, places: 1) }

    private func escape(_ s: String) -> String {
        s.replacingOccurrencesOfXMLSpecials()
    }
}

extension String {
    /// `&`, `<`, `>` and `"` as XML entities.
    func replacingOccurrencesOfXMLSpecials() -> String {
        var out = ""
        for c in self {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
