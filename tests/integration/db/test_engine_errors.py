"""Database errors never carry the bound values: a failed statement's text is what gets logged
(tracebacks, "unhandled error" lines), and its parameters are token hashes, encrypted provider keys
and tenants' documents."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, StatementError

from minirag.db.engine import get_engine


def test_failed_statement_error_hides_its_parameters():
    # Given a statement bound to a secret that the database refuses (no such table)
    secret = "sk-live-very-secret-provider-key"
    engine = get_engine()

    # When it runs
    with pytest.raises((DBAPIError, StatementError)) as caught:
        with engine.connect() as conn:
            conn.execute(text("INSERT INTO no_such_table (value) VALUES (:value)"), {"value": secret})

    # Then the error (what a log line shows) names the statement but not the value
    assert "no_such_table" in str(caught.value)
    assert secret not in str(caught.value) and secret not in repr(caught.value)
