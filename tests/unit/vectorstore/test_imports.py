"""The vector-store port is cheap to import: the functions that never search (CRUD) may load it
through shared modules without paying for a Qdrant library; the backends load on first use."""

from __future__ import annotations

import json
import subprocess
import sys

QDRANT_LIBRARIES = ("qdrant_client", "qdrant_edge", "numpy")


def test_port_and_store_import_no_qdrant_library():
    script = ("import json, sys\n"
              "import minirag.vectorstore.indexes, minirag.vectorstore.store, minirag.vectorstore.sparse\n"
              f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {QDRANT_LIBRARIES!r})))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
