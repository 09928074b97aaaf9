"""Model access. `gateway.LLMGateway` is the one place that calls LiteLLM; `offline` serves the
`local/...` models in-process. Importing this package imports neither (LiteLLM costs ~2.4 s)."""
