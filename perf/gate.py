#!/usr/bin/env python3
"""The instruction-count gate's arithmetic (perf/gate.sh runs it; see perf/README.md).

    perf/gate.py scenarios BUDGETS              one line per scenario: name flows frames
    perf/gate.py inclusive CALLGRIND_OUT FUNC   inclusive Ir of FUNC in a callgrind file
    perf/gate.py compare BUDGETS MEASURED       the table; exit 1 when a scenario is over
    perf/gate.py moved OLD NEW                  exit 1 when a budget went up without a new note
    perf/gate.py selftest                       the tests of the parser and the comparison

BUDGETS is a TOML file (perf/budgets.toml): `tolerance_percent`, then one table per
scenario with `per` ("frame" or "request"), `flows`, `frames`, `budget` (instructions per
frame or per request) and `note` (why the budget is what it is). MEASURED holds one JSON
object per line: {"scenario", "instructions", "frames", "requests"}.

A scenario fails when its measured instructions per unit exceed its budget by more than
`tolerance_percent`. Exit status: 0 all within budget, 1 at least one over, 2 for a
malformed budget file or measurement (a scenario measured without a budget, or budgeted
and not measured, counts as malformed: the table must cover every scenario).
"""

import json
import os
import sys
import tempfile
import tomllib
import unittest

UNITS = ("frame", "request")


class Malformed(Exception):
    pass


def load_budgets(path):
    with open(path, "rb") as f:
        doc = tomllib.load(f)
    tolerance = doc.get("tolerance_percent")
    if not isinstance(tolerance, (int, float)) or tolerance < 0:
        raise Malformed(f"{path}: tolerance_percent must be a number >= 0")
    scenarios = {}
    for name, b in doc.items():
        if name == "tolerance_percent":
            continue
        if not isinstance(b, dict):
            raise Malformed(f"{path}: {name} is not a table")
        for key, kind in (("per", str), ("flows", int), ("frames", int), ("note", str)):
            if not isinstance(b.get(key), kind):
                raise Malformed(f"{path}: [{name}] needs {key} ({kind.__name__})")
        if b["per"] not in UNITS:
            raise Malformed(f"{path}: [{name}] per must be one of {', '.join(UNITS)}")
        if not isinstance(b.get("budget"), (int, float)) or b["budget"] <= 0:
            raise Malformed(f"{path}: [{name}] needs budget (a number > 0)")
        if not b["note"].strip():
            raise Malformed(f"{path}: [{name}] needs a note saying why the budget is what it is")
        scenarios[name] = b
    if not scenarios:
        raise Malformed(f"{path}: no scenario")
    return tolerance, scenarios


def inclusive(path, function):
    """Inclusive Ir of `function`: its own cost lines plus the inclusive cost of every
    call it makes, summed over every entry of that name (callgrind's raw format, with or
    without name compression; the first event column must be Ir)."""
    names = {}
    current = None
    total = 0
    found = False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("events:"):
                if line.split()[1] != "Ir":
                    raise Malformed(f"{path}: the first event is not Ir")
                continue
            if line.startswith(("fn=", "cfn=", "cfi=", "cfl=", "fl=", "fi=", "fe=", "ob=", "cob=")):
                key, _, value = line.rstrip("\n").partition("=")
                name = value
                if value.startswith("("):
                    ident, _, rest = value.partition(")")
                    table = "fn" if key in ("fn", "cfn") else key
                    if rest.strip():
                        names[(table, ident)] = rest.strip()
                    name = names.get((table, ident), rest.strip())
                if key == "fn":
                    current = name
                    if current == function:
                        found = True
                continue
            if line[:1].isdigit() or line[:1] in "+-*":
                if current == function:
                    fields = line.split()
                    if len(fields) > 1:
                        total += int(fields[1])
    if not found:
        raise Malformed(f"{path}: no function {function}")
    return total


