#!/usr/bin/env python3
"""Runs the workspace's test binaries two at a time (scripts/test.sh).

`cargo test` runs its test binaries one after another. Most of kessai's are end-to-end tests that
wait on workerd, the sandboxes' timeouts or Chromium, so one binary leaves much of the 2-core
machine idle. This runs two lanes:

- the browser lane takes the Chromium binaries (`*browser*`) one at a time, then helps with the rest;
- the other lane takes every other binary, longest first.

Two Chromium binaries never run at once (four browser sessions on two cores made page loads time
out). Each binary starts its own stack on free ports, as it does under `cargo test`, and runs from
its package's directory with `--test-threads=2`.

Input: `cargo test --no-run --message-format=json` on stdin. Output: each binary's whole output
as one block, headed as cargo heads it (`Running …`), so `test result:` lines can be summed; then
one line per binary with its time. Exits 1 if any binary failed or ran out of time.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

# Seconds a binary may take before it is stopped and counted as failed (the longest, soak_edge,
# takes 75-90 s; a hang must not eat CI's whole limit).
LIMIT_S = 900

# Rough running times in seconds (in place, 2026-12-07), to start the longest first. A binary not
# listed counts as short.
EXPECTED_S = {
    "soak_edge": 75, "tds_browser": 36, "stored_cards_browser": 33, "time_edge": 31,
    "amazon_browser": 31, "tds_edge": 27, "amazon_edge": 24, "console_browser": 24,
    "console_subscriptions_browser": 22, "subscriptions_browser": 21, "browser": 20,
    "edge": 16, "fraud_browser": 16,
}


def artifacts(stream):
    for line in stream:
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if msg.get("reason") != "compiler-artifact" or not msg.get("profile", {}).get("test"):
            continue
        exe = msg.get("executable")
        if exe:
            yield {
                "name": msg["target"]["name"],
                "src": msg["target"]["src_path"],
                "exe": exe,
                "cwd": os.path.dirname(msg["manifest_path"]),
            }


def is_browser(binary):
    return "browser" in binary["name"]


def run(binary, out):
    started = time.monotonic()
    proc = subprocess.Popen(
        [binary["exe"], "--test-threads=2"],
        cwd=binary["cwd"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=LIMIT_S)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        output += f"\n{binary['name']}: stopped after {LIMIT_S} s\n".encode()
        code = -1
    elapsed = time.monotonic() - started
    rel = os.path.relpath(binary["src"], binary["cwd"])
    with out["lock"]:
        sys.stdout.write(f"     Running {rel} ({binary['exe']})\n")
        sys.stdout.write(output.decode("utf-8", "replace"))
        sys.stdout.write("\n")
        sys.stdout.flush()
        out["times"].append((elapsed, binary["name"], code))
    return code


def lane(own, shared, out):
    while True:
        with out["lock"]:
            if own:
                binary = own.pop(0)
            elif shared:
                binary = shared.pop(0)
            else:
                return
        if run(binary, out) != 0:
            with out["lock"]:
                out["failed"].append(binary["name"])


def main():
    binaries = list(artifacts(sys.stdin))
    if not binaries:
        print("run-test-binaries: no test binaries in cargo's output", file=sys.stderr)
        return 1
    by_time = sorted(binaries, key=lambda b: -EXPECTED_S.get(b["name"], 5))
    browser = [b for b in by_time if is_browser(b)]
    others = [b for b in by_time if not is_browser(b)]
    out = {"lock": threading.Lock(), "times": [], "failed": []}
    started = time.monotonic()
    lanes = [
        threading.Thread(target=lane, args=(browser, others, out)),
        threading.Thread(target=lane, args=([], others, out)),
    ]
    for t in lanes:
        t.start()
    for t in lanes:
        t.join()
    print(f"== test binaries: {len(binaries)} in {time.monotonic() - started:.0f} s, two at a time")
    for elapsed, name, code in sorted(out["times"], reverse=True):
        print(f"  {elapsed:7.1f} s  {name}{'' if code == 0 else '  FAILED'}")
    if out["failed"]:
        print("failed binaries: " + ", ".join(out["failed"]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
