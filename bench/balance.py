"""Benchmark of the balance solver, against one evaluation of the same scenario.

Baseline (measured in the same run): ``evaluate(alaska-2025)`` without people
on the map of 15 Aug 2025.  The solver evaluates the scenario once, bisects
(each step selects a band along the Russian edge in Zaporizhzhia and
Kherson) and re-evaluates the solved scenario, so its cost is a few
evaluations plus one band per step; the ratio says how many.

Run alone with ``python bench/balance.py``; ``run(results)`` adds the figures
to a results dict (as bench/run.py does).
"""

from __future__ import annotations

import json

from bench.common import median_s

CASES = {
    "transfer": {"kind": "transfer"},
    "zone": {"kind": "zone"},
}


def run(results: dict, repeat: int = 3) -> None:
    """Add the balance benchmarks to `results` (seconds and ratios)."""
    from territory.accounting import evaluate
    from territory.balancing import balance
    from territory.record import Record
    from territory.scenario import read_scenario

    sc = read_scenario("alaska-2025")
    control = Record().control(sc.as_of)
    base_s = median_s(lambda: evaluate(sc, control, people=False), repeat)
    for name, kwargs in CASES.items():
        steps = []

        def solve(kwargs=kwargs, steps=steps):
            b = balance(
                sc,
                control,
                within=("Zaporizhzhia", "Kherson"),
                transfer="Ukraine withdraws from Donbas",
                **kwargs,
            )
            steps.append(b.steps)

        ours_s = median_s(solve, repeat)
        results[f"balance_{name}"] = {
            "baseline": "evaluate(alaska-2025, people=False)",
            "baseline_s": base_s,
            "ours_s": ours_s,
            "ratio": ours_s / base_s,
            "bisection_steps": steps[-1],
        }


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    out: dict = {}
    run(out)
    print(json.dumps(out, indent=2))