def per_unit(m, per):
    count = m["frames"] if per == "frame" else m["requests"]
    if count <= 0:
        raise Malformed(f"{m['scenario']}: no {per}s measured")
    return m["instructions"] / count


def compare(tolerance, budgets, measured, out=None):
    """Prints the table (to `out`, default stdout); returns the scenarios over budget +
    tolerance."""
    out = out or sys.stdout
    by_name = {m["scenario"]: m for m in measured}
    unbudgeted = sorted(set(by_name) - set(budgets))
    unmeasured = sorted(set(budgets) - set(by_name))
    if unbudgeted or unmeasured:
        raise Malformed(f"measured without a budget: {unbudgeted}; budgeted, not measured: {unmeasured}")
    rows = [("scenario", "per", "measured", "budget", "ratio", "verdict")]
    over = []
    for name, b in budgets.items():
        value = per_unit(by_name[name], b["per"])
        ratio = value / b["budget"]
        if ratio > 1 + tolerance / 100:
            verdict = f"OVER (> +{tolerance:g} %)"
            over.append(name)
        elif ratio < 1 - tolerance / 100:
            verdict = "ok: under; lower the budget"
        else:
            verdict = "ok"
        rows.append((name, b["per"], f"{value:,.1f}", f"{b['budget']:,}", f"{ratio:.4f}", verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        cells = [c.ljust(w) if i in (0, 1, 5) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))]
        print("  ".join(cells).rstrip(), file=out)
    return over


def moved(old, new, out=None):
    """The scenarios whose budget went up from `old` to `new` with the same note: budgets
    only move down, or up with a note saying why."""
    out = out or sys.stdout
    bad = []
    for name, b in new.items():
        before = old.get(name)
        if before is None:
            continue
        if b["budget"] > before["budget"]:
            if b["note"] == before["note"]:
                bad.append(name)
                print(f"{name}: budget {before['budget']} -> {b['budget']} without a new note", file=out)
            else:
                print(f"{name}: budget {before['budget']} -> {b['budget']}: {b['note']}", file=out)
    return bad


def main(argv):
    try:
        if argv[:1] == ["scenarios"] and len(argv) == 2:
            _, budgets = load_budgets(argv[1])
            for name, b in budgets.items():
                print(name, b["flows"], b["frames"])
            return 0
        if argv[:1] == ["inclusive"] and len(argv) == 3:
            print(inclusive(argv[1], argv[2]))
            return 0
        if argv[:1] == ["compare"] and len(argv) == 3:
            tolerance, budgets = load_budgets(argv[1])
            with open(argv[2], encoding="utf-8") as f:
                measured = [json.loads(line) for line in f if line.strip()]
            over = compare(tolerance, budgets, measured)
            if over:
                print(f"gate: over budget by more than {tolerance:g} %: {', '.join(over)}")
                return 1
            print(f"gate: every scenario within its budget + {tolerance:g} %")
            return 0
        if argv[:1] == ["moved"] and len(argv) == 3:
            _, old = load_budgets(argv[1])
            _, new = load_budgets(argv[2])
            return 1 if moved(old, new) else 0
        if argv == ["selftest"]:
            suite = unittest.defaultTestLoader.loadTestsFromTestCase(Tests)
            ok = unittest.TextTestRunner(verbosity=1).run(suite).wasSuccessful()
            return 0 if ok else 1
    except (Malformed, OSError, ValueError, KeyError, tomllib.TOMLDecodeError) as e:
        print(f"gate: {e}", file=sys.stderr)
        return 2
    print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
    return 2


