#!/usr/bin/env python3
"""A map task as Hadoop Streaming runs one (PipeMapRed), for testing sluice as a mapper
where no Hadoop distribution can be installed.

    streaming-task.py [--task-timeout S] [--report FILE] INPUT -- COMMAND [ARG]...

What it does, as the streaming task runner does:
- starts COMMAND with no shell, stdin, stdout and stderr pipes, and the job's settings in
  its environment (mapreduce_task_id and friends, dots made underscores);
- writes each line of INPUT to COMMAND's stdin (TextInputFormat: the value only, the
  byte offset key is not sent), then closes it; a write that fails (EPIPE: the mapper
  stopped reading) fails the task, as Hadoop's "java.io.IOException: Broken pipe" does;
- reads stdout by lines, each an output record split at its first tab into key and
  value (no tab: the whole line is the key);
- reads stderr by lines: `reporter:counter:GROUP,COUNTER,AMOUNT` adds AMOUNT to the
  counter (a line that does not parse is logged and ignored; a name is cut to 64
  characters, and the 121st counter fails the task, as Hadoop's default limits
  mapreduce.job.counters.counter.name.max and mapreduce.job.counters.max do),
  `reporter:status:MESSAGE` sets the task's status; any other line goes to the task's
  log;
- fails the task when COMMAND exits non-zero (stream.non.zero.exit.is.failure), and
  kills it when it reports no progress (an input record written, an output record read,
  a status line) for --task-timeout seconds (mapreduce.task.timeout).

The report (JSON, to --report or stdout) has: ok, failure, exit_status, records,
counters {"GROUP": {"COUNTER": total}}, statuses [[seconds, message]...], log (other
stderr lines), longest_silence_s (the longest wait between progress events while the
task ran), and the output records are written to stdout as key TAB value lines unless
--report is given, in which case they go to --output.
"""
import argparse, json, os, subprocess, sys, threading, time

# Hadoop's defaults: mapreduce.job.counters.counter.name.max, mapreduce.job.counters.max.
MAX_COUNTER_NAME = 64
MAX_COUNTERS = 120


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--task-timeout", type=float, default=600.0)
    ap.add_argument("--report")
    ap.add_argument("--output")
    ap.add_argument("input")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    command = a.command[1:] if a.command[:1] == ["--"] else a.command

    env = dict(os.environ)
    for key, value in {"mapreduce.task.id": "task_local_0001_m_000000",
                       "mapreduce.task.attempt.id": "attempt_local_0001_m_000000_0",
                       "mapreduce.task.ismap": "true", "mapreduce.job.id": "job_local_0001",
                       "map.input.file": os.path.abspath(a.input)}.items():
        env[key.replace(".", "_")] = value
    start = time.monotonic()
    lock = threading.Lock()
    state = {"progress": [start], "failure": None, "records": 0}
    counters, statuses, log, records = {}, [], [], []

    def progress():
        with lock:
            state["progress"].append(time.monotonic())

    def fail(message):
        with lock:
            if state["failure"] is None:
                state["failure"] = message

    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)

    def write_input():
        try:
            with open(a.input, "rb") as f:
                for line in f:
                    proc.stdin.write(line if line.endswith(b"\n") else line + b"\n")
                    progress()
            proc.stdin.close()
        except BrokenPipeError:
            fail("java.io.IOException: Broken pipe (the mapper stopped reading its input)")
        except OSError as e:
            fail("java.io.IOException: %s" % e)

    def read_output():
        for line in proc.stdout:
            key, _, value = line.rstrip(b"\n").partition(b"\t")
            records.append((key, value))
            progress()

    def read_errors():
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if line.startswith("reporter:counter:"):
                parts = line[len("reporter:counter:"):].split(",")
                try:
                    group, name, amount = parts[0], parts[1], int(parts[2])
                    if len(parts) != 3:
                        raise ValueError
                except (IndexError, ValueError):
                    log.append("Cannot parse counter line: " + line)
                    continue
                name = name[:MAX_COUNTER_NAME]
                if name not in counters.get(group, {}) and sum(map(len, counters.values())) == MAX_COUNTERS:
                    fail("org.apache.hadoop.mapreduce.counters.LimitExceededException: "
                         "Too many counters: %d max=%d" % (MAX_COUNTERS + 1, MAX_COUNTERS))
                    continue
                counters.setdefault(group, {}).setdefault(name, 0)
                counters[group][name] += amount
            elif line.startswith("reporter:status:"):
                statuses.append([round(time.monotonic() - start, 3), line[len("reporter:status:"):]])
                progress()
            else:
                log.append(line)

    threads = [threading.Thread(target=t) for t in (write_input, read_output, read_errors)]
    for t in threads:
        t.start()
    while proc.poll() is None:
        with lock:
            silent = time.monotonic() - state["progress"][-1]
        if silent > a.task_timeout:
            fail("Task attempt failed to report status for %.0f seconds. Killing!" % silent)
            proc.kill()
        time.sleep(0.05)
    for t in threads:
        t.join()
    end = time.monotonic()
    marks = state["progress"] + [end]
    if proc.returncode != 0:
        fail("PipeMapRed.waitOutputThreads(): subprocess failed with code %d" % proc.returncode)
    report = {"ok": state["failure"] is None, "failure": state["failure"],
              "exit_status": proc.returncode, "records": len(records), "counters": counters,
              "statuses": statuses, "log": log,
              "longest_silence_s": round(max(b - a for a, b in zip(marks, marks[1:])), 3)}
    out = open(a.output, "wb") if a.output else sys.stdout.buffer
    for key, value in records:
        out.write(key + (b"\t" + value if value else b"") + b"\n")
    out.flush()
    text = json.dumps(report, indent=1) + "\n"
    if a.report:
        with open(a.report, "w") as f:
            f.write(text)
    else:
        sys.stderr.write(text)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
