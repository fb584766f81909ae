#!/usr/bin/python3
"""perf/plot.py — PNG charts of perf/'s raw JSON lines (issue 12, item 7).

    /usr/bin/python3 perf/plot.py [--out DIR] [--name NAME] FILE...

FILE: a `.jsonl` file, or a results `.md` file; every line that starts with `{` is one
record. Two kinds of records are drawn, each into its own PNG in DIR (default: the
first FILE's folder), named after NAME (default: the first FILE's name without suffix):

* `splicer-bench` lines (they have `scenario`) → `NAME-bench.png`: Mpps and worker
  cycles per packet for each scenario and flow count (the baseline of the same
  invocations beside them), the median of the records as the bar and the lowest and
  highest as the whisker, with the number of records (rounds) under each bar;
* `perf/e2e/compare.sh` lines (they have `target` and `load`) → `NAME-e2e.png`:
  requests/s, the balancer's cycles per request (Splicer: its workers' busy cycles;
  HAProxy: utime+stime at the TSC rate), p99 and p99.9 latency, per load and target,
  medians over the rounds with min–max whiskers.

Matplotlib from Debian (`python3-matplotlib`, scripts/install-deps.sh), hence the
system interpreter in the first line. Only what the records hold is drawn: nothing is
computed but medians, minima and maxima.
"""
import argparse
import json
import os
import statistics
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

E2E_TARGETS = ["direct", "haproxy", "splicer-tap", "splicer-afpacket", "splicer-afxdp", "direct-end"]
COLOURS = {
    "direct": "#7f7f7f", "direct-end": "#c7c7c7", "haproxy": "#d62728",
    "splicer-tap": "#aec7e8", "splicer-afpacket": "#1f77b4", "splicer-afxdp": "#17becf",
}


def records(paths):
    out = []
    for p in paths:
        with open(p, errors="replace") as f:
            for line in f:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue  # a JSON-looking line of prose
    return out


def spread(vals):
    """(median, median - min, max - median) of the values that are numbers."""
    vals = [v for v in vals if isinstance(v, (int, float))]
    if not vals:
        return None
    m = statistics.median(vals)
    return m, m - min(vals), max(vals) - m


