#!/usr/bin/env python3
"""perf/e2e/report.py — parsing and tables for perf/e2e/compare.sh.

    report.py measure --raw RAW.jsonl --target T --pmd P --load L --output F [--h2log F]
                      --seconds S --conns C --lb-cpu-s X --servers-cpu-s Y --wall-s W
                      [--tsc-hz HZ] [--workers-before F --workers-after F]
        parses one wrk or h2load output, appends one JSON line (no ratios yet) to RAW,
        prints a one-line summary
    report.py table --raw RAW.jsonl --jsonl OUT.jsonl --md OUT.md [--note LINE]...
        computes the ratios (each / direct, Splicer / HAProxy) and writes one JSON line
        per measurement and the Markdown table

Only the standard library.
"""
import argparse
import json
import re
import sys

UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def to_ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        return None
    return float(m.group(1)) * UNIT_MS[m.group(2)]


def parse_wrk(text):
    r = {"requests": None, "rps": None, "p50_ms": None, "p99_ms": None,
         "errors": 0, "non2xx": 0, "parsed": False}
    m = re.search(r"^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m)", text, re.M)
    if m:
        r["requests"] = int(m.group(1))
    m = re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M)
    if m:
        r["rps"] = float(m.group(1))
        r["parsed"] = True
    in_dist = False
    for line in text.splitlines():
        if "Latency Distribution" in line:
            in_dist = True
            continue
        if in_dist:
            m = re.match(r"\s*(50|75|90|99)%\s+(\S+)", line)
            if m:
                if m.group(1) == "50":
                    r["p50_ms"] = to_ms(m.group(2))
                elif m.group(1) == "99":
                    r["p99_ms"] = to_ms(m.group(2))
            else:
                in_dist = False
    m = re.search(r"^p99\.9_us (\d+)", text, re.M)  # compare.sh's latency.lua
    if m:
        r["p999_ms"] = int(m.group(1)) / 1000.0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        r["errors"] = sum(int(x) for x in m.groups())
        r["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"),
                                      (int(x) for x in m.groups())))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        r["non2xx"] = int(m.group(1))
    return r


def percentile(sorted_vals, p):
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def parse_h2load(text, log_path):
    r = {"requests": None, "rps": None, "p50_ms": None, "p99_ms": None,
         "errors": 0, "non2xx": 0, "parsed": False}
    m = re.search(r"finished in ([0-9.]+)(us|ms|s), ([0-9.]+) req/s", text)
    if m:
        r["rps"] = float(m.group(3))
        r["elapsed_s"] = to_ms(m.group(1) + m.group(2)) / 1000.0
        r["parsed"] = True
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", text)
    if m:
        total, _started, done, _ok, failed, errored, timeout = (int(x) for x in m.groups())
        r["requests"] = done
        # "failed" counts errored and timed-out requests too (nghttp2's h2load).
        r["errors"] = max(failed, errored + timeout) + (total - done)
    m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    if m:
        r["non2xx"] = int(m.group(2)) + int(m.group(3)) + int(m.group(4))
    if log_path:
        vals = []
        try:
            with open(log_path) as f:
                for line in f:
                    parts = line.split("\t")
                    if len(parts) >= 3:
                        vals.append(int(parts[2]) / 1000.0)  # microseconds -> ms
        except OSError:
            pass
        vals.sort()
        r["p50_ms"] = percentile(vals, 50)
        r["p99_ms"] = percentile(vals, 99)
        r["p999_ms"] = percentile(vals, 99.9)
    return r


def worker_sums(path):
    """(wall ns, {busy_cycles, cycles, packets} summed over the workers) from a file
    compare.sh's workers_json wrote, or None."""
    try:
        with open(path) as f:
            d = json.load(f)
    except (OSError, ValueError):
        return None
    rows = []

    def walk(v):
        if isinstance(v, dict):
            if "busy_cycles" in v and "cycles" in v:
                rows.append(v)
            else:
                for x in v.values():
                    walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(d.get("answer"))
    if not rows:
        return None
    return d["ns"], {k: sum(int(r.get(k) or 0) for r in rows)
                     for k in ("busy_cycles", "cycles", "packets")}


