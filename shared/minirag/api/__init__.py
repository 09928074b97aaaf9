"""HTTP layer: FastAPI routers (one per resource), dependencies, schemas and the error envelope.
Routers parse, authorize, call one service and shape the response; rules live in `minirag.services`."""
