#!/usr/bin/env python3
"""make loc: non-blank, non-comment lines of C and assembly (issue 14's
measure), for the ring-0 image, the per-VM monitor (vmm/) and the
configuration parser (both programs at CPL 3).

A line counts when anything but whitespace is left after /* */ and //
comments are removed (string and character literals are respected).  The
ring-0 image is what the Makefile links into nethv.elf (`make ring0-sources`:
no vmm/, tests/image/ring0-symbols.sh; not nethv-test.elf's self-tests) plus
every project header those sources include; the monitor is vmm/ (its .c and
its own headers).  Usage: loc.py [--check MAX_RING0]."""
import glob, os, re, subprocess, sys

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
INC = ["include", "arch/x86_64/include"]

def closure(sources):
    """The project's headers that sources include, directly or not."""
    seen, todo = set(), list(sources)
    while todo:
        f = todo.pop()
        d = os.path.dirname(f)
        with open(f, encoding="utf-8", errors="replace") as fh:
            for m in re.finditer(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', fh.read(), re.M):
                for base in [d] + INC:
                    h = os.path.normpath(os.path.join(base, m.group(1)))
                    if os.path.isfile(h):
                        if h not in seen:
                            seen.add(h)
                            todo.append(h)
                        break
    return sorted(seen)

def count(files):
    return sum(code_lines(f) for f in files)

# what the Makefile links into nethv.elf (not nethv-test.elf's self-tests)
srcs = sorted(subprocess.run(["make", "-s", "--no-print-directory", "ring0-sources"], capture_output=True,
                             text=True, check=True).stdout.split())
hdrs = closure(srcs)
r_src, r_hdr = count(srcs), count(hdrs)
r = r_src + r_hdr
mon = sorted(glob.glob("vmm/*.c"))
m_src = count(mon)
m_hdr = count([h for h in closure(mon) if h.startswith("vmm/")])
m = m_src + m_hdr
print(f"ring 0 (nethv.elf): {r} lines: {r_src} in {len(srcs)} .c/.S files, {r_hdr} in the {len(hdrs)} headers they include")
print(f"monitor (vmm/, at CPL 3): {m} lines: {m_src} in {len(mon)} .c files, {m_hdr} in its own headers")
cfgp = ["user/cfg_main.c", "user/config.c"]
c = count(cfgp)
print(f"configuration parser (user/config.c, cfg_main.c, at CPL 3 with libfdt): {c} lines")
print("goal (issue 14): ring 0 at most 15000")
if len(sys.argv) == 3 and sys.argv[1] == "--check":
    if r > int(sys.argv[2]):
        print(f"FAIL: ring 0 has {r} lines, the goal is at most {sys.argv[2]}")
        sys.exit(1)
