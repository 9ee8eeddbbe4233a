#!/usr/bin/env python3
"""Structural and content checks for the three draft suites in this folder."""
import collections, datetime, itertools, json, os, re, sys
from fractions import Fraction as F

HERE = os.path.dirname(os.path.abspath(__file__))
errs = []


def chk(cond, msg):
    if not cond:
        errs.append(msg)


def load(name):
    rows = []
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            chk(line.endswith("\n") and line.strip(), f"{name}:{ln} blank/unterminated")
            rows.append(json.loads(line))
    return rows


# ---------------------------------------------------------------- sentiment
S = load("sentiment-pt-br.jsonl")
chk(len(S) == 240, "sentiment count")
chk([r["id"] for r in S] == [f"ptbr-{i:03d}" for i in range(1, 241)], "sentiment ids")
for r in S:
    chk(set(r) == {"id", "input", "target"}, f"keys {r['id']}")
    chk(isinstance(r["input"], str) and r["target"] in ("positivo", "negativo"), f"type {r['id']}")
    n = len(r["input"].split())
    chk(5 <= n <= 40, f"length {r['id']} {n}")
lab = collections.Counter(r["target"] for r in S)
chk(lab["positivo"] == 120 and lab["negativo"] == 120, "sentiment balance")
chk(len({r["input"].lower() for r in S}) == 240, "sentiment duplicate")
run = max(len(list(g)) for _, g in itertools.groupby(r["target"] for r in S))
tok = {r["id"]: set(re.findall(r"\w+", r["input"].lower())) for r in S}
sims = sorted(((len(tok[a] & tok[b]) / len(tok[a] | tok[b]), a, b)
               for a, b in itertools.combinations(tok, 2)), reverse=True)
chk(sims[0][0] < 0.5, f"near-duplicate sentiment pair {sims[0]}")
lens = [len(r["input"].split()) for r in S]
print(f"sentiment: {len(S)} {dict(lab)} longest same-label run={run} "
      f"words min/max/mean={min(lens)}/{max(lens)}/{sum(lens)/len(lens):.1f} "
      f"max word-Jaccard={sims[0][0]:.2f}")

# ---------------------------------------------------------------- extraction
MEN = ["January", "February", "March", "April", "May", "June", "July", "August",
       "September", "October", "November", "December"]
MPT = ["janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto",
       "setembro", "outubro", "novembro", "dezembro"]
