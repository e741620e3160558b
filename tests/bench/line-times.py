#!/usr/bin/env python3
"""Run an emulator and time the console lines it prints, by the host's clock.

    line-times.py [--log RAW] [--lines OUT] [--mark NAME=REGEX]... [--until NAME]
                  [--timeout S] [--stdin TEXT] -- COMMAND [ARG]...

Starts COMMAND (in its own process group, stdin from --stdin TEXT or
/dev/null) with time.monotonic() = t0 taken right before the spawn, reads its
standard output as it arrives and stamps every complete line with the time it
arrived, relative to t0.  Guest clocks are never used: under Bochs they do not
follow wall time, and inside a nested guest they are not the host's.

Marks are matched in the order given: mark k is the first line matching its
REGEX (Python `re.search`, on the line without CR) that arrives after the line
of mark k-1, so "the L2 kernel's init line" can follow "the L1 kernel's init
line" that reads the same.  A mark written NAME?=REGEX is optional: when a
later mark matches first, it is skipped (e.g. a kernel banner that a quiet
console never prints).  For each mark found it prints

    MARK NAME SECONDS LINE-NUMBER

and for each one never seen `MARK NAME - -`.  With --until NAME, COMMAND's
process group is sent SIGTERM (then SIGKILL) once that mark has been seen
(the guest's power-off is not part of any figure, no need to wait for it).
--timeout S ends it the same way after S seconds.  The raw stream is copied to
--log, the stamped lines ("%9.3f TEXT") to --lines.  Finally it prints
`STATUS RC` (COMMAND's exit status, "timeout", "stopped" or "killed": this
script got SIGTERM/SIGINT and ended COMMAND too).  Stdlib only.

Exit status: 0 if every mark not optional was seen, 1 otherwise.
"""
import argparse
import os
import re
import select
import signal
import subprocess
import sys
import time


def stop(proc):
    """End COMMAND's process group (ours: started with start_new_session)."""
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", help="copy the raw stream to this file")
    ap.add_argument("--lines", help="write the time-stamped lines to this file")
    ap.add_argument("--mark", action="append", default=[], help="NAME=REGEX, in order")
    ap.add_argument("--until", help="stop COMMAND once this mark is seen")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds (default 600)")
    ap.add_argument("--stdin", help="text for COMMAND's standard input")
    ap.add_argument("command", nargs="+")
    args = ap.parse_args()

    marks = []          # (name, regex, optional)
    for m in args.mark:
        name, sep, rx = m.partition("=")
        optional = name.endswith("?")
        name = name.rstrip("?")
        if not sep or not name:
            ap.error(f"--mark wants NAME=REGEX, got {m!r}")
        marks.append((name, re.compile(rx.encode()), optional))
    if args.until and args.until not in [m[0] for m in marks]:
        ap.error(f"--until {args.until}: no such mark")

    log = open(args.log, "wb") if args.log else None
    out = open(args.lines, "w", encoding="utf-8", errors="replace") if args.lines else None
    stdin = subprocess.PIPE if args.stdin is not None else subprocess.DEVNULL
    t0 = time.monotonic()
    proc = subprocess.Popen(args.command, stdin=stdin, stdout=subprocess.PIPE,
                            start_new_session=True)
    if args.stdin is not None:
        proc.stdin.write(args.stdin.encode())
        proc.stdin.close()
    def killed(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, killed)
    fd = proc.stdout.fileno()
    seen = {}
    try:
        status = scan(args, marks, fd, t0, log, out, seen)
    except KeyboardInterrupt:
        status = "killed"
    if status is None:
        status = str(proc.wait())
    else:
        stop(proc)
    for name, _, _ in marks:
        if name in seen:
            print(f"MARK {name} {seen[name][0]:.3f} {seen[name][1]}")
        else:
            print(f"MARK {name} - -")
    print(f"STATUS {status}", flush=True)
    if log:
        log.close()
    if out:
        out.close()
    return 0 if all(m[0] in seen or m[2] for m in marks) else 1


def scan(args, marks, fd, t0, log, out, seen):
    """Read COMMAND's output until EOF (returns None), the --until mark or the
    timeout (returns "stopped" or "timeout"), filling seen[NAME]."""
    k = 0               # next mark to look for
    nline = 0
    pending = b""
    while True:
        left = args.timeout - (time.monotonic() - t0)
        if left <= 0:
            return "timeout"
        ready, _, _ = select.select([fd], [], [], min(left, 1.0))
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        now = time.monotonic() - t0
        if not chunk:
            return None
        if log:
            log.write(chunk)
            log.flush()
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            line = line.replace(b"\r", b"")
            nline += 1
            if out:
                out.write(f"{now:9.3f} {line.decode('utf-8', 'replace')}\n")
            for j in range(k, len(marks)):
                if marks[j][1].search(line):
                    seen[marks[j][0]] = (now, nline)
                    k = j + 1
                    break
                if not marks[j][2]:
                    break
        if out:
            out.flush()
        if args.until and args.until in seen:
            return "stopped"


if __name__ == "__main__":
    sys.exit(main())
