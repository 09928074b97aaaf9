"""Cold start of every function in template.yaml, as a ratio to a bare FastAPI + Mangum handler.

    .venv/bin/python bench/cold_start.py [--repeats 5] [--embedding-model local/minilm]   (make cold-start)
    .venv/bin/python bench/cold_start.py --layer .aws-sam/build/SharedLayer/python \
        --python "$(pyenv root)/versions/3.12.1/bin/python3.12"        # as deployed: after `make sam-build`

Each measurement is a fresh interpreter (a new Lambda container): import the handler module, serve
a first request, then a second one (warm). Every function run is paired with a run of the reference
(bench/reference_app.py, one route) just before it, in the same loop, so both see the same load;
the ratio is the median over repeats of function / its paired reference. Targets (issue 9):
- CRUD functions: handler import <= 2.0x the reference's import, loading none of litellm,
  qdrant_client, onnxruntime, numpy;
- chat and ingest: import + first real request (a chat turn on the offline models; one ingest
  message through the real handler) <= 12x the reference's import + first request. Deferring an
  import to the first request moves its cost; it does not remove it.
Interpreter start-up and Lambda's own init are not included. With --layer, the zip functions run on
the built SharedLayer under the Lambda runtime's Python with bytecode writing off (-B), as on
Lambda's read-only /opt; --ignore-pyc also ignores the layer's precompiled bytecode.

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
REFERENCE = "Reference"
REFERENCE_FILE = ROOT / "bench" / "reference_app.py"
MODEL_FUNCTIONS = {"ChatFunction", "IngestFunction"}
CRUD_IMPORT_TARGET = 2.0  # x the reference's import
MODEL_COLD_TARGET = 12.0  # x the reference's import + first request
HEAVY = ("litellm", "qdrant_client", "onnxruntime", "numpy")
PASSWORD = "correct horse battery staple"


def _request(function: str, seed: dict) -> tuple[str, str, dict | None, dict | None]:
    """(method, path, query, json body) of the representative request for each HTTP function."""
    return {
        REFERENCE: ("GET", "/v1/ping", None, None),
        "TenantsFunction": ("GET", "/v1/tenants/me", None, None),
        "AuthFunction": ("POST", "/v1/auth/token", None, {"email": seed["email"], "password": PASSWORD}),
        "ApiTokensFunction": ("GET", "/v1/api-tokens", None, None),
        "BotProfilesFunction": ("GET", f"/v1/bot-profiles/{seed['bot_id']}", None, None),
        "SourcesFunction": ("GET", "/v1/sources", {"bot_profile_id": seed["bot_id"]}, None),
        "ChatFunction": ("POST", "/v1/chat", None, {"bot_profile_id": seed["bot_id"],
                                                    "message": "How long do refunds take?"}),
    }[function]


def _heavy_loaded() -> list[str]:
    return sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY))


# -- child: one fresh interpreter, one function ---------------------------------------------------

def child(function: str, seed_file: Path, messages: list[str]) -> None:
    import importlib.util

    seed = json.loads(seed_file.read_text())
    if function == REFERENCE:
        path, handler_name, routes = REFERENCE_FILE, "handler", {}
    else:
        spec = seed["functions"][function]
        module_file, handler_name = spec["handler"].rsplit(".", 1)
        path, routes = ROOT / spec["code_uri"] / f"{module_file}.py", spec["routes"]
    module_spec = importlib.util.spec_from_file_location("app", path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules["app"] = module
    module_spec.loader.exec_module(module)
    handler = getattr(module, handler_name)
    imported = time.perf_counter() - _T0
    heavy_at_import = _heavy_loaded()

    from minirag.local.events import LambdaContext, SqsRecordInput, http_api_event, sqs_event

    def event(n: int) -> dict:
        if function == "IngestFunction":
            return sqs_event([SqsRecordInput(messages[n])])
        method, route_path, query, body = _request(function, seed)
        route = routes.get(route_path, route_path)
        headers = {"content-type": "application/json"}
        if function not in ("AuthFunction", REFERENCE):
            headers["authorization"] = f"Bearer {seed['token']}"
        return http_api_event(method, route_path, route_key=f"{method} {route}",
                              path_parameters={"id": route_path.rsplit("/", 1)[1]} if "{id}" in route else None,
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
        if n == 0:
            heavy_after_first = _heavy_loaded()
    print(json.dumps({"import": imported, "first": timings[0], "warm": timings[1],
                      "heavy_import": heavy_at_import, "heavy_first": heavy_after_first}))


# -- seeding (its own interpreter) ------------------------------------------------------------------

def seed(seed_file: Path, ingest_messages: int) -> None:
    sys.path.insert(0, str(ROOT))
    from bench.inprocess import InProcessApi
    from minirag.db.migrate import upgrade
    from minirag.queue.embedded import get_embedded_queue
    from minirag.settings import get_settings

    upgrade(get_settings().resolved_database_url)
    api = InProcessApi()
    email = "owner@bench.example.com"
    tenant = api.ok("POST", "/v1/tenants", {"tenant_name": "Bench", "tenant_slug": "bench", "owner_email": email,
                                            "owner_password": PASSWORD})
    token = tenant["raw_token"]
    bot = api.ok("POST", "/v1/bot-profiles", {"name": "Support", "system_prompt": "Answer from the sources."}, token)
    text = "# Refunds\n\nRefunds are paid within 14 days of the return.\n\n# Hours\n\nWe open at 9am."
    source = api.ok("POST", "/v1/sources", {"bot_profile_id": bot["id"], "name": "Handbook", "source_type": "text",
                                            "content": text}, token)
    api.ok("POST", f"/v1/sources/{source['id']}/ingest", token=token)
    api.worker().drain()
    assert api.ok("GET", f"/v1/sources/{source['id']}", token=token)["status"] == "ready"
    for n in range(ingest_messages):  # one queued source per measured ingest request
        note = {"bot_profile_id": bot["id"], "name": f"Note {n}", "source_type": "text",
                "content": f"# Note {n}\n\nParcel {n} ships within {n + 2} days."}
        extra = api.ok("POST", "/v1/sources", note, token)
        api.ok("POST", f"/v1/sources/{extra['id']}/ingest", token=token)
    messages = [m.body for m in get_embedded_queue().receive(max_messages=ingest_messages)]
    template = api.template
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
        "DEFAULT_CHAT_MODEL": "local/extractive", "QUEUE_BACKEND": "embedded", "STORAGE_BACKEND": "local",
        "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONDONTWRITEBYTECODE": "",
    })
    return env


def _run(command: list[str], function: str, seed_file: Path, messages: list[str], env: dict) -> dict:
    out = subprocess.run([*command, __file__, "--child", function, "--seed", str(seed_file),
                          "--messages", json.dumps(messages)], env=env, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stdout[-2000:], out.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"{function} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _row(function: str, runs: list[dict], references: list[dict]) -> dict:
    """Medians of the runs and of each run's ratio to the reference run paired with it."""
    median = {k: statistics.median(r[k] for r in runs) for k in ("import", "first", "warm")}
    cold = [r["import"] + r["first"] for r in runs]
    ref_cold = [r["import"] + r["first"] for r in references]
    model = function in MODEL_FUNCTIONS
    row = {
        "function": function, **median, "cold": statistics.median(cold),
        "import_ratio": statistics.median(r["import"] / ref["import"] for r, ref in zip(runs, references, strict=True)),
        "cold_ratio": statistics.median(c / rc for c, rc in zip(cold, ref_cold, strict=True)),
        "heavy_import": sorted({m for r in runs for m in r["heavy_import"]}),
        "heavy_first": sorted({m for r in runs for m in r["heavy_first"]}),
    }
    if function == REFERENCE:
        row["target"], row["ok"] = "", True
    elif model:
        row["target"], row["ok"] = f"import + 1st <= {MODEL_COLD_TARGET:g}x", row["cold_ratio"] <= MODEL_COLD_TARGET
    else:
        row["target"] = f"import <= {CRUD_IMPORT_TARGET:g}x, none heavy"
        row["ok"] = row["import_ratio"] <= CRUD_IMPORT_TARGET and not row["heavy_import"]
    return row


