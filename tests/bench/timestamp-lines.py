#!/usr/bin/env python3
"""Timestamp benchmark marker lines in an emulator's console stream.

Reads the console output from standard input (a pipe from QEMU or Bochs) as
it arrives and records the host's wall-clock time (time.monotonic) at which
each marker line is complete:

    ... BENCH-START NAME          (anywhere in the line: "[vm] " prefixes are fine)
    ... BENCH-END NAME N

For every START/END pair it prints

    RESULT NAME N SECONDS RATE    (RATE = N / (t_end - t_start), per second)

and a readable line after it.  Guest clocks are never used: under Bochs they
do not follow wall time.  The raw stream is copied to --log FILE (and to
stderr with --echo).  Stdlib only.

Exit status: 0 if at least one pair was timed (or --expect names all were),
1 otherwise.
"""
import argparse
import os
import re
import sys
import time

MARK = re.compile(rb"BENCH-(START|END) ([A-Za-z0-9_.-]+)(?: ([0-9]+))?")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", help="copy the raw stream to this file")
    ap.add_argument("--echo", action="store_true", help="copy the stream to stderr too")
    ap.add_argument("--label", default="", help="prefix for the readable lines")
    ap.add_argument("--expect", default="", help="comma-separated names that must be timed")
    args = ap.parse_args()

    log = open(args.log, "wb") if args.log else None
    fd = sys.stdin.fileno()
    t0 = time.monotonic()
    starts = {}
    results = []
    pending = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except InterruptedError:
            continue
        now = time.monotonic()
        if not chunk:
            break
        if log:
            log.write(chunk)
            log.flush()
        if args.echo:
            sys.stderr.buffer.write(chunk)
            sys.stderr.flush()
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            m = MARK.search(line)
            if not m:
                continue
            kind, name = m.group(1), m.group(2).decode()
            if kind == b"START":
                starts[name] = now
            elif name in starts and m.group(3):
                n = int(m.group(3))
                st = starts.pop(name)
                dt = now - st
                rate = n / dt if dt > 0 else float("inf")
                results.append(name)
                print(f"RESULT {name} {n} {dt:.6f} {rate:.1f}", flush=True)
                print(f"{args.label}{name}: {n} in {dt:.3f} s wall = {rate:,.0f}/s "
                      f"({1e6 * dt / n:.2f} us each; started at +{st - t0:.1f} s)",
                      flush=True)
    if log:
        log.close()
    want = [w for w in args.expect.split(",") if w]
    missing = [w for w in want if w not in results]
    for w in missing:
        print(f"{args.label}{w}: no BENCH-START/BENCH-END pair seen", flush=True)
    if missing or not results:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
