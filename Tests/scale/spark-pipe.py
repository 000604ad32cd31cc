"""PySpark in local mode with sluice as a pipe stage, for `make test-scale`.

    python spark-pipe.py SLUICE DIR_OF_GZ OUT_DIR

Writes into OUT_DIR: grep.txt (the lines of `sc.textFile(DIR).pipe("SLUICE grep -F
ERROR", env={"LC_ALL": "C"}, checkCode=True)`), partitions.txt (lines per partition),
failing.txt (what checkCode=True made of a command that fails), head.txt and
drain-head.txt (one line per partition through `head -n 1`, without and with --drain).
Markers on stderr (`== PHASE`) separate what the Python workers print there, so the
caller can tell which phase a broken-pipe traceback came from.
"""
import sys
from pyspark import SparkConf, SparkContext


def phase(name):
    sys.stderr.write("== %s\n" % name)
    sys.stderr.flush()


def main():
    sluice, directory, out = sys.argv[1:4]
    # No progress bar: it would run into the phase markers on stderr.
    conf = SparkConf().set("spark.ui.showConsoleProgress", "false")
    sc = SparkContext("local[2]", "sluice-test-scale", conf=conf)
    sc.setLogLevel("ERROR")
    env = {"LC_ALL": "C"}
    rdd = sc.textFile(directory)

    phase("grep")
    piped = rdd.pipe(sluice + " grep -F ERROR", env=env, checkCode=True)
    with open(out + "/grep.txt", "w") as f:
        f.writelines(line + "\n" for line in piped.collect())
    with open(out + "/partitions.txt", "w") as f:
        f.writelines("%d\n" % n for n in piped.glom().map(len).collect())

    phase("failing")
    try:
        rdd.pipe(sluice + " grep --no-such-option", env=env, checkCode=True).collect()
        result = "no error"
    except Exception as e:  # Py4J wraps the worker's error
        result = "exited with 2" if "exited with error code 2" in str(e) else "other error: " + str(e)[:300]
    with open(out + "/failing.txt", "w") as f:
        f.write(result + "\n")

    for name, command in [("head", "head -n 1"), ("drain-head", "--drain head -n 1")]:
        phase(name)
        lines = rdd.pipe(sluice + " " + command, env=env, checkCode=True).collect()
        with open("%s/%s.txt" % (out, name), "w") as f:
            f.writelines(line + "\n" for line in lines)
    phase("end")
    sc.stop()


if __name__ == "__main__":
    main()
