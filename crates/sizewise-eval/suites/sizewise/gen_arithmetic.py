#!/usr/bin/env python3
"""Deterministic generator for the sizewise arithmetic suite.

Writes arithmetic.jsonl (next to this script): 150 multi-step word problems,
50 each with 2, 3 and 4 arithmetic steps.  Every template computes its answer
step by step; an item is kept only if every intermediate value and the final
answer are positive integers and the answer is below 100000.

Run:  python3 gen_arithmetic.py
"""
import json
import os
from fractions import Fraction

import random

SEED = 2026
PER_STEP_COUNT = 50
MAX_ANSWER = 100000

NAMES = [
    "Ava", "Ben", "Carla", "Diego", "Elena", "Farid", "Grace", "Hiro", "Imani",
    "Jonas", "Keira", "Luis", "Maya", "Nikhil", "Olivia", "Pedro", "Quinn",
    "Rosa", "Samir", "Tara", "Umar", "Vera", "Wes", "Ximena", "Yusuf", "Zoe",
]

# (plural noun, min unit price, max unit price) in whole dollars
SHOP_ITEMS = [
    ("notebooks", 2, 6), ("pens", 1, 3), ("mugs", 4, 9), ("T-shirts", 8, 15),
    ("paint brushes", 2, 5), ("plant pots", 3, 8), ("phone cases", 6, 12),
    ("water bottles", 5, 11), ("books", 7, 14), ("candles", 3, 7),
]

BOX_ITEMS = ["apples", "light bulbs", "jars of jam", "tennis balls", "soap bars",
             "markers", "cans of soup", "toy cars"]


class Step:
    """Records each arithmetic operation so intermediates can be checked."""

    def __init__(self):
        self.values = []

    def __call__(self, value):
        value = Fraction(value)
        self.values.append(value)
        return value