class Tests(unittest.TestCase):
    BUDGETS = """
tolerance_percent = 3
[established]
per = "frame"
flows = 10000
frames = 100000
budget = 1000
note = "test"
[lifecycle]
per = "request"
flows = 256
frames = 100000
budget = 20000
note = "test"
"""

    def write(self, text, suffix):
        f = tempfile.NamedTemporaryFile("w", suffix=suffix, delete=False)
        f.write(text)
        f.close()
        self.addCleanup(os.unlink, f.name)
        return f.name

    def run_compare(self, est, life, budgets=BUDGETS):
        b = self.write(budgets, ".toml")
        m = self.write(
            json.dumps({"scenario": "established", "instructions": est, "frames": 1000, "requests": 0})
            + "\n"
            + json.dumps({"scenario": "lifecycle", "instructions": life, "frames": 1000, "requests": 10})
            + "\n",
            ".jsonl",
        )
        with open(os.devnull, "w") as null:
            saved = sys.stdout, sys.stderr
            sys.stdout = sys.stderr = null
            try:
                return main(["compare", b, m])
            finally:
                sys.stdout, sys.stderr = saved

    def test_within_tolerance_passes(self):
        self.assertEqual(self.run_compare(1_000_000, 200_000), 0)
        # +2.9 % and -50 % pass.
        self.assertEqual(self.run_compare(1_029_000, 100_000), 0)
        # Exactly +3 % passes; the gate fails only beyond it.
        self.assertEqual(self.run_compare(1_030_000, 200_000), 0)

    def test_over_tolerance_fails(self):
        self.assertEqual(self.run_compare(1_031_000, 200_000), 1)
        self.assertEqual(self.run_compare(1_000_000, 206_200), 1)
        # A budget 10 % below what is measured fails.
        self.assertEqual(self.run_compare(1_111_112, 200_000), 1)

    def test_malformed_budgets_are_refused(self):
        no_note = self.BUDGETS.replace('note = "test"', 'note = " "', 1)
        self.assertEqual(self.run_compare(1_000_000, 200_000, no_note), 2)
        bad_unit = self.BUDGETS.replace('per = "frame"', 'per = "packet"')
        self.assertEqual(self.run_compare(1_000_000, 200_000, bad_unit), 2)
        extra = self.BUDGETS + '[keepalive]\nper = "request"\nflows = 1\nframes = 1\nbudget = 1\nnote = "x"\n'
        self.assertEqual(self.run_compare(1_000_000, 200_000, extra), 2)
        self.assertEqual(self.run_compare(1_000_000, 200_000, "tolerance_percent = 3\n"), 2)

    def test_budgets_go_up_only_with_a_new_note(self):
        old = self.write(self.BUDGETS, ".toml")
        up = self.write(self.BUDGETS.replace("budget = 1000", "budget = 1100"), ".toml")
        noted = self.write(
            self.BUDGETS.replace('budget = 1000\nnote = "test"', 'budget = 1100\nnote = "why"'),
            ".toml",
        )
        down = self.write(self.BUDGETS.replace("budget = 1000", "budget = 900"), ".toml")
        with open(os.devnull, "w") as null:
            saved, sys.stdout = sys.stdout, null
            try:
                self.assertEqual(main(["moved", old, up]), 1)
                self.assertEqual(main(["moved", old, noted]), 0)
                self.assertEqual(main(["moved", old, down]), 0)
                self.assertEqual(main(["moved", old, old]), 0)
            finally:
                sys.stdout = saved

    def test_inclusive_cost_of_a_function(self):
        out = self.write(
            "version: 1\ncreator: callgrind-3.19.0\npositions: line\nevents: Ir\n"
            "fl=(1) a.rs\nfn=(1) main\n1 5\ncfn=(2) round\ncalls=2 10\n2 700\n"
            "fn=(2)\n10 100\nfi=(2) b.rs\n11 50\ncfl=(1)\ncfn=(3) helper\ncalls=4 20\n+1 150\n"
            "fe=(1)\n* 50\nfn=(3) helper\n20 150\nfn=(4) other\n30 9\n"
            "totals: 1014\n",
            ".out",
        )
        self.assertEqual(inclusive(out, "round"), 350)
        self.assertEqual(inclusive(out, "main"), 705)
        with self.assertRaises(Malformed):
            inclusive(out, "absent")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
