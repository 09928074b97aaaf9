"""MiniRAG: a multi-tenant RAG platform built as serverless functions.

`shared/minirag` is the code layer every Lambda function imports: settings, the tenant-scoped data
layer, services, the vector store, the LLM gateway (LiteLLM) and the local runner.
"""

__version__ = "0.1.0"
