#!/usr/bin/python3
# Exit 0 when the file system of the current folder reports holes (SEEK_DATA/SEEK_HOLE), 1 when it
# cannot: a 2 MiB file with one data block at 1 MiB must say so. Used by the hole tests to skip.
import os
import sys

fd = os.open("probe", os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 2 << 20)
os.pwrite(fd, b"x" * 4096, 1 << 20)
try:
    ok = os.lseek(fd, 0, os.SEEK_DATA) == 1 << 20 and os.lseek(fd, 1 << 20, os.SEEK_HOLE) < 2 << 20
except OSError:
    ok = False
os.close(fd)
os.unlink("probe")
sys.exit(0 if ok else 1)