def plural(n, word):
    """"1 hour", "2 hours"."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def pick_name(rng):
    return rng.choice(NAMES)


# ---------------------------------------------------------------- 2 steps

def t_change(rng, s):
    name = pick_name(rng)
    item, lo, hi = rng.choice(SHOP_ITEMS)
    n = rng.randint(2, 9)
    p = rng.randint(lo, hi)
    bill = rng.choice([20, 50, 100])
    cost = s(n * p)
    change = s(bill - cost)
    text = (f"{name} buys {n} {item} that cost ${p} each and pays with a ${bill} bill. "
            f"How many dollars of change does {name} get back?")
    return text, change


def t_share_pizza(rng, s):
    m = rng.randint(3, 8)
    k = rng.randint(2, 6)
    p = rng.randint(9, 18)
    total = s(k * p)
    each = s(total / m)
    text = (f"A group of {m} friends orders {k} pizzas at ${p} each and splits the bill "
            f"equally. How many dollars does each friend pay?")
    return text, each


def t_savings_simple(rng, s):
    name = pick_name(rng)
    start = rng.randint(20, 300)
    w = rng.randint(5, 40)
    n = rng.randint(3, 26)
    added = s(w * n)
    total = s(start + added)
    text = (f"{name} already has ${start} saved and puts away ${w} every week. "
            f"How many dollars will {name} have after {n} weeks?")
    return text, total


def t_van_distance(rng, s):
    v = rng.choice([40, 45, 50, 55, 60, 65, 70, 80])
    h = rng.randint(2, 6)
    d = rng.randint(5, 60)
    first = s(v * h)
    total = s(first + d)
    text = (f"A delivery van drives at {v} km per hour for {h} hours and then drives "
            f"another {d} km. How many kilometers does it travel in total?")
    return text, total


def t_boxes_left(rng, s):
    item = rng.choice(BOX_ITEMS)
    b = rng.randint(3, 20)
    i = rng.choice([6, 8, 10, 12, 15, 20, 24])
    c = rng.randint(5, 100)
    total = s(b * i)
    left = s(total - c)
    text = (f"A shop receives {b} boxes with {i} {item} in each box. It sells {c} {item}. "
            f"How many {item} are left?")
    return text, left


def t_aunt_age(rng, s):
    name = pick_name(rng)
    a = rng.randint(5, 14)
    k = rng.randint(3, 6)
    y = rng.randint(2, 15)
    aunt = s(a * k)
    if not 22 <= aunt <= 65:
        return None
    later = s(aunt + y)
    text = (f"{name} is {a} years old. {name}'s aunt is {k} times as old as {name}. "
            f"How old will the aunt be in {y} years?")
    return text, later


# ---------------------------------------------------------------- 3 steps

def t_museum_tickets(rng, s):
    p = rng.randint(12, 30)
    c = rng.randint(5, p - 4)
    n = rng.randint(2, 8)
    m = rng.randint(10, 35)
    adults = s(n * p)
    kids = s(m * c)
    total = s(adults + kids)
    text = (f"A museum sells adult tickets for ${p} and child tickets for ${c}. "
            f"A school group buys {n} adult tickets and {m} child tickets. "
            f"How many dollars do they pay in total?")
    return text, total


def t_recipe_scale(rng, s):
    name = pick_name(rng)
    serv = rng.choice([2, 4, 5, 6])
    f = rng.choice([150, 180, 200, 250, 300, 320, 400])
    t = serv * rng.randint(2, 6)
    have = rng.randint(1, 8) * 50
    batches = s(Fraction(t, serv))
    need = s(batches * f)
    more = s(need - have)
    text = (f"A soup recipe for {serv} servings needs {f} grams of lentils. {name} wants to "
            f"make {t} servings and already has {have} grams of lentils. How many more grams "
            f"of lentils does {name} need?")
    return text, more


def t_wages(rng, s):
    name = pick_name(rng)
    h = rng.randint(3, 8)
    r = rng.randint(12, 25)
    d = rng.randint(3, 12)
    x = rng.randint(30, 200)
    per_day = s(h * r)
    earned = s(per_day * d)
    left = s(earned - x)
    text = (f"{name} works {h} hours a day for {d} days and earns ${r} per hour, then "
            f"spends ${x} on a new jacket. How many dollars of those earnings are left?")
    return text, left


def t_cycling_weeks(rng, s):
    name = pick_name(rng)
    a = rng.randint(3, 15)
    b = rng.randint(10, 60)
    w = rng.randint(2, 12)
    weekdays = s(5 * a)
    week = s(weekdays + b)
    total = s(week * w)
    text = (f"{name} cycles {a} km on each of the 5 weekdays and {b} km on Saturday, and "
            f"rests on Sunday. How many kilometers does {name} cycle in {w} weeks?")
    return text, total


def t_crates(rng, s):
    item = rng.choice(BOX_ITEMS)
    b = rng.randint(5, 30)
    i = rng.choice([4, 6, 8, 10, 12])
    h = rng.randint(2, 8)
    c = rng.choice([20, 24, 30, 40, 48, 50, 60])
    boxes = s(b * h)
    items = s(boxes * i)
    crates = s(items / c)
    text = (f"A machine fills {b} boxes per hour, and each box holds {i} {item}. After "
            f"{h} hours, all of the {item} are repacked into crates that hold {c} each. "
            f"How many crates are filled?")
    return text, crates


def t_mother_age(rng, s):
    name = pick_name(rng)
    a = rng.randint(8, 16)
    d = rng.randint(1, 6)
    x = rng.randint(12, 24)
    brother = s(a - d)
    both = s(a + brother)
    mother = s(both + x)
    if not 28 <= mother <= 55:
        return None
    text = (f"{name} is {a} years old, and {name}'s brother is {plural(d, 'year')} younger. Their "
            f"mother's age equals the sum of their two ages plus {x}. How old is their mother?")
    return text, mother


def t_printer(rng, s):
    p = rng.choice([10, 12, 15, 20, 25, 30, 40])
    n = rng.randint(5, 60)
    q = rng.randint(4, 40)
    t = rng.randint(1, 5)
    pages = s(n * q)
    minutes = s(pages / p)
    total = s(minutes + t)
    text = (f"A printer prints {p} pages per minute. It has to print {n} copies of a "
            f"{q}-page report, and it needs {plural(t, 'minute')} to warm up first. How many minutes "
            f"does the whole job take, including the warm-up?")
    return text, total


# ---------------------------------------------------------------- 4 steps

def t_two_item_change(rng, s):
    name = pick_name(rng)
    (i1, lo1, hi1), (i2, lo2, hi2) = rng.sample(SHOP_ITEMS, 2)
    n, m = rng.randint(2, 6), rng.randint(2, 6)
    p, q = rng.randint(lo1, hi1), rng.randint(lo2, hi2)
    bill = rng.choice([50, 100])
    c1 = s(n * p)
    c2 = s(m * q)
    total = s(c1 + c2)
    change = s(bill - total)
    text = (f"{name} buys {n} {i1} at ${p} each and {m} {i2} at ${q} each, and pays with "
            f"a ${bill} bill. How many dollars of change does {name} get back?")
    return text, change


def t_group_tickets(rng, s):
    p = rng.randint(30, 90)
    d = rng.randint(3, 12)
    n = rng.randint(4, 15)
    fee = rng.randint(5, 25)
    pay = rng.choice([500, 1000, 1500])
    each = s(p - d)
    tickets = s(each * n)
    total = s(tickets + fee)
    change = s(pay - total)
    text = (f"Concert tickets cost ${p} each. A fan club buys {n} tickets and gets ${d} off "
            f"every ticket, then pays a single booking fee of ${fee} for the whole order. "
            f"They pay with ${pay}. How many dollars of change do they get?")
    return text, change


def t_bike_weeks(rng, s):
    name = pick_name(rng)
    cost = rng.randint(15, 60) * 10
    tax = rng.randint(1, 6) * 5
    have = rng.randint(2, 20) * 5
    e = rng.randint(30, 80)
    sp = rng.randint(5, e - 10)
    price = s(cost + tax)
    missing = s(price - have)
    net = s(e - sp)
    weeks = s(missing / net)
    text = (f"{name} wants a bike that costs ${cost} plus ${tax} in tax. {name} has ${have} "
            f"saved, earns ${e} a week from a part-time job, and spends ${sp} of it every "
            f"week. How many weeks will it take {name} to have exactly enough for the bike?")
    return text, weeks


def t_butter(rng, s):
    name = pick_name(rng)
    c = rng.choice([12, 16, 20, 24, 30])
    g = rng.choice([100, 110, 125, 150, 180, 200, 225])
    t = c * rng.randint(2, 6)
    pack = rng.choice([200, 250, 500])
    batches = s(Fraction(t, c))
    used = s(batches * g)
    n = -(-int(used) // pack) + rng.randint(0, 1)   # enough packs, maybe one extra
    bought = s(n * pack)
    left = s(bought - used)
    text = (f"One batch of cookies makes {c} cookies and uses {g} grams of butter. {name} "
            f"bakes {t} cookies and buys {n} packs of butter with {pack} grams in each pack. "
            f"How many grams of butter are left over?")
    return text, left


def t_train_remaining(rng, s):
    v1 = rng.choice([60, 70, 80, 90, 100, 120])
    h1 = rng.randint(1, 4)
    v2 = rng.choice([50, 60, 75, 80, 110])
    h2 = rng.randint(1, 3)
    extra = rng.randint(10, 200)
    total_len = v1 * h1 + v2 * h2 + extra
    d1 = s(v1 * h1)
    d2 = s(v2 * h2)
    done = s(d1 + d2)
    left = s(total_len - done)
    text = (f"A train trip is {total_len} km long. The train travels at {v1} km per hour for "
            f"{plural(h1, 'hour')}, then at {v2} km per hour for {plural(h2, 'hour')}. How many kilometers are "
            f"still left to go?")
    return text, left


def t_bake_sale(rng, s):
    a, b, c = (rng.randint(40, 180) for _ in range(3))
    k = rng.randint(20, 90)
    ab = s(a + b)
    abc = s(ab + c)
    profit = s(abc - k)
    each = s(profit / 3)
    text = (f"Three friends run a bake sale. They take in ${a} on the first day, ${b} on the "
            f"second day, and ${c} on the third day. After paying ${k} for ingredients, they "
            f"share the profit equally. How many dollars does each friend get?")
    return text, each


def t_family_ages(rng, s):
    name = pick_name(rng)
    a = rng.randint(4, 12)
    k = rng.randint(3, 6)
    f = rng.randint(20, 32)
    father = s(a * k)
    if not 25 <= father <= 55:
        return None
    grandma = s(father + f)
    two = s(a + father)
    total = s(two + grandma)
    text = (f"{name} is {a} years old. {name}'s father is {k} times as old as {name}, and "
            f"{name}'s grandmother is {f} years older than the father. What is the sum of "
            f"the three ages?")
    return text, total


TEMPLATES = {
    2: [t_change, t_share_pizza, t_savings_simple, t_van_distance, t_boxes_left, t_aunt_age],
    3: [t_museum_tickets, t_recipe_scale, t_wages, t_cycling_weeks, t_crates, t_mother_age,
        t_printer],
    4: [t_two_item_change, t_group_tickets, t_bike_weeks, t_butter, t_train_remaining,
        t_bake_sale, t_family_ages],
}


def valid(values, answer):
    return (all(v.denominator == 1 and v > 0 for v in values)
            and answer.denominator == 1 and 0 < answer < MAX_ANSWER)


def generate():
    rng = random.Random(SEED)
    items, seen = [], set()
    for steps in (2, 3, 4):
        templates = TEMPLATES[steps]
        count = 0
        while count < PER_STEP_COUNT:
            tmpl = templates[count % len(templates)]
            for _ in range(10000):
                s = Step()
                out = tmpl(rng, s)
                if out is None:
                    continue
                text, answer = out
                if len(s.values) != steps:
                    raise AssertionError(f"{tmpl.__name__} recorded {len(s.values)} steps")
                if text in seen or not valid(s.values, answer):
                    continue
                seen.add(text)
                items.append({"input": text, "target": int(answer), "steps": steps,
                              "_template": tmpl.__name__})
                count += 1
                break
            else:
                raise RuntimeError(f"could not fill template {tmpl.__name__}")
    rng.shuffle(items)
    for i, item in enumerate(items, 1):
        item["id"] = f"math-{i:03d}"
    return items


def main():
    items = generate()
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "arithmetic.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for it in items:
            row = {"id": it["id"], "input": it["input"], "target": it["target"],
                   "steps": it["steps"]}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    per_template = {}
    for it in items:
        per_template[it["_template"]] = per_template.get(it["_template"], 0) + 1
    print(f"wrote {len(items)} items to {path}")
    for name, n in sorted(per_template.items()):
        print(f"  {name}: {n}")


if __name__ == "__main__":
    main()
