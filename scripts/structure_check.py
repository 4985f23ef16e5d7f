#!/usr/bin/env python3
"""Structure rules of DESIGN.md that a machine can check (issue 15):
  - no function in libvmdk/ or cli/ is longer than 80 lines (from its opening line to its
    closing brace);
  - no include cycle between folders (folder A includes from B and B from A, directly or not;
    each extent/<kind>/ and ops/<verb>/ counts as a folder of its own);
  - no file under libvmdk/src/ops/ includes a header from extent/<kind>/ or format/;
  - no code outside libvmdk/src/extent/ names a kind by its name string (details().format ==).
Prints every breach and exits 1 when there is one. Usage: structure_check.py [REPO_ROOT]"""
import os
import re
import sys

MAX_LINES = 80
ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
SOURCE_DIRS = ["libvmdk", "cli"]
CONTROL = re.compile(r"\b(if|for|while|switch|catch|return|sizeof|decltype|alignof|noexcept)\s*$")
NON_FUNCTION = re.compile(r"\b(namespace|class|struct|union|enum)\b")


def sources():
    for top in SOURCE_DIRS:
        for folder, _, names in os.walk(os.path.join(ROOT, top)):
            for name in sorted(names):
                if name.endswith((".cpp", ".hpp", ".h")):
                    yield os.path.join(folder, name)


def strip(text, keep_strings=False):
    """Blanks comments (and strings and character literals unless keep_strings), keeping line
    breaks."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i)); i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j])); i = j
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i) + len(m.group(1)) + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end])); i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1] if keep_strings else " " * (j + 1 - i)); i = j + 1
        else:
            out.append(c); i += 1
    return "".join(out)


def long_functions(path):
    """(name, first line, lines) of each outermost function body longer than MAX_LINES."""
    text = strip(open(path, encoding="utf-8").read())
    found, stack, head_start = [], [], 0
    for i, c in enumerate(text):
        if c == "{":
            head = text[head_start:i]
            inside_function = any(kind == "function" for kind, _, _ in stack)
            is_function = (not inside_function and ")" in head and not NON_FUNCTION.search(head.split("(")[0])
                           and not CONTROL.search(head.split("(")[0].strip()) and "=" not in head.split("(")[0])
            stack.append(("function" if is_function else "block", i, head))
            head_start = i + 1
        elif c == "}":
            if stack:
                kind, start, head = stack.pop()
                if kind == "function":
                    first = text.count("\n", 0, start - len(head) + len(head) - len(head.lstrip()))
                    lines = text.count("\n", 0, i) - first + 1
                    if lines > MAX_LINES:
                        name = re.findall(r"([~\w:]+)\s*\(", head)
                        found.append((name[0] if name else "?", first + 1, lines))
            head_start = i + 1
        elif c == ";":
            head_start = i + 1
    return found


def folder_of(path):
    rel = os.path.relpath(path, ROOT)
    parts = rel.split(os.sep)
    if parts[0] == "libvmdk" and parts[1] == "src":
        # extent/<kind>/ and ops/<verb>/ are folders of their own: a cycle between two verbs
        # (check and repair) is as much a breach as one between two layers.
        nested = parts[2] in ("extent", "ops") and len(parts) >= 5
        return "/".join(parts[2:4]) if nested else parts[2]
    if parts[0] == "libvmdk":
        return "include"
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0]


def include_graph():
    edges = {}
    for path in sources():
        here = folder_of(path)
        for line in open(path, encoding="utf-8"):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if not m:
                continue
            target = os.path.join(ROOT, "libvmdk", "src", m.group(1))
            if not os.path.exists(target):
                continue
            there = folder_of(target)
            if there != here:
                edges.setdefault(here, {}).setdefault(there, os.path.relpath(path, ROOT))
    return edges


def cycles(edges):
    found = set()
    def reach(start, node, seen):
        for nxt in edges.get(node, {}):
            if nxt == start:
                return True
            if nxt not in seen:
                seen.add(nxt)
                if reach(start, nxt, seen):
                    return True
        return False
    for folder in edges:
        for nxt in edges[folder]:
            if reach(folder, nxt, {nxt}) if nxt != folder else False:
                found.add(tuple(sorted((folder, nxt))))
    return sorted(found)


def main():
    breaches = []
    for path in sources():
        for name, line, count in long_functions(path):
            breaches.append(f"{os.path.relpath(path, ROOT)}:{line}: function {name} is {count} lines (at most {MAX_LINES})")
    edges = include_graph()
    for a, b in cycles(edges):
        breaches.append(f"include cycle between {a} and {b}: {edges[a].get(b, '(through others)')} and "
                        f"{edges[b].get(a, '(through others)')}")
    ops = os.path.join(ROOT, "libvmdk", "src", "ops")
    for path in sources():
        if not path.startswith(ops + os.sep):
            continue
        for number, line in enumerate(open(path, encoding="utf-8"), 1):
            m = re.match(r'\s*#\s*include\s+"((extent/[^/"]+/|format/)[^"]+)"', line)
            if m:
                breaches.append(f"{os.path.relpath(path, ROOT)}:{number}: ops includes {m.group(1)}")
    extent = os.path.join(ROOT, "libvmdk", "src", "extent")
    for path in sources():
        if path.startswith(extent + os.sep):
            continue
        text = strip(open(path, encoding="utf-8").read(), keep_strings=True)
        for number, line in enumerate(text.split("\n"), 1):
            if re.search(r"\.format\s*[!=]=|[!=]=\s*\"(flat|zero|sparse|stream|cowd|sesparse)\"", line):
                breaches.append(f"{os.path.relpath(path, ROOT)}:{number}: compares a kind's name")
    for breach in breaches:
        print(breach)
    print(f"structure_check: {len(breaches)} breach(es)", file=sys.stderr)
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
