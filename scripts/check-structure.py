#!/usr/bin/env python3
"""Structure check of the edge and the demo (issue #12), run by scripts/test.sh.

1. No import circle among the modules of `edge/src` and `demo/src`. A module is a file
   (`a.rs` or `a/mod.rs` is `a`, `a/b.rs` is `a::b`; `lib.rs` is the crate root). An arrow
   goes from a module to the deepest existing module named by a path in its code:
   `crate::a::b::C` anywhere outside comments and strings, `super::…`, and `use` of `self::…`
   or of a child module. `mod x;` declarations are not arrows (a parent owning a child is not
   an import), but every path is: a child that imports its parent while the parent imports
   the child is a circle.
2. The edge's rooms read top-down: an arrow between two rooms (the first segment after
   `crate::`) goes only to a room listed after it in EDGE_ROOMS, so nothing below imports
   anything above (docs/architecture.md draws the same map).
3. docs/api.md lists every row of `edge/src/routes/table.rs` (`| METHOD | `path` |`), so the
   API's index and its documentation stay in step.
4. No function in `edge/src` longer than MAX_FN_LINES lines (from its `fn` line to its closing
   brace), except the ones listed in TABLE_CODE with the reason.

Exit 1 with the offending circle or function; 0 and a one-line summary otherwise.
Usage: python3 scripts/check-structure.py [--graph]   (--graph prints the arrows)
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = {"edge": ROOT / "edge" / "src", "demo": ROOT / "demo" / "src"}
# Binary roots are separate crates (they import the library by its crate name).
SKIP_FILES = {"main.rs"}
MAX_FN_LINES = 80
# The edge's rooms, top to bottom. A room may import only rooms after it; `store` and
# `gateways` share a level (neither imports the other).
EDGE_ROOMS = [["routes"], ["flows"], ["views"], ["store", "gateways"], ["config"], ["http"], ["platform"]]
# Functions allowed to be longer, with why: table or generated code only.
TABLE_CODE: dict[str, str] = {
    # The one UPDATE that writes every mutable column of a payment: one bind per column.
    "edge/src/store/payments.rs::transition": "column table of the payment UPDATE",
}


def strip_code(text: str) -> str:
    """The text with comments, strings and char literals blanked (newlines kept), so braces
    and paths are only those of the code."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "/":
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c == "/" and nxt == "*":
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "rb" and re.match(r'(?:br|r)#*"', text[i:i + 40]) and not (
            i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")
        ):
            m = re.match(r'(?:br|r)(#*)"', text[i:])
            hashes = m.group(1)
            end = text.find('"' + hashes, i + m.end())
            end = n if end < 0 else end + 1 + len(hashes)
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif c == '"' or (c == "b" and nxt == '"' and not (i > 0 and text[i - 1].isalnum())):
            j = i + (2 if c == "b" else 1)
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(re.sub(r"[^\n]", " ", text[i:j + 1]))
            i = j + 1
        elif c == "'":
            m = re.match(r"'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'\n])'", text[i:])
            if m:
                out.append(" " * m.end())
                i += m.end()
            else:  # a lifetime
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def modules_of(src: Path) -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for path in sorted(src.rglob("*.rs")):
        rel = path.relative_to(src)
        if len(rel.parts) == 1 and rel.name in SKIP_FILES or "bin" in rel.parts[:-1]:
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "mod":
            parts = parts[:-1]
        if parts == ["lib"]:
            parts = []
        mods["::".join(["crate", *parts])] = path
    return mods


def resolve(mods: dict[str, Path], segments: list[str]) -> str | None:
    """The deepest existing module that `segments` (absolute, starting at `crate`) names."""
    for k in range(len(segments), 0, -1):
        name = "::".join(segments[:k])
        if name in mods:
            return name
    return None


def use_trees(code: str) -> list[str]:
    """Every path of every `use` statement, braces expanded (`use a::{b, c::d}` → a::b, a::c::d)."""
    paths = []
    for m in re.finditer(r"\buse\s+([^;]+);", code):
        paths.extend(expand(re.sub(r"\s+", "", m.group(1))))
    return paths


def expand(tree: str) -> list[str]:
    brace = tree.find("{")
    if brace < 0:
        return [re.sub(r"as\w+$", "", tree)] if tree else []
    prefix, inner = tree[:brace], tree[brace + 1: tree.rfind("}")]
    items, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "," and depth == 0:
            items.append(inner[start:i])
            start = i + 1
    items.append(inner[start:])
    out = []
    for item in items:
        for p in expand(item):
            out.append(prefix + p if p not in ("self", "") else prefix.rstrip(":"))
    return [p for p in out if p]


