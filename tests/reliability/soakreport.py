"""What the reliability suite tried and what held: rows filled by the tests, printed as a table at the end."""
from __future__ import annotations

import os
from collections import Counter

SOAK = os.environ.get("RNNVIZ_SOAK", "") == "1"
TRIED: Counter = Counter()
HELD: Counter = Counter()
OUTCOMES: dict[str, Counter] = {}


def cases(default: int, soak: int = 10_000) -> int:
    """How many cases a property test runs: a few hundred in `make test`, `soak` in `make soak`."""
    return soak if SOAK else default


def tried(check: str) -> None:
    TRIED[check] += 1


def held(check: str, outcome: str = "") -> None:
    """One case of `check` held; `outcome` says how (e.g. 'refused: TraceFileError', 'loaded and ran')."""
    HELD[check] += 1
    if outcome:
        OUTCOMES.setdefault(check, Counter())[outcome] += 1


def table() -> str:
    width = max([len(check) for check in TRIED] + [5])
    lines = [f"{'check':<{width}}  {'tried':>7}  {'held':>7}  how", "-" * (width + 40)]
    for check in TRIED:
        how = ", ".join(f"{name} {count}" for name, count in OUTCOMES.get(check, Counter()).most_common())
        lines.append(f"{check:<{width}}  {TRIED[check]:>7}  {HELD[check]:>7}  {how}")
    return "\n".join(lines)
