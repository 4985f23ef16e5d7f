#!/usr/bin/env python3
"""Runs one command and prints its peak RSS (KiB, from getrusage of the waited child) and its wall
time (seconds) as "rss_kib seconds exit_code". Standard output of the command is discarded, standard
error passed through: memory and time bounds of issue 16 are measured per command."""
import resource
import subprocess
import sys
import time


def main() -> int:
    start = time.monotonic()
    done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=False)
    elapsed = time.monotonic() - start
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"{rss} {elapsed:.3f} {done.returncode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
