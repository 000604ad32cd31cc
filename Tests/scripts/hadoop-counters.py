#!/usr/bin/env python3
"""Checks what `sluice --stats=hadoop,json` wrote to stderr (read from stdin, or from the
task log of a streaming-task.py report given as an argument): the increments of every
`reporter:counter:sluice,NODE.FIELD,AMOUNT` line must sum exactly to the totals of the
`--stats=json` object, node by node, and the counters must be exactly the documented
ones. Prints `ok N counters, M lines` and exits 0, or names each mismatch and exits 1.
"""
import json, sys
from decimal import Decimal

FIELDS = ["bytes_in", "bytes_out", "busy_ms", "starved_ms", "blocked_ms"]
BUFFER_FIELDS = ["dropped_records", "dropped_bytes", "spilled_bytes"]


def expected(stats):
    totals = {}
    for node in stats["stages"]:
        label = node["label"].replace(",", "_")  # the JSON's label, as --stats shows it
        ms = lambda key: int(node[key] * 1000)  # exact: the JSON's own microseconds
        values = [node["bytes_in"], node["bytes_out"], ms("busy_s"), ms("blocked_on_input_s"),
                  ms("blocked_on_output_s")]
        fields = list(FIELDS)
        if node["hwm"] is not None:
            fields += BUFFER_FIELDS
            values += [node["dropped_records"], node["dropped_bytes"], node["spilled_bytes"] or 0]
        totals.update({"%s.%s" % (label, f): v for f, v in zip(fields, values)})
    return totals


def main():
    if len(sys.argv) > 1:
        lines = json.load(open(sys.argv[1]))["log"]
        counters = json.load(open(sys.argv[1]))["counters"].get("sluice", {})
        count = None
    else:
        lines = sys.stdin.read().splitlines()
        counters, count = {}, 0
        for line in lines:
            if line.startswith("reporter:counter:"):
                group, name, amount = line[len("reporter:counter:"):].split(",")
                assert group == "sluice", line
                counters[name] = counters.get(name, 0) + int(amount)
                count += 1
    objects = [json.loads(l, parse_float=Decimal) for l in lines if l.startswith("{")]
    if len(objects) != 1:
        print("expected one --stats=json object, found %d" % len(objects))
        return 1
    want = expected(objects[0])
    bad = ["%s: counters sum to %s, json says %s" % (k, counters.get(k), want.get(k))
           for k in sorted(set(want) | set(counters)) if counters.get(k) != want.get(k)]
    for line in bad:
        print(line)
    if not bad:
        print("ok %d counters, %s lines" % (len(want), "?" if count is None else count))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
