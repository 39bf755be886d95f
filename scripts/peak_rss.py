"""Runs a command and writes its peak resident memory to a file: the largest resident set of the command and of the
processes it waited for (getrusage RUSAGE_CHILDREN, ru_maxrss), in bytes. Standard streams pass through; the exit
status is the command's.

    python scripts/peak_rss.py OUT_FILE -- command [args...]
"""
import resource
import subprocess
import sys


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit("usage: peak_rss.py OUT_FILE -- command [args...]")
    status = subprocess.call(sys.argv[3:])
    with open(sys.argv[1], "w") as f:
        f.write(f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}\n")   # Linux: KiB
    sys.exit(status)


if __name__ == "__main__":
    main()