def arrows_of(mods: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        code = strip_code(path.read_text(encoding="utf-8"))
        here = mod.split("::")
        targets: list[list[str]] = []
        for m in re.finditer(r"(?<![\w:])crate((?:::\w+)+)", code):
            targets.append(["crate", *m.group(1).strip(":").split("::")])
        for m in re.finditer(r"(?<![\w:])((?:super::)+)((?:\w+::)*\w+)", code):
            ups = m.group(1).count("super")
            base = here[: max(1, len(here) - ups)]
            targets.append([*base, *m.group(2).split("::")])
        # Modules brought in by `use` are also reached through their name (`use super::a;`
        # then `a::b::f()` reaches `a::b`).
        aliases: dict[str, list[str]] = {}
        for p in use_trees(code):
            segs = [s for s in p.split("::") if s]
            if not segs:
                continue
            if segs[0] == "crate":
                full = segs
            elif segs[0] == "super":
                ups = 0
                while ups < len(segs) and segs[ups] == "super":
                    ups += 1
                full = [*here[: max(1, len(here) - ups)], *segs[ups:]]
            elif segs[0] == "self":
                full = [*here, *segs[1:]]
            elif "::".join([*here, segs[0]]) in mods:
                full = [*here, *segs]
            else:
                continue
            targets.append(full)
            if "::".join(full) in mods and len(full) > 1:
                aliases[full[-1]] = full
        for alias, full in aliases.items():
            for m in re.finditer(rf"(?<![\w:]){alias}((?:::\w+)+)", code):
                targets.append([*full, *m.group(1).strip(":").split("::")])
        for t in targets:
            dest = resolve(mods, t)
            if dest and dest != mod:
                graph[mod].add(dest)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dest in sorted(graph[node]):
            if state.get(dest) == 1:
                return stack[stack.index(dest):] + [dest]
            if dest not in state:
                found = visit(dest)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def long_functions(src: Path) -> list[tuple[str, int]]:
    found = []
    for path in sorted(src.rglob("*.rs")):
        code = strip_code(path.read_text(encoding="utf-8"))
        rel = path.relative_to(ROOT).as_posix()
        for m in re.finditer(r"\bfn\s+(\w+)", code):
            # The body starts at the first `{` after the signature (a `;` first: a declaration).
            i = m.end()
            depth_paren = 0
            while i < len(code):
                ch = code[i]
                if ch in "([":
                    depth_paren += 1
                elif ch in ")]":
                    depth_paren -= 1
                elif ch == ";" and depth_paren == 0:
                    break
                elif ch == "{" and depth_paren == 0:
                    break
                i += 1
            if i >= len(code) or code[i] != "{":
                continue
            depth, j = 0, i
            while j < len(code):
                depth += code[j] == "{"
                depth -= code[j] == "}"
                if depth == 0:
                    break
                j += 1
            lines = code.count("\n", m.start(), j) + 1
            key = f"{rel}::{m.group(1)}"
            if lines > MAX_FN_LINES and key not in TABLE_CODE:
                found.append((key, lines))
    return found


def room_level(mod: str) -> int | None:
    room = mod.split("::")[1] if mod.count("::") >= 1 else None
    for level, rooms in enumerate(EDGE_ROOMS):
        if room in rooms:
            return level
    return None


def upward_arrows(graph: dict[str, set[str]]) -> list[str]:
    """Arrows from a room to a room at its own level or above (other than within one room)."""
    bad = []
    for mod, dests in sorted(graph.items()):
        for dest in sorted(dests):
            a, b = room_level(mod), room_level(dest)
            if a is None or b is None or mod.split("::")[1] == dest.split("::")[1]:
                continue
            if b <= a:
                bad.append(f"{mod} -> {dest}")
    return bad


def undocumented_routes() -> list[str]:
    table = (ROOT / "edge" / "src" / "routes" / "table.rs").read_text(encoding="utf-8")
    docs = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    rows = re.findall(r"route\((Get|Post|Put|Delete|Patch),\s*\"([^\"]+)\"", table)
    if not rows:
        return ["no route rows found in edge/src/routes/table.rs"]
    return [f"{m.upper()} {p}" for m, p in rows if f"| {m.upper()} | `{p}` |" not in docs]


def main() -> int:
    show = "--graph" in sys.argv
    failed = False
    total_mods = 0
    for crate, src in CRATES.items():
        mods = modules_of(src)
        total_mods += len(mods)
        graph = arrows_of(mods)
        if show:
            for mod in sorted(graph):
                for dest in sorted(graph[mod]):
                    print(f"{crate}: {mod} -> {dest}")
        cycle = find_cycle(graph)
        if cycle:
            failed = True
            print(f"import circle in {crate}/src: " + " -> ".join(cycle), file=sys.stderr)
        if crate == "edge":
            for arrow in upward_arrows(graph):
                failed = True
                print(f"edge room imports a room above it: {arrow}", file=sys.stderr)
    for row in undocumented_routes():
        failed = True
        print(f"route missing from docs/api.md's index: {row}", file=sys.stderr)
    for key, lines in long_functions(CRATES["edge"]):
        failed = True
        print(f"function longer than {MAX_FN_LINES} lines: {key} ({lines} lines)", file=sys.stderr)
    if failed:
        return 1
    print(f"structure: no import circle in edge/src or demo/src ({total_mods} modules), "
          f"edge rooms top-down ({' > '.join('/'.join(r) for r in EDGE_ROOMS)}), every route in docs/api.md, no edge function over {MAX_FN_LINES} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