def print_table(rows: list[dict], header: str) -> None:
    print(f"\n{header}. Heavy modules: {', '.join(HEAVY)}.\n")
    print("| Function | import | × ref | 1st request | import + 1st | × ref | warm | heavy at import | "
          "heavy after 1st | target |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---|---|")
    for r in rows:
        verdict = "" if r["function"] == REFERENCE else (" ok" if r["ok"] else " **MISSED**")
        print(f"| {r['function'].removesuffix('Function')} | {r['import']:.2f} s | {r['import_ratio']:.2f}× "
              f"| {r['first']:.2f} s | {r['cold']:.2f} s | {r['cold_ratio']:.2f}× | {r['warm'] * 1000:.0f} ms "
              f"| {', '.join(r['heavy_import']) or '–'} | {', '.join(r['heavy_first']) or '–'} "
              f"| {r['target']}{verdict} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--embedding-model", default="local/minilm",
                        help="local/minilm (the offline ONNX model, the default) or local/hash (no model files)")
    parser.add_argument("--only", nargs="*", help="function logical ids (default: all)")
    parser.add_argument("--layer", help="run the zip functions on this built layer folder (its python/ dir)")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the measured functions")
    parser.add_argument("--ignore-pyc", action="store_true", help="with --layer: compile every module from source")
    parser.add_argument("--json", help="also write the rows to this file")
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
        runs: dict[str, list[dict]] = {f: [] for f in functions}
        references: dict[str, list[dict]] = {f: [] for f in functions}
        started = time.perf_counter()
        for n in range(args.repeats):  # interleaved: every round runs each function after its own reference run
            for function in functions:
                pair = messages[2 * n:2 * n + 2] if function == "IngestFunction" else []
                references[function].append(_run(command, REFERENCE, seed_file, [], env))
                runs[function].append(_run(command, function, seed_file, pair, env))
            print(f"round {n + 1}/{args.repeats} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)

    all_references = [r for f in functions for r in references[f]]
    rows = [_row(REFERENCE, all_references, all_references)]
    rows += [_row(f, runs[f], references[f]) for f in functions]
    version = subprocess.run([args.python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                             text=True).stdout.strip()
    where = f"layer {args.layer}{' ignoring its .pyc' if args.ignore_pyc else ''}" if args.layer else "the project venv"
    print_table(rows, f"Cold start, median of {args.repeats} fresh interpreters per function, each paired with a "
                      f"reference run (Python {version}, {where}, {os.cpu_count()} CPUs, load "
                      f"{os.getloadavg()[0]:.1f}, embedding {args.embedding_model})")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0 if all(r["ok"] for r in rows) else 2


if __name__ == "__main__":
    raise SystemExit(main())