def grouped_bars(ax, groups, series, value, colours=None, log=False, fmt="{:,.0f}"):
    """One cluster of bars per group, one bar per series; value(group, series) gives the
    records' values (a list) for that bar."""
    width = 0.8 / max(1, len(series))
    for j, s in enumerate(series):
        xs, ys, lo, hi, ns = [], [], [], [], []
        for i, g in enumerate(groups):
            vals = value(g, s)
            sp = spread(vals)
            if sp is None:
                continue
            xs.append(i + (j - (len(series) - 1) / 2) * width)
            ys.append(sp[0])
            lo.append(sp[1])
            hi.append(sp[2])
            ns.append(len(vals))
        if not xs:
            continue
        colour = (colours or {}).get(s)
        bars = ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=s, color=colour,
                      edgecolor="#333333" if colour == "#ffffff" else None,
                      hatch="//" if colour == "#ffffff" else None)
        for b, y, n in zip(bars, ys, ns):
            ax.annotate(fmt.format(y) + (f"\n(n={n})" if n > 1 else ""),
                        (b.get_x() + b.get_width() / 2, y), ha="center", va="bottom",
                        fontsize=6, xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(range(len(groups)))
    if not ax.patches:
        ax.text(0.5, 0.5, "not in these records", ha="center", va="center",
                transform=ax.transAxes, fontsize=9, color="#7f7f7f")
        return
    if log:
        ax.set_yscale("log")
    ax.grid(axis="y", alpha=0.3)


def plot_bench(recs, path, title):
    keys = []
    for r in recs:
        k = (r["scenario"], r.get("flows"))
        if k not in keys:
            keys.append(k)
    order = ["baseline", "selfloop", "established", "lifecycle", "keepalive", "pipelined"]
    keys.sort(key=lambda k: (order.index(k[0]) if k[0] in order else 99, k[1] or 0))
    pick = lambda field: lambda k, _s: [r.get(field) for r in recs  # noqa: E731
                                        if (r["scenario"], r.get("flows")) == k]
    ratios = any(r.get("cycles_ratio_to_baseline") is not None for r in recs)
    fig, axes = plt.subplots(3 if ratios else 2, 1,
                             figsize=(max(7, 1.3 * len(keys)), 11 if ratios else 8))
    grouped_bars(axes[0], keys, ["mpps"], pick("mpps"), fmt="{:.2f}")
    axes[0].set_ylabel("Mpps (verified packets / s)")
    grouped_bars(axes[1], keys, ["cycles_per_packet"], pick("cycles_per_packet"), fmt="{:,.0f}")
    axes[1].set_ylabel("worker busy cycles / packet")
    if ratios:
        # Each scenario's cycles per packet over its own invocation's self-looped
        # baseline's (`selfloop`; before 2026-12-07, the generator-fed baseline's).
        grouped_bars(axes[2], keys, ["cycles_ratio_to_baseline"],
                     pick("cycles_ratio_to_baseline"), fmt="{:.2f}")
        axes[2].set_ylabel("cycles/packet ÷ same-run baseline's")  # selfloop's from 2026-12-07
    labels = [f"{s}\n{f:,} flows" if f else s for s, f in keys]
    for ax in axes:
        ax.set_xticklabels(labels, fontsize=8)
    hp = {r.get("hugepages") for r in recs}
    fig.suptitle(f"{title}: splicer-bench, medians of {len(recs)} records "
                 f"(whiskers: min–max; hugepages {'/'.join(str(h) for h in sorted(hp))})",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_e2e(recs, path, title):
    recs = [r for r in recs if not r.get("failed")]
    loads = []
    for r in recs:
        if r["load"] not in loads:
            loads.append(r["load"])
    targets = [t for t in E2E_TARGETS if any(r["target"] == t for r in recs)]
    targets += sorted({r["target"] for r in recs} - set(targets))
    pick = lambda field: lambda load, t: [r.get(field) for r in recs  # noqa: E731
                                          if r["load"] == load and r["target"] == t]
    cpu_tag = " (worker CPU time)"
    lbs = [t for t in targets if not t.startswith("direct")]
    # Beside Splicer's busy cycles, its worker threads' CPU time at the TSC rate: both
    # are upper bounds of its work on a shared VM (see perf/README.md).
    lb_series = lbs + [t + cpu_tag for t in lbs if t.startswith("splicer")]

    def cycles(load, t):
        if t.endswith(cpu_tag):
            return pick("worker_cpu_cycles_per_req")(load, t[:-len(cpu_tag)])
        return pick("lb_cycles_per_req")(load, t)
    colours = dict(COLOURS, **{t + cpu_tag: "#ffffff" for t in lbs})
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    panels = [
        (axes[0][0], pick("rps"), "requests / s", targets, False, "{:,.0f}"),
        (axes[0][1], cycles, "balancer cycles / request (log)",
         lb_series, True, "{:,.0f}"),
        (axes[1][0], pick("p99_ms"), "p99 latency, ms (log)", targets, True, "{:.1f}"),
        (axes[1][1], pick("p999_ms"), "p99.9 latency, ms (log)", targets, True, "{:.1f}"),
    ]
    for ax, value, label, series, log, fmt in panels:
        grouped_bars(ax, loads, series, value, colours=colours, log=log, fmt=fmt)
        ax.set_xticklabels(loads, fontsize=9)
        ax.set_ylabel(label, fontsize=9)
    axes[0][0].legend(fontsize=8, ncol=2)
    axes[0][1].set_title("Splicer: worker busy cycles (hatched: worker CPU time × TSC rate); "
                         "HAProxy: CPU time × TSC rate", fontsize=8)
    if axes[0][1].patches:
        axes[0][1].legend(fontsize=8)
    rounds = len({r.get("round", 1) for r in recs})
    fig.suptitle(f"{title}: perf/e2e/compare.sh, medians of {rounds} round(s) "
                 "(whiskers: min–max)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("files", nargs="+")
    p.add_argument("--out")
    p.add_argument("--name")
    a = p.parse_args()
    recs = records(a.files)
    out = a.out or os.path.dirname(os.path.abspath(a.files[0]))
    name = a.name or os.path.basename(a.files[0]).split(".")[0]
    bench = [r for r in recs if "scenario" in r and "mpps" in r]
    e2e = [r for r in recs if "target" in r and "load" in r]
    if not bench and not e2e:
        print("plot.py: no splicer-bench or compare.sh records in " + ", ".join(a.files),
              file=sys.stderr)
        return 1
    os.makedirs(out, exist_ok=True)
    if bench:
        path = os.path.join(out, f"{name}-bench.png")
        plot_bench(bench, path, name)
        print(path)
    if e2e:
        path = os.path.join(out, f"{name}-e2e.png")
        plot_e2e(e2e, path, name)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
