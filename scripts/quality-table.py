#!/usr/bin/env python3
"""The Markdown table of docs/QUALITY.md from `scripts/quality.sh`'s results.

    scripts/quality-table.py DIR SUITE...

DIR holds, for each suite, SUITE.a.json and SUITE.b.json (`sizewise eval --json` of the
first and second model) and SUITE.cmp.json (`sizewise eval compare A B --json`).
"""
import json
import os
import sys


def cell(v):
    lo, hi = v["ci95"]
    return f"{v['score']:.3f} [{lo:.3f}, {hi:.3f}]"


def row(d, s):
    a = json.load(open(os.path.join(d, f"{s}.a.json")))
    b = json.load(open(os.path.join(d, f"{s}.b.json")))
    c = json.load(open(os.path.join(d, f"{s}.cmp.json")))
    lo, hi = c["ci95"]
    # compare gives A - B; the table shows the second model minus the first.
    diff = f"{-c['difference']:+.3f} [{-hi:+.3f}, {-lo:+.3f}]"
    if not c["significant"]:
        diff += ", within noise"
    scoring = a["scoring"] + (" (batch-calibrated)" if a.get("calibration") == "batch" else "")
    extra = [
        f"{name}: {v['items_over_context']} items over its {v['context_tokens']}-token context"
        for name, v in (("SmolLM2", a), ("Gemma", b))
        if v.get("items_over_context")
    ]
    note = f" ({'; '.join(extra)})" if extra else ""
    return (f"| {s} | {a['n']} | {scoring} | {a['metric']} | {cell(a)} | {cell(b)}{note} "
            f"| {diff} | {a['seconds']:.0f} / {b['seconds']:.0f} |")


def main():
    d, suites = sys.argv[1], sys.argv[2:]
    print("| suite | items | scoring | metric | SmolLM2-135M-Instruct Q4_1 | Gemma 3 270M Q4_K_M "
          "| difference (Gemma - SmolLM2), 95% CI | seconds (SmolLM2 / Gemma) |")
    print("|---|---|---|---|---|---|---|---|")
    for s in suites:
        print(row(d, s))


if __name__ == "__main__":
    main()
