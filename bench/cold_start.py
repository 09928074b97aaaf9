"""Cold and warm request times of every function in template.yaml.

    .venv/bin/python bench/cold_start.py [--repeats 5] [--embedding-model local/hash]   (make cold-start)
    .venv/bin/python bench/cold_start.py --layer .aws-sam/build/SharedLayer/python \
        --python "$(pyenv root)/versions/3.12.1/bin/python3.12"        # as deployed: after `make sam-build`

For each function, in a fresh interpreter (as a new Lambda container would): the time to import its
handler module, plus its first request (cold = import + first request), then a second request in the
same interpreter (warm). Median of --repeats interpreters. Interpreter start-up itself and Lambda's
own init are not included. With --layer, the zip functions run on the built SharedLayer under the
Lambda runtime's Python with bytecode writing off (-B), as on Lambda's read-only /opt;
--ignore-pyc also ignores the layer's precompiled bytecode (what a plain pip-built layer costs). Targets: CRUD functions <= 0.5 s cold; chat and ingest <= 3 s cold
(LiteLLM-bound).

A seeding step (its own interpreter) migrates a SQLite database, creates a tenant, a bot and an
ingested source (for chat), and queues one fresh ingest message per ingest request measured.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()  # child mode measures from here: nothing but stdlib imported yet

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CRUD_TARGET_S = 0.5
MODEL_TARGET_S = 3.0
MODEL_FUNCTIONS = {"ChatFunction", "IngestFunction"}
PASSWORD = "correct horse battery staple"


def _request(function: str, seed: dict) -> tuple[str, str, dict | None, dict | None]:
    """(method, path, query, json body) of the representative request for each HTTP function."""
    return {
        "TenantsFunction": ("GET", "/v1/tenants/me", None, None),
        "AuthFunction": ("POST", "/v1/auth/token", None, {"email": seed["email"], "password": PASSWORD}),
        "ApiTokensFunction": ("GET", "/v1/api-tokens", None, None),
        "BotProfilesFunction": ("GET", f"/v1/bot-profiles/{seed['bot_id']}", None, None),
        "SourcesFunction": ("GET", "/v1/sources", {"bot_profile_id": seed["bot_id"]}, None),
        "ChatFunction": ("POST", "/v1/chat", None, {"bot_profile_id": seed["bot_id"],
                                                    "message": "How long do refunds take?"}),
    }[function]


# -- child: one fresh interpreter, one function ---------------------------------------------------

def child(function: str, seed_file: Path, messages: list[str]) -> None:
    import importlib.util

    seed = json.loads(seed_file.read_text())
    spec = seed["functions"][function]
    path = ROOT / spec["code_uri"] / (spec["handler"].rsplit(".", 1)[0] + ".py")
    module_spec = importlib.util.spec_from_file_location("app", path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules["app"] = module
    module_spec.loader.exec_module(module)
    handler = getattr(module, spec["handler"].rsplit(".", 1)[1])
    imported = time.perf_counter() - _T0

    from minirag.local.events import LambdaContext, SqsRecordInput, http_api_event, sqs_event

    def event(n: int) -> dict:
        if function == "IngestFunction":
            return sqs_event([SqsRecordInput(messages[n])])
        method, route_path, query, body = _request(function, seed)
        headers = {"content-type": "application/json"}
        if function != "AuthFunction":
            headers["authorization"] = f"Bearer {seed['token']}"
        return http_api_event(method, route_path, route_key=f"{method} {spec['routes'].get(route_path, route_path)}",
                              path_parameters={"id": route_path.rsplit("/", 1)[1]} if "{id}" in
                              spec["routes"].get(route_path, "") else None,
                              query=query, headers=headers, body=json.dumps(body) if body else None)

    timings = []
    for n in range(2):
        payload = event(n)
        started = time.perf_counter()
        result = handler(payload, LambdaContext(function_name=function))
        timings.append(time.perf_counter() - started)
        status = result.get("statusCode", 200) if isinstance(result, dict) else 200
        failures = result.get("batchItemFailures") if isinstance(result, dict) else None
        if status >= 400 or failures:
            raise SystemExit(f"{function} request {n} failed: {str(result)[:500]}")
    print(json.dumps({"import": imported, "first": timings[0], "warm": timings[1]}))


# -- seeding (its own interpreter) ------------------------------------------------------------------

def seed(seed_file: Path, ingest_messages: int) -> None:
    from minirag.cli import build_worker
    from minirag.db.migrate import upgrade
    from minirag.local.events import LambdaContext, http_api_event, response_body_bytes
    from minirag.local.template import load_handler, load_template
    from minirag.queue.publisher import get_memory_queue
    from minirag.settings import get_settings

    settings = get_settings()
    upgrade(settings.resolved_database_url)
    template = load_template(str(ROOT / "template.yaml"))

    def call(method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
        route, params = template.match(method, path)
        headers = {"content-type": "application/json", **({"authorization": f"Bearer {token}"} if token else {})}
        result = load_handler(template, route.function)(
            http_api_event(method, path, route_key=route.route_key, path_parameters=params or None,
                           headers=headers, body=json.dumps(body) if body else None), LambdaContext())
        assert result["statusCode"] < 400, result
        return json.loads(response_body_bytes(result) or b"null")

    email = "owner@bench.example.com"
    tenant = call("POST", "/v1/tenants", {"tenant_name": "Bench", "tenant_slug": "bench", "owner_email": email,
                                          "owner_password": PASSWORD})
    token = tenant["raw_token"]
    bot = call("POST", "/v1/bot-profiles", {"name": "Support", "system_prompt": "Answer from the sources."}, token)
    text = "# Refunds\n\nRefunds are paid within 14 days of the return.\n\n# Hours\n\nWe open at 9am."
    source = call("POST", "/v1/sources", {"bot_profile_id": bot["id"], "name": "Handbook", "source_type": "text",
                                          "content": text}, token)
    call("POST", f"/v1/sources/{source['id']}/ingest", token=token)
    build_worker(template, settings).drain()
    assert call("GET", f"/v1/sources/{source['id']}", token=token)["status"] == "ready"
    for n in range(ingest_messages):  # one queued source per measured ingest request
        extra = call("POST", "/v1/sources", {"bot_profile_id": bot["id"], "name": f"Note {n}", "source_type": "text",
                                             "content": f"# Note {n}\n\nParcel {n} ships within {n + 2} days."}, token)
        call("POST", f"/v1/sources/{extra['id']}/ingest", token=token)
    messages = [m.body for m in get_memory_queue().receive(max_messages=ingest_messages)]
    functions = {
        logical_id: {"code_uri": spec.code_uri, "handler": spec.handler,
                     "image": template.raw["Resources"][logical_id]["Properties"].get("PackageType") == "Image",
                     "routes": {r.path.replace("{id}", bot["id"]) if "{id}" in r.path else r.path: r.path
                                for r in template.routes if r.function.logical_id == logical_id}}
        for logical_id, spec in template.functions.items()
    }
    seed_file.write_text(json.dumps({"token": token, "email": email, "bot_id": bot["id"], "functions": functions,
                                     "ingest_messages": messages}))
    from minirag.vectorstore.client import reset_client

    reset_client()  # release Qdrant's local folder before the measured interpreters open it


# -- parent -----------------------------------------------------------------------------------------

def _environment(data_dir: Path, embedding_model: str) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT", "DATABASE_", "QDRANT_"))}
    env.update({
        "ENVIRONMENT": "local", "DATA_DIR": str(data_dir), "DATABASE_URL": f"sqlite:///{data_dir / 'bench.db'}",
        "QDRANT_PATH": str(data_dir / "qdrant"), "JWT_SECRET": "bench-" + "x" * 40,
        "FERNET_KEYS": Fernet.generate_key().decode(), "EMBEDDING_MODEL": embedding_model,
        "DEFAULT_CHAT_MODEL": "local/extractive", "QUEUE_BACKEND": "memory", "STORAGE_BACKEND": "local",
        "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONDONTWRITEBYTECODE": "",
    })
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--embedding-model", default="local/hash",
                        help="local/hash (no model files) or local/minilm (loads the ONNX model)")
    parser.add_argument("--only", nargs="*", help="function logical ids (default: all)")
    parser.add_argument("--layer", help="run the zip functions on this built layer folder (its python/ dir)")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the measured functions")
    parser.add_argument("--ignore-pyc", action="store_true", help="with --layer: compile every module from source")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--seed", help=argparse.SUPPRESS)
    parser.add_argument("--messages", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.seed), json.loads(args.messages or "[]"))
        return 0
    if args.seed:
        seed(Path(args.seed), args.repeats * 2)
        return 0

    with tempfile.TemporaryDirectory(prefix="minirag-cold-") as tmp:
        data_dir = Path(tmp)
        env = _environment(data_dir, args.embedding_model)
        seed_file = data_dir / "seed.json"
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--seed", str(seed_file), "--repeats", str(args.repeats)],
                       env=env, check=True, cwd=ROOT)
        print(f"seeded in {time.perf_counter() - started:.1f} s (embedding model {args.embedding_model})",
              file=sys.stderr)
        seeded = json.loads(seed_file.read_text())
        messages = seeded["ingest_messages"]
        command = [args.python]
        if args.layer:
            env["PYTHONPATH"] = str(Path(args.layer).resolve())
            command += ["-B"] + (["-X", f"pycache_prefix={data_dir / 'no-pycache'}"] if args.ignore_pyc else [])
        functions = args.only or [f for f in seeded["functions"]
                                   if not (args.layer and seeded["functions"][f]["image"])]
        rows = []
        for function in functions:
            runs = []
            for n in range(args.repeats):
                pair = messages[2 * n:2 * n + 2] if function == "IngestFunction" else []
                out = subprocess.run([*command, __file__, "--child", function, "--seed", str(seed_file),
                                      "--messages", json.dumps(pair)], env=env, cwd=ROOT, capture_output=True,
                                     text=True)
                if out.returncode != 0:
                    print(out.stdout[-2000:], out.stderr[-4000:], file=sys.stderr)
                    return 1
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            median = {k: statistics.median(r[k] for r in runs) for k in ("import", "first", "warm")}
            cold = statistics.median(r["import"] + r["first"] for r in runs)
            target = MODEL_TARGET_S if function in MODEL_FUNCTIONS else CRUD_TARGET_S
            rows.append((function, median["import"], median["first"], cold, median["warm"], target))

    version = subprocess.run([args.python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                             text=True).stdout.strip()
    where = f"layer {args.layer}{' ignoring its .pyc' if args.ignore_pyc else ''}" if args.layer else "the project venv"
    print(f"\nCold start, median of {args.repeats} fresh interpreters (Python {version}, {where}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, embedding {args.embedding_model})\n")
    print("| Function | import | 1st request | cold total | warm request | target (cold) |")
    print("|---|---:|---:|---:|---:|---|")
    for function, imported, first, cold, warm, target in rows:
        mark = "ok" if cold <= target else "MISSED"
        print(f"| {function} | {imported:.2f} s | {first:.2f} s | **{cold:.2f} s** | {warm * 1000:.0f} ms "
              f"| <= {target:g} s {mark} |")
    return 0 if all(cold <= target for *_, cold, _, target in rows) else 2


if __name__ == "__main__":
    raise SystemExit(main())
