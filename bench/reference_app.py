"""The cold-start yardstick of bench/cold_start.py: a bare FastAPI + Mangum handler with one route.

Every function ships FastAPI and Mangum, so this is the floor of its import and first request; the
ratios to it cancel out the speed and load of the machine the benchmark happens to run on."""

from fastapi import FastAPI
from mangum import Mangum

app = FastAPI(title="reference")


@app.get("/v1/ping")
def ping() -> dict[str, bool]:
    return {"ok": True}


handler = Mangum(app, lifespan="off")
