"""What differs between the async client and the sync one generated from it (unasync renames
`async_sleep` to `sync_sleep`)."""

from __future__ import annotations

import asyncio
import time

async_sleep = asyncio.sleep
sync_sleep = time.sleep
