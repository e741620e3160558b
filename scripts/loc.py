#!/usr/bin/env python3
"""make loc: non-blank, non-comment lines of C and assembly (issue 14's
measure), for the ring-0 image and for the per-VM monitor (vmm/).

A line counts when anything but whitespace is left after /* */ and //
comments are removed (string and character literals are respected).  The
ring-0 image is what the Makefile's KSRC_C/KSRC_S link into nethv.elf (no
vmm/: tests/image/ring0-symbols.sh), plus the headers under include/nethv and arch/x86_64/include; the
monitor is vmm/ (its .c and .h).  Usage: loc.py [--check MAX_RING0]."""
import glob, os, sys

def code_lines(path):
    n = 0
    in_block = False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            out = []
            i = 0
            quote = None
            while i < len(line):
                c = line[i]
                if in_block:
                    if line.startswith("*/", i):
                        in_block = False
                        i += 2
                    else:
                        i += 1
                    continue
                if quote:
                    out.append(c)
                    if c == "\\":
                        out.append(line[i + 1:i + 2])
                        i += 2
                        continue
                    if c == quote:
                        quote = None
                    i += 1
                    continue
                if line.startswith("/*", i):
                    in_block = True
                    i += 2
                    continue
                if line.startswith("//", i):
                    break
                if c in "\"'":
                    quote = c
                out.append(c)
                i += 1
            if "".join(out).strip():
                n += 1
    return n

def total(patterns, exclude=()):
    files = sorted({f for p in patterns for f in glob.glob(p)} - {f for p in exclude for f in glob.glob(p)})
    return sum(code_lines(f) for f in files), len(files)

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
os.chdir(root)
ring0 = ["boot/*.c", "boot/*.S", "arch/x86_64/*.c", "arch/x86_64/*.S", "kernel/*.c",
         "drivers/net/*.c", "drivers/net/*.h", "include/nethv/*.h", "arch/x86_64/include/arch/*.h"]
monitor = ["vmm/*.c", "vmm/*.h"]
r, rf = total(ring0)
rh, _ = total([p for p in ring0 if p.endswith(".h")])
m, mf = total(monitor)
print(f"ring 0 (nethv.elf): {r} lines in {rf} files ({r - rh} in .c/.S, {rh} in headers)")
print(f"monitor (vmm/, at CPL 3):  {m} lines in {mf} files")
print("goal (issue 14): ring 0 at most 15000")
if len(sys.argv) == 3 and sys.argv[1] == "--check":
    if r > int(sys.argv[2]):
        print(f"FAIL: ring 0 has {r} lines, the goal is at most {sys.argv[2]}")
        sys.exit(1)
