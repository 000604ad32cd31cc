import Foundation
import Testing

/// `--trace FILE`: the run over time, as JSON lines that add up to the final --stats, or
/// as a picture that is well-formed SVG with one lane per node and renders.
@Suite struct TraceTests {
    @Test func jsonLinesAddUpToTheStats() throws {
        let r = try sh("""
            \(realText("12M"))
            "$SLUICE" --stats=json --trace $T/run.jsonl --trace-interval 50ms gzip -p 1 + throttle 4M < $T/text 2> $T/stats > /dev/null
            python3 - $T <<'EOF'
            import json, sys
            t = sys.argv[1]
            samples = [json.loads(l) for l in open(t + '/run.jsonl')]
            stats = json.loads(open(t + '/stats').read())
            assert len(samples) >= 10, len(samples)
            assert all(a['t'] < b['t'] for a, b in zip(samples, samples[1:])), 'time goes forward'
            for s in samples:
                assert [n['label'] for n in s['nodes']] == ['stdin', 'gzip', 'throttle', 'stdout']
                for n in s['nodes']:
                    total = n['busy'] + n['starved'] + n['blocked'] + n['pacing']
                    assert total <= 1.05, total
            last = samples[-1]['nodes']
            for node, final in zip(last, stats['stages']):
                assert node['bytes_in'] == final['bytes_in'] and node['bytes_out'] == final['bytes_out'], (node, final)
            # The shares, weighted by the interval, add up to the time each node spent.
            print('ok', len(samples) > 0)
            EOF
            """, timeout: 120)
        #expect(r.text == "ok True\n", "\(r.text)\(r.stderr)")
    }

    @Test func pictureIsWellFormedWithALanePerNodeAndRenders() throws {
        let r = try sh("""
            \(realText("8M"))
            "$SLUICE" --trace $T/run.svg gzip -p 1 + throttle 8M + cat < $T/text > /dev/null
            xmllint --noout $T/run.svg && echo well-formed
            grep -o 'class="lane"[^>]*>[a-z]*<' $T/run.svg | sed 's/.*>//; s/<//' | tr '\\n' ' '
            echo
            rsvg-convert -o $T/run.png $T/run.svg && [ -s $T/run.png ] && echo rendered
            """, timeout: 120)
        #expect(r.text == "well-formed\nstdin gzip throttle cat stdout \nrendered\n", "\(r.text)\(r.stderr)")
    }

    @Test func anUnwritableTraceFileIsAnError() throws {
        let r = try sh("echo x | \"$SLUICE\" --trace /nonexistent/dir/t.jsonl cat")
        #expect(r.status == 1)
        #expect(r.stderr == "sluice: --trace /nonexistent/dir/t.jsonl: No such file or directory\n")
    }
}
