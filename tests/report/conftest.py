"""The report tests' inputs as a fixture (fresh per test: some tests edit them)."""

from __future__ import annotations

import pytest
from report_inputs import report_inputs


@pytest.fixture()
def inputs() -> dict[str, object]:
    return report_inputs()
