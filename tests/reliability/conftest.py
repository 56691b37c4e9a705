"""The reliability suite: every test here is marked `reliability`; `make soak` runs them at full size
(RNNVIZ_SOAK=1) with the `soak`-marked ones, and prints what was tried and what held."""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

import soakreport

# Deterministic in `make test` (the same cases every run, no example database in the tree);
# random in `make soak`, where each run explores new cases.
settings.register_profile("rnnviz", deadline=None, database=None, derandomize=not soakreport.SOAK, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.filter_too_much])
settings.load_profile("rnnviz")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/reliability" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.reliability)


def pytest_terminal_summary(terminalreporter):
    if soakreport.TRIED and (soakreport.SOAK or os.environ.get("RNNVIZ_REPORT") == "1"):
        terminalreporter.section("reliability: what was tried and what held")
        terminalreporter.write_line(soakreport.table())
