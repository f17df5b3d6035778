"""Paper 000 section 4.4's sensitivity studies (system 1, IEEE 33): scheme D re-optimised at each
setting of V2G participation, storage cost and EV price response, beside 000's statements.

::

    python -m experiments.paper000.sensitivity [--scenarios 4] [--pop 30] [--gen 40] [--passes 2]
        [--seed 2026] [--studies v2g,storage,response] [--case ieee33] [--base JSON]
        [--out FILE] [--csv FILE] [--figures DIR]

Studies (000 gives no grid of values; the ones here are [A]):

* ``v2g``: the stage-III V2G participation cap ``lambda`` in 0, 0.2, ..., 1.0 (``Config000.v2g_cap
  = (0, min(0.05, lambda), lambda)``; 000 section 3.2.5's 0.6 is the base). 000 4.4.1: "the life
  cycle cost first drops rapidly, and when the participation rate is 0.6, it tends to be saturated".
* ``storage``: a factor on both battery unit costs (``storage_cny_per_kwh``, ``storage_cny_per_kw``)
  in 0.1, 0.25, 0.5, 1, 2. 000 4.4.2: "even if the cost of energy storage cannot be reduced, Scheme D can
  reduce the energy storage capacity by 40 % ... its whole life cycle cost is still 12.6 % lower than
  that of Plan A" (read: 000's base case assumes falling storage costs; factor 1, today's assumed
  cost, is "not reduced", against the reduced 0.5, 0.25, 0.1; 2 is a rise).
* ``response``: ``Config000.ev_price_response``, the share of EVs with smart or V2G chargers that
  follow the dispatch signal, in 0.25, 0.5, 0.75, 1.0 (000's "price elasticity" has no model; this
  reading is documented in ``Config000``). 000 4.4.3: "if the user's responsiveness is low, the system
  needs to increase the energy storage capacity by an additional 30 %".

Each setting is one GA run (000's algorithm) on scheme D with ``--pop`` x ``--gen`` and the
``--scenarios`` most probable of the 24 scenarios, repeated for ``--passes`` sweeps; scheme A is
optimised first and again at the end from every D best (its plans have no storage, smart charging
or V2G, so none of the three parameters changes its LCC) for the "D below A" column.
**Continuation**: scheme A's first run starts from the plan that builds nothing
(:func:`null_plan`); every run's first population holds A's first optimum as a D plan (so D is
never above it), the base-case D optimum, the study's earlier settings' bests of the pass and,
from the second pass on, every setting's best of the previous pass (each is a valid decision
vector at every setting; the rest is uniform random from the seed). With ``lambda`` ascending the
feasible sets are nested, so the V2G curve cannot rise: its *shape*, where it flattens, is the
finding, not its monotonicity.
Beside the re-optimised curve, the base-case D plan is evaluated with its stage-III V2G share set
to each ``lambda`` (:func:`v2g_benefit`): the operating value of V2G apart from the piles' cost.
``--base '{"v2g_cny_per_pile": 700}'`` reruns the studies under other ``Config000`` values.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: study -> (axis label, settings, 000's statement)
STUDIES: dict[str, tuple[str, tuple[float, ...], str]] = {
    "v2g": (
        "stage-III V2G participation cap",
        (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
        "000 4.4.1: LCC drops rapidly with participation, saturating near 0.6",
    ),
    "storage": (
        "battery unit cost factor",
        (0.1, 0.25, 0.5, 1.0, 2.0),
        "000 4.4.2: without the storage cost decline D holds 40 % less storage, LCC still 12.6 % below A",
    ),
    "response": (
        "EV price response (share following the signal)",
        (0.25, 0.5, 0.75, 1.0),
        "000 4.4.3: low EV price response needs about 30 % more storage",
    ),
}


def config_at(study: str, value: float, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``Config000`` mapping of one setting of a study (on top of ``base``).

    >>> config_at("v2g", 0.02)["v2g_cap"]
    (0.0, 0.02, 0.02)
    >>> config_at("storage", 2.0)["storage_cny_per_kwh"]
    2400.0
    """
    from problems.staged_planning import Config000

    cfg = dict(base or {})
    d = Config000()
    if study == "v2g":
        cfg["v2g_cap"] = (0.0, min(d.v2g_cap[1], float(value)), float(value))
    elif study == "storage":
        cfg["storage_cny_per_kwh"] = d.storage_cny_per_kwh * float(value)
        cfg["storage_cny_per_kw"] = d.storage_cny_per_kw * float(value)
    elif study == "response":
        cfg["ev_price_response"] = float(value)
    else:
        raise ValueError(f"unknown study {study!r}; one of {sorted(STUDIES)}")
    return cfg


