"""The local runner: serves the routes declared in `template.yaml` by invoking each function's real
`handler` with API Gateway HTTP API (v2) events, and drains the ingest queue into the real ingest
handler with SQS events. `sam local` needs Docker; this needs nothing."""
