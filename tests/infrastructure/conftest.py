"""Template checks need no database: override the autouse `clean_state` so they run once, not per backend."""

import pytest


@pytest.fixture(autouse=True)
def clean_state():
    yield None