def optimise(prob: Any, pop: int, n_gen: int, seed: int, warm: list[np.ndarray]) -> tuple[np.ndarray, bool]:
    """One GA run (:func:`algorithms.ga`) whose first population holds ``warm`` plus uniform random
    points; returns the best plan (feasible first) and whether it is feasible."""
    from pymoo.core.initialization import Initialization
    from pymoo.optimize import minimize

    from algorithms import ga

    rng = np.random.default_rng(seed)
    X0 = rng.uniform(prob.xl, prob.xu, size=(pop, prob.n_var))
    if warm:
        W = np.asarray(warm, dtype=float)[-pop:]
        X0[: len(W)] = np.clip(W, prob.xl, prob.xu)
    alg = ga(pop_size=pop)
    alg.initialization = Initialization(X0, repair=alg.repair, eliminate_duplicates=alg.eliminate_duplicates)
    res = minimize(prob, alg, ("n_gen", int(n_gen)), seed=int(seed), verbose=False)
    if res.opt is not None and len(res.opt) and float(np.ravel(res.opt[0].get("CV"))[0]) <= 0:
        return np.asarray(res.opt[0].get("X"), dtype=float), True
    P = res.pop
    i = int(np.argmin(np.asarray(P.get("CV"), dtype=float).ravel()))
    return np.asarray(P[i].get("X"), dtype=float), False


def plan_kwargs(prob: Any, x: np.ndarray) -> dict[str, Any]:
    """The repaired plan of ``x`` as :meth:`StagedPlanning.encode` keywords (to move a plan between
    schemes or settings: scheme A's plans are plans of D)."""
    p = {k: v[0] for k, v in prob.plans(np.asarray(x, dtype=float)[None]).items()}
    built = p["built"]  # (S, K)
    return {
        "lines": np.where(built.any(0), built.argmax(0) + 1, 0).tolist(),
        "transformer_kva": p["trafo_kva"].tolist(),
        "storage_bus": int(prob.net.bus[p["site"]]),
        "storage_kw": p["storage_kw"].tolist(),
        "smart": p["smart"].tolist(),
        "v2g": p["v2g"].tolist(),
    }


def null_plan(prob: Any) -> np.ndarray:
    """The plan that builds nothing (:meth:`StagedPlanning.null_plan`)."""
    return prob.null_plan()


def _with_shares(prob: Any, kw: dict[str, Any], smart: Any, v2g: Any) -> np.ndarray:
    """``kw``'s plan with other smart and V2G shares: V2G within the caps, smart within 1 - V2G,
    both kept monotone over the stages."""
    v2 = np.minimum(np.asarray(v2g, dtype=float), np.asarray(prob.config.v2g_cap))
    sm = np.minimum(np.asarray(smart, dtype=float), 1.0 - v2)
    sm = np.minimum.accumulate(sm[::-1])[::-1]  # the cap 1 - v2 falls over the stages
    return prob.encode(**{**kw, "v2g": v2.tolist(), "smart": sm.tolist()})


def v2g_benefit(prob: Any, x: np.ndarray, shares: tuple[float, ...]) -> pd.DataFrame:
    """One fixed plan with its stage-III V2G share set to each of ``shares`` (smart share capped at
    1 - share): the LCC, its operating part (losses, curtailment, lost load, EV charging shed; the
    physical benefit of V2G) and the discounted V2G pile investment, M CNY."""
    kw = plan_kwargs(prob, x)
    X = [
        _with_shares(prob, kw, kw["smart"], [min(v, s) for v in kw["v2g"][:-1]] + [float(s)]) for s in shares
    ]
    c = prob.compute(np.asarray(X))
    t = c["lcc_terms_cny"]
    oper = sum(t[k] for k in ("losses", "curtailment", "lost load", "EV charging shed")).sum(-1)
    piles = np.diff(np.c_[np.zeros(len(X)), c["plan"]["v2g"] * prob.n_ev_stage], axis=1).clip(0)
    inv_v2g = (prob.config.v2g_cny_per_pile * piles * prob.disc.first_year).sum(-1)
    return pd.DataFrame(
        {
            "v2g_III": shares,
            "lcc_mcny": c["lcc_cny"] / 1e6,
            "operating_mcny": oper / 1e6,
            "v2g_invest_mcny": inv_v2g / 1e6,
            "peak_mw_III": c["peak_kw"][:, -1] / 1e3,
        }
    )


