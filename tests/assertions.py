"""Assertions on what a client sees: the status and the error envelope
`{"error": {"code", "message", "details": [{"field", "reason"}]}, "detail": message}`."""

from __future__ import annotations

from typing import Any


def assert_error(response: Any, status: int, code: str | None = None, *, field: str | None = None) -> dict[str, Any]:
    """The response is an error envelope with this status (and code, and a detail naming `field`)."""
    assert response.status == status, (response.status, response.body)
    body = response.json
    assert isinstance(body, dict) and set(body) == {"error", "detail"}, body
    error = body["error"]
    assert body["detail"] == error["message"], body  # FastAPI's top-level `detail`, as seed clients read it
    assert {"code", "message", "details"} <= set(error), error
    assert isinstance(error["code"], str) and error["code"], error
    assert isinstance(error["message"], str) and error["message"], error
    if error["details"] is not None:
        assert isinstance(error["details"], list), error
        for detail in error["details"]:
            assert {"field", "reason"} <= set(detail), detail
    if code is not None:
        assert error["code"] == code, error
    if field is not None:
        assert field in response.error_fields(), error
    return error


def sqlite_write_lock_taken(database_url: str) -> bool:
    """Whether another connection holds the SQLite file's write lock right now (BEGIN IMMEDIATE fails at once)."""
    import sqlite3

    conn = sqlite3.connect(database_url.split("///", 1)[1], timeout=0)
    try:
        conn.isolation_level = None
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc), exc
        return True
    finally:
        conn.close()