def lb_cycles(a, requests):
    """The balancer's cycles during the load, and where they come from: Splicer's
    workers' busy cycles (its own counters: it busy-polls, so its CPU time says
    nothing), or HAProxy's utime+stime at the TSC rate."""
    out = {}
    if a.workers_before and a.workers_after:
        b, e = worker_sums(a.workers_before), worker_sums(a.workers_after)
        if b and e:
            d = {k: e[1][k] - b[1][k] for k in b[1]}
            out["worker_busy_cycles"] = d["busy_cycles"]
            out["worker_cycles"] = d["cycles"]
            out["worker_packets"] = d["packets"]
            if d["cycles"] > 0:
                out["worker_busy"] = round(d["busy_cycles"] / d["cycles"], 3)
            if e[0] > b[0]:
                # The TSC's rate as Splicer's loop counts it, to check the stated one.
                out["tsc_hz_measured"] = round(d["cycles"] / ((e[0] - b[0]) / 1e9))
            if requests:
                out["lb_cycles_per_req"] = round(d["busy_cycles"] / requests)
                out["lb_cycles_source"] = "worker busy cycles"
            if a.worker_cpu_s is not None and a.tsc_hz and requests:
                # The worker threads' CPU time at the TSC rate: idle polls are in it,
                # time the scheduler gave to others is not. Busy cycles are the reverse
                # (a round preempted in the middle counts whole), so on a shared VM
                # both are upper bounds of the work, and the smaller is the closer.
                out["worker_cpu_s"] = a.worker_cpu_s
                out["worker_cpu_cycles_per_req"] = round(a.worker_cpu_s * a.tsc_hz / requests)
            if d["packets"]:
                out["worker_cycles_per_packet"] = round(d["busy_cycles"] / d["packets"], 1)
    elif a.lb_cpu_s is not None and a.tsc_hz and requests:
        out["lb_cycles_per_req"] = round(a.lb_cpu_s * a.tsc_hz / requests)
        out["lb_cycles_source"] = "utime+stime x tsc_hz"
    return out


def cmd_measure(a):
    with open(a.output, errors="replace") as f:
        text = f.read()
    r = parse_h2load(text, a.h2log) if a.load.startswith("h2load") else parse_wrk(text)
    rec = {
        "round": a.round, "target": a.target, "pmd": a.pmd, "load": a.load, "seconds": a.seconds,
        "conns": a.conns, "requests": r["requests"], "rps": r["rps"],
        "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"], "p999_ms": r.get("p999_ms"),
        "errors": r["errors"],
        "non2xx": r["non2xx"], "lb_cpu_s": a.lb_cpu_s, "servers_cpu_s": a.servers_cpu_s,
        "wall_s": a.wall_s, "client_retrans": a.client_retrans, "client_rto": a.client_rto,
        "servers_retrans": a.servers_retrans, "servers_rto": a.servers_rto,
        "servers_tlp": a.servers_tlp, "tsc_hz": a.tsc_hz or None,
        "exit_code": a.exit_code, "loadgen_cpu_s": a.loadgen_cpu_s,
        "others_cpu_s": a.others_cpu_s, "steal_s": a.steal_s,
        "ok": bool(r["parsed"]) and r["errors"] == 0 and r["non2xx"] == 0 and a.exit_code == 0,
    }
    if "socket_errors" in r:
        rec["socket_errors"] = r["socket_errors"]
    if a.lb_cpu_s is not None and a.wall_s:
        rec["lb_cores"] = round(a.lb_cpu_s / a.wall_s, 3)
    if a.lb_cpu_s is not None and r["requests"]:
        rec["lb_cpu_us_per_req"] = round(a.lb_cpu_s * 1e6 / r["requests"], 2)
    rec.update(lb_cycles(a, r["requests"]))
    if not r["parsed"]:
        rec["problem"] = "no result in the load generator's output"
    if a.exit_code == 124:
        rec["problem"] = "the load generator did not finish in time (timeout killed it)"
    with open(a.raw, "a") as f:
        f.write(json.dumps(rec) + "\n")
    fmt = lambda v, spec: "-" if v is None else format(v, spec)  # noqa: E731
    print(f"{a.target:18} {a.load:15} {fmt(r['rps'], '10.0f')} req/s  "
          f"p50 {fmt(r['p50_ms'], '.2f')} ms  p99 {fmt(r['p99_ms'], '.2f')} ms  "
          f"p99.9 {fmt(r.get('p999_ms'), '.2f')} ms  "
          f"cycles/req {fmt(rec.get('lb_cycles_per_req'), ',.0f')}  "
          f"errors {r['errors']}  non-2xx {r['non2xx']}  "
          f"balancer CPU {fmt(a.lb_cpu_s, '.2f')} s / {fmt(a.wall_s, '.1f')} s  "
          f"retrans client {a.client_retrans} (RTO {a.client_rto}) "
          f"servers {a.servers_retrans} (RTO {a.servers_rto}, TLP {a.servers_tlp})  "
          f"others' CPU {fmt(a.others_cpu_s, '.2f')} s")
    return 0