def describe(prob: Any, x: np.ndarray) -> dict[str, float]:
    """The quantities a sensitivity point reports for one plan."""
    c = prob.compute(x[None])
    plan = c["plan"]
    return {
        "lcc_mcny": float(c["lcc_cny"][0]) / 1e6,
        "storage_kwh_III": float(plan["storage_kw"][0, -1]) * prob.config.storage_hours,
        "v2g_III": float(plan["v2g"][0, -1]),
        "smart_III": float(plan["smart"][0, -1]),
        "trafo_kva_III": float(plan["trafo_kva"][0, -1]),
        "peak_mw_III": float(c["peak_kw"][0, -1]) / 1e3,
        "ev_satisfaction_III": float(c["ev_satisfaction"][0, -1]),
    }


def run_studies(
    studies: list[str],
    *,
    case: str = "ieee33",
    n_scenarios: int = 4,
    pop: int = 30,
    n_gen: int = 40,
    seed: int = 2026,
    passes: int = 2,
    values: dict[str, tuple[float, ...]] | None = None,
    base_config: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """A row per (study, setting) with :func:`describe`'s columns, ``feasible``, and ``d_vs_a_pct``
    (D's LCC below scheme A's optimum, %), from the last of ``passes`` sweeps. Every run starts from
    scheme A's optimum (as a D plan), the base-case D optimum, the study's earlier settings' bests of
    this pass and, after the first pass, every setting's best of the previous pass: the settings
    then share their starting points, so the curve shows the parameter rather than search progress.
    ``base_config`` overrides ``Config000`` fields for every run (e.g. other unit costs)."""
    from problems.staged_planning import StagedPlanning

    base = {**(base_config or {}), "case": case, "n_scenarios": int(n_scenarios)}
    pa = StagedPlanning("A", config=base)
    xa, _ = optimise(pa, pop, n_gen, seed, [null_plan(pa)])
    lcc_a = float(pa.compute(xa[None])["lcc_cny"][0]) / 1e6
    pd_ = StagedPlanning("D", config=base)
    x_a_in_d = pd_.encode(**plan_kwargs(pa, xa))  # A's optimum is a plan of D
    x_d, _ = optimise(pd_, pop, n_gen, seed, [x_a_in_d])
    vals = {st: tuple((values or {}).get(st, STUDIES[st][1])) for st in studies}
    probs = {(st, v): StagedPlanning("D", config=config_at(st, v, base)) for st in studies for v in vals[st]}
    earlier: dict[tuple[str, float], np.ndarray] = {}
    for _ in range(max(1, int(passes))):
        rows, bests = [], {}
        for study in studies:
            prev: list[np.ndarray] = []
            for value in vals[study]:
                prob = probs[(study, value)]
                own = [earlier[(study, value)]] if (study, value) in earlier else []
                others = [b for k, b in earlier.items() if k != (study, value)]
                # optimise keeps the last ``pop`` starts: the most specific ones go last
                starts = [*others, x_a_in_d, x_d, *own, *prev]
                if study == "response":  # also the starts' shares scaled to the same followed share
                    done = [(k[1], b) for k, b in earlier.items() if k[0] == study]
                    done += list(zip(vals[study], prev, strict=False))
                    starts += [
                        _with_shares(
                            prob, kw, np.asarray(kw["smart"]) * r / value, np.asarray(kw["v2g"]) * r / value
                        )
                        for r, b in done
                        if value > 0 and r != value
                        for kw in [plan_kwargs(prob, b)]
                    ]
                x, ok = optimise(prob, pop, n_gen, seed, starts)
                bests[(study, value)] = x
                prev.append(x)
                row = {"study": study, "value": float(value), "feasible": ok, **describe(prob, x)}
                rows.append(row)
        earlier = bests
    # scheme A again, from every D best (A's decoder projects a D plan onto A: lines built in stage
    # I, the largest transformer throughout, no storage or smart/V2G): A gets the same search effort
    xa2, _ = optimise(pa, pop, n_gen, seed, [xa, *earlier.values()])
    lcc_a_first, lcc_a = lcc_a, min(lcc_a, float(pa.compute(xa2[None])["lcc_cny"][0]) / 1e6)
    df = pd.DataFrame(rows)
    df["d_vs_a_pct"] = 100.0 * (1.0 - df["lcc_mcny"] / lcc_a)
    df.attrs["lcc_a_mcny"], df.attrs["lcc_a_first_mcny"] = lcc_a, lcc_a_first
    df.attrs["lcc_d_mcny"] = float(pd_.compute(x_d[None])["lcc_cny"][0]) / 1e6
    if "v2g" in studies:  # the fixed base-case D plan with its V2G share swept
        pv = StagedPlanning("D", config=config_at("v2g", max(vals["v2g"]), base))
        df.attrs["v2g_benefit"] = v2g_benefit(pv, x_d, vals["v2g"])
    return df


def _change(a: float, b: float, tol_kwh: float = 1.0) -> str:
    """Storage ``a`` -> ``b`` as a relative change (words when either holds none)."""
    if a < tol_kwh and b < tol_kwh:
        return "no storage either way"
    if a < tol_kwh:
        return "storage appears"
    return f"{100 * (b / a - 1):+.0f} %"


def findings(df: pd.DataFrame) -> list[str]:
    """Each study's curve reduced to the number 000 states, beside 000's statement."""
    out = []
    for study, g in df.groupby("study", sort=False):
        g = g.sort_values("value")
        v, lcc, sto = g["value"].to_numpy(), g["lcc_mcny"].to_numpy(), g["storage_kwh_III"].to_numpy()
        if study == "v2g":
            drop = lcc[0] - lcc[-1]
            if drop > 1e-3 * lcc[0]:  # a visible fall: where the curve gets 90 % of it
                k90 = float(v[np.argmax(lcc[0] - lcc >= 0.9 * drop)])
                shape = f"{100 * drop / lcc[0]:.2f} %, 90 % of it reached at {k90:g}"
            else:
                shape = f"flat, {100 * drop / lcc[0]:.2f} %"
            ben = df.attrs.get("v2g_benefit")
            if ben is not None:
                op, sv, pk = (ben[c].to_numpy() for c in ("operating_mcny", "v2g_III", "peak_mw_III"))
                m = int(np.argmin(op))
                out.append(
                    f"- fixed base-case D plan, V2G share {', '.join(f'{a:g}' for a in sv)}: operating "
                    f"cost {', '.join(f'{a:.3f}' for a in op)} M CNY (lowest at {sv[m]:g}); V2G piles "
                    f"{', '.join(f'{a:.2f}' for a in ben['v2g_invest_mcny'])} M CNY; stage-III peak "
                    f"{', '.join(f'{a:.2f}' for a in pk)} MW"
                )
            out.append(
                f"- V2G participation cap {', '.join(f'{a:g}' for a in v)}: LCC "
                f"{', '.join(f'{a:.3f}' for a in lcc)} M CNY ({shape}); stage-III V2G share used "
                f"{', '.join(f'{a:.3f}' for a in g['v2g_III'])} ({STUDIES['v2g'][2]})"
            )
        elif study == "storage":
            i1 = int(np.argmin(np.abs(v - 1.0)))
            d = g["d_vs_a_pct"].to_numpy()
            out.append(
                f"- storage cost factor {', '.join(f'{a:g}' for a in v)}: stage-III storage "
                f"{', '.join(f'{b:.0f}' for b in sto)} kWh; {_change(sto[0], sto[i1])} from x{v[0]:g} to "
                f"x{v[i1]:g}; D below A {', '.join(f'{a:.1f}' for a in d)} % ({STUDIES['storage'][2]})"
            )
        elif study == "response":
            out.append(
                f"- EV price response {', '.join(f'{a:g}' for a in v)}: stage-III storage "
                f"{', '.join(f'{b:.0f}' for b in sto)} kWh; {_change(sto[-1], sto[0])} from {v[-1]:g} to "
                f"{v[0]:g}; LCC {', '.join(f'{a:.3f}' for a in lcc)} M CNY ({STUDIES['response'][2]})"
            )
    return out


def report(df: pd.DataFrame, settings: str) -> str:
    cols = [
        "value",
        "lcc_mcny",
        "d_vs_a_pct",
        "storage_kwh_III",
        "v2g_III",
        "smart_III",
        "trafo_kva_III",
        "peak_mw_III",
        "ev_satisfaction_III",
        "feasible",
    ]
    parts = [
        f"# Paper 000 section 4.4: sensitivity of scheme D ({settings})\n",
        f"Base-case scheme D's optimum (first run): {df.attrs.get('lcc_d_mcny', float('nan')):.3f} M CNY\n",
        f"Scheme A's optimum (first run {df.attrs.get('lcc_a_first_mcny', float('nan')):.3f}, again from "
        f"the D bests): {df.attrs.get('lcc_a_mcny', float('nan')):.3f} M CNY\n",
    ]
    for study, g in df.groupby("study", sort=False):
        parts.append(
            f"## {STUDIES[study][0]}\n\n" + g[cols].to_string(index=False, float_format="%.3f") + "\n"
        )
    ben = df.attrs.get("v2g_benefit")
    if ben is not None:
        parts.append(
            "## The base-case D plan with its stage-III V2G share set (no re-optimisation)\n\n"
            + ben.to_string(index=False, float_format="%.3f")
            + "\n"
        )
    parts.append("## Findings\n\n" + "\n".join(findings(df)) + "\n")
    return "\n".join(parts)


def write_figure(df: pd.DataFrame, path: Path) -> Path:
    """The sensitivity curves: a panel per study, scheme D's LCC (left axis) and stage-III storage
    (right; the V2G share used for the V2G study), and a panel of the fixed-plan V2G benefit."""
    from matplotlib.figure import Figure

    groups = list(df.groupby("study", sort=False))
    ben = df.attrs.get("v2g_benefit")
    n = len(groups) + (ben is not None)
    fig = Figure(figsize=(4.4 * n, 3.8), layout="constrained")
    axes = list(np.atleast_1d(fig.subplots(1, n, squeeze=False)[0]))
    for ax, (study, g) in zip(axes, groups, strict=False):
        g = g.sort_values("value")
        ax.plot(g["value"], g["lcc_mcny"], "o-", color="C0")
        ax.set_xlabel(STUDIES[study][0], fontsize=8)
        ax.set_ylabel("scheme D LCC / M CNY", color="C0")
        ax2 = ax.twinx()
        col, lab = (
            ("v2g_III", "stage-III V2G share used")
            if study == "v2g"
            else ("storage_kwh_III", "stage-III storage / kWh")
        )
        ax2.plot(g["value"], g[col], "s--", color="C1")
        ax2.set_ylim(0, max(1.1 * float(g[col].max()), 0.1 if study == "v2g" else 100.0))
        ax2.set_ylabel(lab, color="C1")
        if study == "v2g":
            ax.axvline(0.6, color="0.6", lw=0.8, ls=":")
        ax.set_title(STUDIES[study][2].split(":")[0] + f": {study} (re-optimised)", fontsize=9)
    if ben is not None:
        ax = axes[-1]
        ax.plot(ben["v2g_III"], ben["operating_mcny"], "o-", color="C2", label="operating cost")
        ax.plot(ben["v2g_III"], ben["v2g_invest_mcny"], "s--", color="C3", label="V2G piles (discounted)")
        ax.set_xlabel("stage-III V2G share (base-case D plan)", fontsize=8)
        ax.set_ylabel("M CNY")
        ax2 = ax.twinx()
        ax2.plot(ben["v2g_III"], ben["peak_mw_III"], "^:", color="C4")
        ax2.set_ylabel("stage-III peak / MW", color="C4")
        ax.axvline(0.6, color="0.6", lw=0.8, ls=":")
        ax.legend(fontsize=7)
        ax.set_title("fixed plan, V2G share set", fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--studies", default="v2g,storage,response")
    ap.add_argument("--case", default="ieee33")
    ap.add_argument("--scenarios", type=int, default=4)
    ap.add_argument("--pop", type=int, default=30)
    ap.add_argument("--gen", type=int, default=40)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument(
        "--base", default="{}", help="Config000 overrides as JSON, e.g. '{\"v2g_cny_per_pile\": 700}'"
    )
    ap.add_argument("--out", type=Path, default=None, help="write the Markdown report here")
    ap.add_argument("--csv", type=Path, default=None, help="write the table here")
    ap.add_argument("--figures", type=Path, default=None, help="write sensitivity.png into this folder")
    args = ap.parse_args(argv)
    studies = [s.strip() for s in args.studies.split(",") if s.strip()]
    bad = [s for s in studies if s not in STUDIES]
    if bad:
        ap.error(f"unknown studies {bad}; choose from {sorted(STUDIES)}")
    import json

    base = json.loads(args.base)
    if not isinstance(base, dict):
        ap.error("--base must be a JSON object of Config000 fields")
    df = run_studies(
        studies,
        case=args.case,
        n_scenarios=args.scenarios,
        pop=args.pop,
        n_gen=args.gen,
        seed=args.seed,
        passes=args.passes,
        base_config=base,
    )
    text = report(
        df,
        f"{args.case}, GA {args.pop} x {args.gen}, {args.passes} passes, {args.scenarios} "
        f"scenarios, seed {args.seed}" + (f", config {base}" if base else ""),
    )
    print(text)
    if args.out:
        args.out.write_text(text)
    if args.csv:
        df.to_csv(args.csv, index=False)
        if "v2g_benefit" in df.attrs:
            ben_csv = args.csv.with_name(args.csv.stem + "_v2g_benefit.csv")
            df.attrs["v2g_benefit"].to_csv(ben_csv, index=False)
    if args.figures:
        print("figure:", write_figure(df, Path(args.figures) / "sensitivity.png"))


if __name__ == "__main__":
    main()
