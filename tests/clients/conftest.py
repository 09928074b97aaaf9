"""The SDK tests: the real local runner (`minirag dev` as a subprocess), one per module."""

from __future__ import annotations

import uuid

import pytest

from tests.runner_process import start_local_runner, stop


@pytest.fixture(scope="module")
def runner_url(tmp_path_factory: pytest.TempPathFactory):
    """Allowed to fetch URL sources from 127.0.0.1 (a test page), as URL_FETCH_ALLOW_PRIVATE allows."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("URL_FETCH_ALLOW_PRIVATE", "true")
        process, api = start_local_runner(tmp_path_factory.mktemp("sdk"))
    try:
        yield api
    finally:
        stop(process)


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]
