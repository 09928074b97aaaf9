"""Sync code runs inline during a Lambda invocation, instead of hopping to a worker thread.

FastAPI runs every sync dependency and endpoint through `anyio.to_thread.run_sync`: a chat turn
makes ~30 such hops. A Lambda container serves one request at a time, so under Mangum the hops buy
no concurrency; they cost a thread hand-off each, which on a busy 2-core machine is most of a chat
turn's framework time (bench/chat_latency.py: "rest" p50 44 -> 22 ms under load, with everything
else the same). Inside `inline_sync()` (entered by `make_handler` around each invocation) the
function is called directly; everywhere else — the ASGI app the local runner serves for streaming,
uvicorn, tests driving `app` — anyio's thread pool is used as before.

anyio has no switch for this, so its `run_sync` is wrapped once (the wrapper defers to the original
whenever the context variable is unset); starlette and FastAPI look the function up on the module
at each call, so they all see the wrapper."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterator

_INLINE: ContextVar[bool] = ContextVar("minirag_inline_sync", default=False)
_installed = False


def _install() -> None:
    global _installed
    if _installed:
        return
    import anyio.to_thread

    threaded = anyio.to_thread.run_sync

    async def run_sync(func: Callable[..., Any], *args: Any, abandon_on_cancel: bool = False,
                       cancellable: bool | None = None, limiter: Any = None) -> Any:
        if _INLINE.get():
            return func(*args)
        return await threaded(func, *args, abandon_on_cancel=abandon_on_cancel, cancellable=cancellable,
                              limiter=limiter)

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]
    _installed = True


@contextmanager
def inline_sync() -> Iterator[None]:
    """Run FastAPI's sync dependencies and endpoints in the calling thread meanwhile (the event
    loop Mangum drives is this invocation's alone)."""
    _install()
    token = _INLINE.set(True)
    try:
        yield
    finally:
        _INLINE.reset(token)