E = load("extraction-json.jsonl")
chk(len(E) == 100, "extraction count")
chk([r["id"] for r in E] == [f"ext-{i:03d}" for i in range(1, 101)], "extraction ids")
with_null = lang_pt = 0
for r in E:
    rid, inp, t = r["id"], r["input"], r["target"]
    chk(set(r) == {"id", "input", "target"}, f"keys {rid}")
    chk(isinstance(t, dict) and set(t) == {"name", "company", "date", "amount"}, f"target keys {rid}")
    k = sum(v is None for v in t.values())
    chk(k <= 2, f"more than two nulls {rid}")
    with_null += k > 0
    pt = "R$" in inp or bool(re.search(r"[ãõçêé]", inp))
    lang_pt += pt
    for fld in ("name", "company"):
        v = t[fld]
        chk(v is None or (isinstance(v, str) and v and v in inp), f"{fld} not verbatim in text {rid}")
    d = t["date"]
    if d is None:
        chk(not re.search(r"\b(19|20)\d\d\b", inp), f"year in text but date null {rid}")
    else:
        chk(isinstance(d, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", d), f"date format {rid}")
        dt = datetime.date.fromisoformat(d)
        forms = [f"{MEN[dt.month-1]} {dt.day}, {dt.year}", f"{dt.day} {MEN[dt.month-1]} {dt.year}",
                 f"{dt.month}/{dt.day}/{dt.year}", f"{dt.month:02d}/{dt.day:02d}/{dt.year}",
                 f"{dt.day:02d}/{dt.month:02d}/{dt.year}",
                 f"{dt.day} de {MPT[dt.month-1]} de {dt.year}", f"{dt.day}º de {MPT[dt.month-1]} de {dt.year}"]
        chk(any(fm in inp for fm in forms), f"date not found in text {rid} {d}")
        chk(len(re.findall(r"\b(19|20)\d\d\b", inp)) == 1, f"more than one year mention {rid}")
        m = re.search(r"(\d{1,2})/(\d{1,2})/\d{4}", inp)
        if m:
            a, b = map(int, m.groups())
            if pt:
                chk((b, a) == (dt.month, dt.day), f"pt-BR slashed date must be day/month {rid}")
            else:
                chk((a, b) == (dt.month, dt.day) and b > 12, f"ambiguous en slashed date {rid}")
    a = t["amount"]
    money = re.findall(r"(R\$ ?|\$)([\d.,]*\d)", inp)
    if a is None:
        chk(not money, f"money in text but amount null {rid}")
    else:
        chk(isinstance(a, (int, float)) and not isinstance(a, bool) and a > 0, f"amount type {rid}")
        chk(len(money) == 1, f"money mentions != 1 {rid} {money}")
        if money:
            cur, num = money[0]
            v = float(num.replace(".", "").replace(",", ".")) if cur.startswith("R") else float(num.replace(",", ""))
            chk(abs(v - a) < 1e-9, f"amount mismatch {rid} {num} vs {a}")
nulls = {f: sum(r["target"][f] is None for r in E) for f in ("name", "company", "date", "amount")}
print(f"extraction: {len(E)} items, pt-BR={lang_pt} en={len(E)-lang_pt}, "
      f"items with a null={with_null}, nulls per field={nulls}")

# ---------------------------------------------------------------- arithmetic
A = load("arithmetic.jsonl")
chk(len(A) == 150, "arithmetic count")
chk([r["id"] for r in A] == [f"math-{i:03d}" for i in range(1, 151)], "arithmetic ids")
chk(len({r["input"] for r in A}) == 150, "arithmetic duplicate")
for r in A:
    chk(set(r) == {"id", "input", "target", "steps"}, f"keys {r['id']}")
    chk(type(r["target"]) is int and 0 < r["target"] < 100000, f"target {r['id']}")
    chk(type(r["steps"]) is int and r["steps"] in (2, 3, 4), f"steps {r['id']}")
sc = collections.Counter(r["steps"] for r in A)
chk(sc == {2: 50, 3: 50, 4: 50}, f"step balance {sc}")


def nums(p, t):
    m = re.search(p, t)
    if not m:
        raise ValueError(f"pattern not found: {t}")
    return [int(x) for x in m.groups()]


def solve(t):
    """Independent re-solve from the problem wording (does not import the generator)."""
    if "pays with a $" in t and " at $" in t:
        n, p, m, q, b = nums(r"buys (\d+) .*? at \$(\d+) each and (\d+) .*? at \$(\d+) each, and pays with a \$(\d+)", t)
        return 4, b - (n * p + m * q)
    if "pays with a $" in t:
        n, p, b = nums(r"buys (\d+) .*? cost \$(\d+) each and pays with a \$(\d+)", t); return 2, b - n * p
    if "pizzas" in t:
        m, k, p = nums(r"(\d+) friends orders (\d+) pizzas at \$(\d+)", t); return 2, F(k * p, m)
    if "puts away" in t:
        s, w, n = nums(r"has \$(\d+) saved and puts away \$(\d+) every week.*?after (\d+) weeks", t); return 2, s + w * n
    if "delivery van" in t:
        v, h, d = nums(r"at (\d+) km per hour for (\d+) hours and then drives another (\d+) km", t); return 2, v * h + d
    if "shop receives" in t:
        b, i, c = nums(r"receives (\d+) boxes with (\d+) .*? sells (\d+)", t); return 2, b * i - c
    if "aunt" in t:
        a, k, y = nums(r"is (\d+) years old\. .*? is (\d+) times .*? in (\d+) years", t); return 2, a * k + y
    if "museum" in t:
        p, c, n, m = nums(r"\$(\d+) and child tickets for \$(\d+)\. .*? buys (\d+) adult tickets and (\d+) child", t); return 3, n * p + m * c
    if "lentils" in t:
        s, f, tt, h = nums(r"for (\d+) servings needs (\d+) grams.*?make (\d+) servings and already has (\d+) grams", t); return 3, F(tt, s) * f - h
    if "new jacket" in t:
        h, d, r, x = nums(r"works (\d+) hours a day for (\d+) days and earns \$(\d+) per hour, then spends \$(\d+)", t); return 3, h * d * r - x
    if "cycles" in t:
        a, b, w = nums(r"cycles (\d+) km on each of the 5 weekdays and (\d+) km on Saturday.*?in (\d+) weeks", t); return 3, (5 * a + b) * w
    if "crates" in t:
        b, i, h, c = nums(r"fills (\d+) boxes per hour, and each box holds (\d+) .*?After (\d+) hours.*?hold (\d+) each", t); return 3, F(b * i * h, c)
    if "grandmother" in t:
        a, k, f = nums(r"is (\d+) years old\. .*? is (\d+) times .*? is (\d+) years older", t); return 4, a + 2 * a * k + f
    if "mother" in t:
        a, d, x = nums(r"is (\d+) years old, and .*? is (\d+) years? younger.*?plus (\d+)", t); return 3, a + (a - d) + x
    if "printer" in t:
        p, n, q, w = nums(r"prints (\d+) pages per minute.*?print (\d+) copies of a (\d+)-page report.*?needs (\d+) minutes?", t); return 3, F(n * q, p) + w
    if "Concert" in t:
        p, n, d, fee, pay = nums(r"cost \$(\d+) each\. .*? buys (\d+) tickets and gets \$(\d+) off.*?fee of \$(\d+).*?pay with \$(\d+)", t); return 4, pay - (n * (p - d) + fee)
    if "bike" in t:
        c, tx, h, e, s = nums(r"costs \$(\d+) plus \$(\d+) in tax\. .*? has \$(\d+) saved, earns \$(\d+) a week.*?spends \$(\d+)", t); return 4, F(c + tx - h, e - s)
    if "butter" in t:
        c, g, tt, n, pk = nums(r"makes (\d+) cookies and uses (\d+) grams.*?bakes (\d+) cookies and buys (\d+) packs of butter with (\d+) grams", t); return 4, n * pk - F(tt, c) * g
    if "train trip" in t:
        D, v1, h1, v2, h2 = nums(r"is (\d+) km long.*?at (\d+) km per hour for (\d+) hours?, then at (\d+) km per hour for (\d+) hours?", t); return 4, D - v1 * h1 - v2 * h2
    if "bake sale" in t:
        a, b, c, k = nums(r"take in \$(\d+) on the first day, \$(\d+) on the second day, and \$(\d+) on the third day.*?paying \$(\d+)", t); return 4, F(a + b + c - k, 3)
    raise ValueError(f"no solver for: {t}")


for r in A:
    steps, v = solve(r["input"])
    chk(F(v) == r["target"], f"re-solve mismatch {r['id']}: {v} vs {r['target']}")
    chk(steps == r["steps"], f"step count mismatch {r['id']}")
print(f"arithmetic: {len(A)} items, steps={dict(sorted(sc.items()))}, "
      f"targets min/max={min(r['target'] for r in A)}/{max(r['target'] for r in A)}")

if errs:
    print(f"{len(errs)} PROBLEM(S):")
    for e in errs:
        print("  -", e)
    sys.exit(1)
print("all checks passed")