def ratio(a, b):
    if a is None or b in (None, 0):
        return None
    return round(a / b, 3)


def median(vals):
    vals = sorted(v for v in vals if v is not None)
    if not vals:
        return None
    n = len(vals)
    return vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2


def cmd_table(a):
    recs, failures = [], []
    with open(a.raw) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            d = json.loads(line)
            d.setdefault("round", 1)
            (failures if d.get("failed") else recs).append(d)
    # Ratios within a round: against that round's direct and HAProxy figures.
    by = {(d["round"], d["target"], d["load"]): d for d in recs}
    for d in recs:
        ref = by.get((d["round"], "direct", d["load"]))
        hap = by.get((d["round"], "haproxy", d["load"]))
        d["ratio_to_direct"] = ratio(d["rps"], ref["rps"] if ref else None)
        if d["target"].startswith("splicer"):
            d["ratio_to_haproxy"] = ratio(d["rps"], hap["rps"] if hap else None)
            d["p99_ratio_to_haproxy"] = ratio(d["p99_ms"], hap["p99_ms"] if hap else None)
            d["cpu_per_req_ratio_to_haproxy"] = ratio(
                d.get("lb_cpu_us_per_req"), hap.get("lb_cpu_us_per_req") if hap else None)
            # Splicer's worker busy cycles per request over HAProxy's CPU cycles per
            # request, same load, same round (the issue's target: at most 0.2).
            d["cycles_per_req_ratio_to_haproxy"] = ratio(
                d.get("lb_cycles_per_req"), hap.get("lb_cycles_per_req") if hap else None)
    with open(a.jsonl, "w") as f:
        for d in recs + failures:
            f.write(json.dumps(d) + "\n")

    def f(v, spec):
        return "–" if v is None else format(v, spec)

    rounds = sorted({d["round"] for d in recs} | {d["round"] for d in failures})
    multi = len(rounds) > 1
    targets, loads = [], []
    for d in recs:
        if d["target"] not in targets:
            targets.append(d["target"])
        if d["load"] not in loads:
            loads.append(d["load"])
    out = []
    if multi:
        out.append(f"Medians over {len(rounds)} rounds (each ratio is taken within its round, "
                   "then the median of the rounds' ratios is shown; `× direct by round` lists them).")
        out.append("")
    out.append("| target | PMD | load | req/s | × direct | × HAProxy | p50 ms | p99 ms | p99.9 ms "
               "| errors | non-2xx | retrans client / servers (RTO / TLP) | balancer CPU s "
               "| balancer cores | CPU µs/req | CPU/req × HAProxy | cycles/req | cycles/req × HAProxy "
               "| worker CPU cycles/req | others' CPU s |" + (" × direct by round |" if multi else ""))
    out.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
               + ("---|" if multi else ""))
    for t in targets:
        for load in loads:
            ds = [d for d in recs if d["target"] == t and d["load"] == load]
            if not ds:
                continue
            med = lambda k: median([d.get(k) for d in ds])  # noqa: E731
            ok = all(d["ok"] for d in ds)
            errors = sum(d["errors"] or 0 for d in ds)
            non2xx = sum(d["non2xx"] or 0 for d in ds)
            cr = sum(d.get("client_retrans") or 0 for d in ds)
            co = sum(d.get("client_rto") or 0 for d in ds)
            sr = sum(d.get("servers_retrans") or 0 for d in ds)
            so = sum(d.get("servers_rto") or 0 for d in ds)
            sp = sum(d.get("servers_tlp") or 0 for d in ds)
            row = (f"| {t} | {ds[0]['pmd']} | {load} | {f(med('rps'), ',.0f')}{'' if ok else ' ⚠'} "
                   f"| {f(med('ratio_to_direct'), '.2f')} | {f(med('ratio_to_haproxy'), '.2f')} "
                   f"| {f(med('p50_ms'), '.2f')} | {f(med('p99_ms'), '.2f')} "
                   f"| {f(med('p999_ms'), '.2f')} "
                   f"| {errors} | {non2xx} | {cr} / {sr} ({co} / {so} / {sp}) "
                   f"| {f(med('lb_cpu_s'), '.2f')} | {f(med('lb_cores'), '.2f')} "
                   f"| {f(med('lb_cpu_us_per_req'), '.1f')} "
                   f"| {f(med('cpu_per_req_ratio_to_haproxy'), '.2f')} "
                   f"| {f(med('lb_cycles_per_req'), ',.0f')} "
                   f"| {f(med('cycles_per_req_ratio_to_haproxy'), '.3f')} "
                   f"| {f(med('worker_cpu_cycles_per_req'), ',.0f')} "
                   f"| {'/'.join(f(d.get('others_cpu_s'), '.1f') for d in ds)} |")
            if multi:
                row += " " + ", ".join(f(d["ratio_to_direct"], ".2f") for d in ds) + " |"
            out.append(row)
    for d in failures:
        out.append(f"| {d['target']} | {d['pmd']} | – | not measured (round {d['round']}): "
                   f"{d.get('problem', '?')} |" + " |" * (17 if not multi else 18))
    for note in a.note or []:
        out.append("")
        out.append(note)
    text = "\n".join(out) + "\n"
    with open(a.md, "w") as fh:
        fh.write(text)
    sys.stdout.write(text)
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--raw", required=True)
    m.add_argument("--target", required=True)
    m.add_argument("--pmd", required=True)
    m.add_argument("--load", required=True)
    m.add_argument("--output", required=True)
    m.add_argument("--h2log")
    m.add_argument("--seconds", type=float)
    m.add_argument("--conns", type=int)
    m.add_argument("--lb-cpu-s", type=float)
    m.add_argument("--servers-cpu-s", type=float)
    m.add_argument("--wall-s", type=float)
    m.add_argument("--client-retrans", type=int)
    m.add_argument("--client-rto", type=int)
    m.add_argument("--servers-retrans", type=int)
    m.add_argument("--servers-rto", type=int)
    m.add_argument("--exit-code", type=int, default=0)
    m.add_argument("--round", type=int, default=1)
    m.add_argument("--loadgen-cpu-s", type=float)
    m.add_argument("--others-cpu-s", type=float)
    m.add_argument("--steal-s", type=float)
    m.add_argument("--servers-tlp", type=int)
    m.add_argument("--tsc-hz", type=float)
    m.add_argument("--workers-before")
    m.add_argument("--worker-cpu-s", type=float)
    m.add_argument("--workers-after")
    t = sub.add_parser("table")
    t.add_argument("--raw", required=True)
    t.add_argument("--jsonl", required=True)
    t.add_argument("--md", required=True)
    t.add_argument("--note", action="append")
    a = p.parse_args()
    return cmd_measure(a) if a.cmd == "measure" else cmd_table(a)


if __name__ == "__main__":
    sys.exit(main())
