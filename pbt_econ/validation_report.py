"""``validation.md`` and the plots of ``python -m pbt_econ.validate`` from its metric rows.

Intervals over seeds: mean +- 1.96 sd / sqrt(n) for n >= 3 seeds, the min-max range for fewer.
Targets (judged on the measured figures, never tuned; the seed fractions are the ground-truth issue's):
Cournot mean quantity within one grid step of q* in at least 90% of seeds, exact unilateral
exploitability <= 1% of the Nash profit in every seed; growth mean |s_t - s*_t| <= 0.02 and CE loss
<= 0.5% in every seed; coordination every known pure equilibrium found in at least 80% of seeds, and the
analysis reporting as many equilibria and regimes as are known.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

from pbt_econ.files import atomic_write_text

__all__ = ["interval", "write_report"]


def interval(values: list[float]) -> str:
    """``mean [lo, hi]`` over seeds (95% normal interval for n >= 3, min-max below)."""
    v = [x for x in values if math.isfinite(x)]
    if not v:
        return "n/a"
    n, mean = len(v), sum(v) / len(v)
    if n < 3:
        return f"{mean:.4g} (min-max {min(v):.4g}-{max(v):.4g}, n={n})"
    sd = math.sqrt(sum((x - mean) ** 2 for x in v) / (n - 1))
    half = 1.96 * sd / math.sqrt(n)
    return f"{mean:.4g} ± {half:.2g} (95%, n={n})"


def _by(rows: list[dict], economy: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if r["economy"] == economy and r["seed"] >= 0:
            out[r["metric"]].append(r)
    return out


def _values(m: dict[str, list[dict]], metric: str) -> list[float]:
    return [r["value"] for r in m.get(metric, [])]


def _fmt(values: list[float], spec: str) -> str:
    return ", ".join(format(v, spec) for v in values)


def _target(lines: list[str], name: str, met: bool, measured: str) -> None:
    lines.append(f"- **{'met' if met else 'MISSED'}** — {name}: {measured}")


def _cournot(rows: list[dict], extra: dict, lines: list[str]) -> None:
    m = _by(rows, "cournot")
    if not m:
        return
    q_star, step = m["mean_quantity"][0]["known"], m["grid_step"][0]["value"]
    nash = m["nash_profit"][0]["value"]
    lines += ["## Cournot", "", f"Known: Nash quantity q* = {q_star:.4g} per firm, Nash profit {nash:.4g} per firm "
              f"per episode; grid step at q* = {step:g}.", "",
              "| metric | per seed | over seeds | known |", "|---|---|---|---|"]
    for metric in ("mean_quantity", "policy_mean_quantity", "exact_unilateral_gain", "exact_unilateral_gain_rel",
                   "exact_type_level_gain", "framework_epsilon_abs", "framework_epsilon_unilateral",
                   "passes_firm_fraction"):
        if metric in m:
            vals = _values(m, metric)
            lines.append(f"| {metric} | {', '.join(f'{v:.4g}' for v in vals)} | {interval(vals)} | "
                         f"{m[metric][0]['known']:.4g} |")
    lines += ["", "Framework ε (`epsilon_abs_firm`, max over members, retrained shared policy plus certificates) "
              "next to the exact type-level and unilateral gains of the learned policy (softmax of its masked logits; "
              "max over members), all money per firm per episode.", ""]
    within = [abs(r["error"]) <= step + 1e-9 for r in m["mean_quantity"]]
    rel = _values(m, "exact_unilateral_gain_rel")
    _target(lines, "mean quantity within one grid step of q* in at least 90% of seeds",
            sum(within) >= 0.9 * len(within),
            f"{sum(within)}/{len(within)} seeds (errors {_fmt([r['error'] for r in m['mean_quantity']], '+.3g')})")
    _target(lines, "exact unilateral exploitability <= 1% of Nash profit in every seed", max(rel) <= 0.01,
            f"{sum(v <= 0.01 for v in rel)}/{len(rel)} seeds, worst {100 * max(rel):.3g}% (per seed {', '.join(f'{100 * v:.3g}%' for v in rel)})")
    if extra:
        lines += ["", "Collusive profile (every firm at the grid value nearest q_c), money per firm per episode:", "",
                  f"- exact unilateral gain {extra['collusive_exact_unilateral_gain']:.4g} (best deviation "
                  f"{extra['collusive_exact_best_deviation']:g}), exact type-level gain "
                  f"{extra['collusive_exact_type_level_gain']:.4g}",
                  f"- framework best response on a point-mass policy at q_c: trained type-level ε "
                  f"{extra['collusive_framework_trained_epsilon']:.4g}, all type-level rows "
                  f"{extra['collusive_framework_type_epsilon']:.4g}, unilateral certificates "
                  f"{extra['collusive_framework_unilateral_epsilon']:.4g}",
                  "- a type-level check (the shared policy deviates) cannot see that collusion is not a Nash "
                  "equilibrium; only a unilateral deviation can."]
    lines.append("")


def _growth(rows: list[dict], lines: list[str]) -> None:
    m = _by(rows, "growth")
    if not m:
        return
    periods = sorted((k for k in m if k.startswith("savings_t")), key=lambda k: int(k[9:]))
    lines += ["## Growth", "", "| period | closed form s*_t | best grid | learned (over seeds) | error |",
              "|---|---|---|---|---|"]
    for k in periods:
        t = k[9:]
        vals = _values(m, k)
        lines.append(f"| {t} | {m[k][0]['known']:.4f} | {m[f'grid_best_t{t}'][0]['value']:.2f} | {interval(vals)} | "
                     f"{sum(vals) / len(vals) - m[k][0]['known']:+.4f} |")
    lines += ["", "| metric | per seed | over seeds | grid floor / known |", "|---|---|---|---|"]
    for metric in ("mean_abs_error", "max_abs_error", "ce_loss", "euler_mean", "euler_max", "framework_epsilon_abs",
                   "framework_epsilon_rel"):
        vals = _values(m, metric)
        lines.append(f"| {metric} | {', '.join(f'{v:.4g}' for v in vals)} | {interval(vals)} | "
                     f"{m[metric][0]['known']:.4g} |")
    mae, ce = _values(m, "mean_abs_error"), _values(m, "ce_loss")
    lines.append("")
    _target(lines, "mean |s_t - s*_t| <= 0.02 in every seed", max(mae) <= 0.02, f"worst {max(mae):.4f}")
    _target(lines, "CE loss <= 0.5% in every seed", max(ce) <= 0.005,
            f"worst {100 * max(ce):.3g}% (grid floor {100 * m['ce_loss'][0]['known']:.2g}%)")
    lines += [f"- Euler errors (log10): mean {interval(_values(m, 'euler_mean'))}, max "
              f"{interval(_values(m, 'euler_max'))}; grid floor mean {m['euler_mean'][0]['known']:.3g}, "
              f"max {m['euler_max'][0]['known']:.3g}", ""]


def _coordination(rows: list[dict], lines: list[str]) -> None:
    m = _by(rows, "coordination")
    if not m:
        return
    found = sorted(k for k in m if k.startswith("found_m"))
    lines += ["## Coordination", "", f"Known pure equilibria (adopters m): {', '.join(k[7:] for k in found)}; "
              f"known regimes {m['analysis_regimes'][0]['known']:g}.", "",
              "| seed | " + " | ".join(f"found m={k[7:]}" for k in found) + " | equilibria reported | regimes | "
              "member adoptions |", "|---" * (len(found) + 4) + "|"]
    seeds = sorted({r["seed"] for r in m["found_all"]})
    for s in seeds:
        get = {k: next(r["value"] for r in m[k] if r["seed"] == s) for k in found + ["analysis_equilibria",
                                                                                   "analysis_regimes"]}
        adoptions = [f"{r['value']:.2f}" for k, rs in m.items() if k.startswith("member_adoption_")
                     for r in rs if r["seed"] == s]
        lines.append(f"| {s} | " + " | ".join("yes" if get[k] else "no" for k in found)
                     + f" | {get['analysis_equilibria']:g} | {get['analysis_regimes']:g} | {', '.join(adoptions)} |")
    lines.append("")
    n_eq, n_reg = m["analysis_equilibria"], m["analysis_regimes"]
    all_found = [r["value"] == 1.0 for r in m["found_all"]]
    _target(lines, "every known pure equilibrium found in at least 80% of seeds",
            sum(all_found) >= 0.8 * len(all_found),
            f"{sum(all_found)}/{len(all_found)} seeds")
    _target(lines, f"analysis reports exactly {n_eq[0]['known']:g} equilibria and {n_reg[0]['known']:g} regimes",
            all(r["error"] == 0 for r in n_eq + n_reg),
            f"equilibria {_fmt([r['value'] for r in n_eq], 'g')}; regimes {_fmt([r['value'] for r in n_reg], 'g')}")
    lines += [f"- framework ε (max over members, per episode): {interval(_values(m, 'framework_epsilon_abs'))}", ""]


def _plots(rows: list[dict], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    g = _by(rows, "growth")
    if g:
        fig, ax = plt.subplots(figsize=(6, 4))
        periods = sorted((k for k in g if k.startswith("savings_t")), key=lambda k: int(k[9:]))
        ts = [int(k[9:]) for k in periods]
        ax.plot(ts, [g[k][0]["known"] for k in periods], "k-", lw=2, label="closed form")
        for s in sorted({r["seed"] for r in g[periods[0]]}):
            ax.plot(ts, [next(r["value"] for r in g[k] if r["seed"] == s) for k in periods], "o--", label=f"seed {s}")
        ax.set(xlabel="period t", ylabel="savings rate", title="Growth: learned vs closed-form savings")
        ax.legend()
        written.append(_save(fig, out / "growth_savings.png"))
    c = _by(rows, "cournot")
    if c:
        fig, ax = plt.subplots(figsize=(6, 4))
        q_star, step = c["mean_quantity"][0]["known"], c["grid_step"][0]["value"]
        seeds = [r["seed"] for r in c["mean_quantity"]]
        ax.axhspan(q_star - step, q_star + step, color="g", alpha=0.15, label="q* ± one grid step")
        ax.axhline(q_star, color="k", label="q*")
        ax.plot(seeds, _values(c, "mean_quantity"), "o", label="outcomes' mean quantity")
        ax.plot(seeds, _values(c, "policy_mean_quantity"), "x", label="policy mean quantity")
        ax.set(xlabel="seed", ylabel="quantity per firm", title="Cournot: learned quantities around q*")
        ax.legend()
        written.append(_save(fig, out / "cournot_quantities.png"))
    k = _by(rows, "coordination")
    if k:
        found = sorted(m for m in k if m.startswith("found_m"))
        fig, ax = plt.subplots(figsize=(6, 3))
        seeds = sorted({r["seed"] for r in k["found_all"]})
        grid = [[next(r["value"] for r in k[m] if r["seed"] == s) for s in seeds] for m in found]
        ax.imshow(grid, cmap="Greens", vmin=0, vmax=1, aspect="auto")
        ax.set_yticks(range(len(found)), [f"m={m[7:]}" for m in found])
        ax.set_xticks(range(len(seeds)), [f"seed {s}" for s in seeds])
        ax.set_title("Coordination: known pure equilibria found (green)")
        written.append(_save(fig, out / "coordination_found.png"))
    return written


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_report(rows: list[dict], out: Path, extras: dict | None = None, walls: dict | None = None,
                 overrides: list[str] | None = None) -> Path:
    """Write ``out/validation.md`` and the plots; returns the report's path."""
    extras, walls = extras or {}, walls or {}
    lines = ["# Validation against closed forms", "",
             f"Overrides: {' '.join(overrides) if overrides else 'none'}. Intervals over seeds: mean ± 1.96·sd/√n "
             "(n ≥ 3), else min–max. Search wall time this invocation: "
             f"{sum(walls.values()):.0f} s (0 for resumed/skipped runs).", ""]
    _cournot(rows, extras.get("cournot", {}), lines)
    _growth(rows, lines)
    _coordination(rows, lines)
    plots = _plots(rows, out)
    lines += ["## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots] + [""]
    path = out / "validation.md"
    atomic_write_text(path, "\n".join(lines))
    return path
