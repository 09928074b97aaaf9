"""Unit tests need no database: override the autouse `clean_state` so they run once, not per backend."""

import pytest

from tests.conftest import reset_caches


@pytest.fixture(autouse=True)
def clean_state():
    reset_caches()
    yield None
    reset_caches()
