"""`minirag dev | migrate | drain | bootstrap-aws | rotate-keys`: the local entry points
(`make dev` runs `minirag dev`)."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SECRETS_FILE = "secrets.env"


def ensure_local_secrets(data_dir: Path) -> Path:
    """Generate JWT_SECRET and FERNET_KEYS once into `<data_dir>/secrets.env` (git-ignored, 0600) and
    export them unless the environment already sets them. Real deployments pass their own."""
    from minirag.security.fernet import generate_key

    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRETS_FILE
    if not path.exists():
        path.write_text(f"JWT_SECRET={secrets.token_urlsafe(48)}\nFERNET_KEYS={generate_key()}\n")
        path.chmod(0o600)
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not os.environ.get(key.strip()):
            os.environ[key.strip()] = value.strip()
    return path


def _prepare(args: argparse.Namespace) -> None:
    from minirag.settings import get_settings

    os.environ.setdefault("ENVIRONMENT", "local")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # no CloudWatch locally: keep stdout readable
    data_dir = Path(os.environ.get("DATA_DIR", ".minirag"))
    ensure_local_secrets(data_dir)
    if getattr(args, "port", None):
        os.environ.setdefault("PUBLIC_BASE_URL", f"http://{args.host}:{args.port}")
    get_settings.cache_clear()


def cmd_migrate(args: argparse.Namespace) -> int:
    from minirag.db.migrate import upgrade
    from minirag.settings import get_settings

    _prepare(args)
    upgrade(get_settings().resolved_database_url)
    print("database is at the latest migration")
    return 0


def build_worker(template, settings):
    """The ingest worker for the template's SQS mapping, on the configured queue backend."""
    from minirag.local.queue import EmbeddedSource, IngestWorker, SqsSource
    from minirag.local.template import load_handler
    from minirag.queue.publisher import resolve_queue_url

    if not template.sqs_mappings:
        return None
    mapping = template.sqs_mappings[0]
    handler = load_handler(template, mapping.function)
    if settings.queue_backend == "sqs":
        source = SqsSource(resolve_queue_url(settings))
    else:
        from minirag.queue.embedded import get_embedded_queue

        source = EmbeddedSource(get_embedded_queue(), settings.ingest_max_receive_count)
    return IngestWorker(handler, source, batch_size=mapping.batch_size,
                        function_name=mapping.function.logical_id, timeout_seconds=mapping.function.timeout)


def cmd_dev(args: argparse.Namespace) -> int:
    import uvicorn

    from minirag.db.migrate import upgrade
    from minirag.local.server import build_local_app
    from minirag.local.template import TemplateError, load_template
    from minirag.settings import get_settings

    _prepare(args)
    settings = get_settings()
    with _step("migrating the database"):
        upgrade(settings.resolved_database_url)
    template = load_template(args.template)
    try:
        app = build_local_app(template, settings)
    except TemplateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    worker = None if args.no_worker else build_worker(template, settings)
    if worker is not None:
        worker.start()
    base = f"http://{args.host}:{args.port}"
    print(f"MiniRAG API listening on {base}  (OpenAPI docs: {base}/docs, spec: {base}/openapi.json)")
    print(f"  database: {settings.resolved_database_url.split('@')[-1]}  vectors: "
          f"{settings.qdrant_url or settings.resolved_qdrant_path}  queue: {settings.queue_backend}  "
          f"routes: {len(template.routes)}", flush=True)
    try:
        # Ctrl-C: open connections get one second, in-flight ingest messages are left to be redelivered.
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, timeout_graceful_shutdown=1)
    finally:
        if worker is not None:
            worker.stop(timeout=0.5)  # a batch still running is abandoned: its messages are not acknowledged
        _close_vector_stores()
    return 0


@contextmanager
def _step(what: str) -> Iterator[None]:
    """`==> what` as a step starts and `<== done in N s` when it ends, so a first run is never silent."""
    print(f"==> {what}", flush=True)
    started = time.perf_counter()
    yield
    print(f"<== {what}: done in {time.perf_counter() - started:.1f} s", flush=True)


def _close_vector_stores() -> None:
    """Close the embedded Qdrant store while the interpreter is still whole (its own `__del__` at exit
    would print a traceback)."""
    if "minirag.vectorstore.indexes" in sys.modules:
        sys.modules["minirag.vectorstore.indexes"].reset_stores()


def cmd_drain(args: argparse.Namespace) -> int:
    from minirag.local.template import load_template
    from minirag.settings import get_settings

    _prepare(args)
    worker = build_worker(load_template(args.template), get_settings())
    processed = worker.drain() if worker else 0
    print(f"processed {processed} ingest messages")
    return 0


def cmd_bootstrap_aws(args: argparse.Namespace) -> int:
    from minirag.local.aws_bootstrap import bootstrap
    from minirag.settings import get_settings

    _prepare(args)
    if not (os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_SQS")) and not args.allow_aws:
        print("error: AWS_ENDPOINT_URL is not set. This creates local stand-ins (LocalStack, moto); in AWS the "
              "stack creates them (sam deploy). Pass --allow-aws to create them in the account anyway.",
              file=sys.stderr)
        return 2
    result = bootstrap(get_settings(), migrate=not args.no_migrate, allowed_origins=args.allowed_origin or None,
                       app_secret_name=args.app_secret)
    print(f"ingest queue: {result.queue_url}\ndead-letter queue: {result.dlq_url}\nupload bucket: {result.bucket}")
    if result.app_secret_arn:
        print(f"app secret: {result.app_secret_arn}")
    if result.migrated:
        print("database is at the latest migration")
    return 0


def cmd_rotate_keys(args: argparse.Namespace) -> int:
    """Re-encrypt every stored provider key under the first FERNET_KEYS key, in one transaction.
    Order: give every function FERNET_KEYS="new,old", run this, then drop "old"."""
    from cryptography.fernet import InvalidToken

    from minirag.db.engine import get_session_factory
    from minirag.db.system import bot_profiles_with_provider_key
    from minirag.security.fernet import rotate_secret
    from minirag.settings import get_settings

    data_dir = Path(os.environ.get("DATA_DIR", ".minirag"))
    if (data_dir / SECRETS_FILE).exists() and not os.environ.get("APP_SECRETS_ARN"):
        ensure_local_secrets(data_dir)  # the local keys, where `minirag dev` keeps them; never generates here
    get_settings.cache_clear()
    keys = get_settings().require_fernet_keys()
    with get_session_factory()() as session:
        bots = bot_profiles_with_provider_key(session)
        for bot in bots:
            try:
                bot.provider_key_encrypted = rotate_secret(bot.provider_key_encrypted)
            except InvalidToken:
                print(f"error: the provider key of bot profile {bot.id} (tenant {bot.tenant_id}) decrypts with none "
                      "of FERNET_KEYS; nothing was changed", file=sys.stderr)
                return 1
        session.commit()
    print(f"re-encrypted {len(bots)} provider keys under the first of {len(keys)} FERNET_KEYS"
          + ("; the older keys can now be removed" if len(keys) > 1 else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="minirag")
    sub = parser.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("dev", help="serve the whole API locally from template.yaml")
    dev.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    dev.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    dev.add_argument("--template", default=None, help="path to template.yaml")
    dev.add_argument("--no-worker", action="store_true", help="do not drain the ingest queue")
    dev.add_argument("--log-level", default="warning")
    dev.set_defaults(func=cmd_dev)
    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(func=cmd_migrate)
    drain = sub.add_parser("drain", help="process queued ingest messages and exit")
    drain.add_argument("--template", default=None)
    drain.set_defaults(func=cmd_drain)
    boot = sub.add_parser("bootstrap-aws", help="create the ingest queue, DLQ and upload bucket (LocalStack, "
                                                "moto: AWS_ENDPOINT_URL) and apply migrations")
    boot.add_argument("--no-migrate", action="store_true", help="only the queue, DLQ and bucket")
    boot.add_argument("--allowed-origin", action="append", help="CORS origin for browser uploads (default *)")
    boot.add_argument("--app-secret", metavar="NAME", help="also store JWT_SECRET, FERNET_KEYS and DATABASE_URL as "
                                                           "this Secrets Manager secret (for sam local)")
    boot.add_argument("--allow-aws", action="store_true", help="run without AWS_ENDPOINT_URL (real AWS)")
    boot.set_defaults(func=cmd_bootstrap_aws)
    rotate = sub.add_parser("rotate-keys", help="re-encrypt stored provider keys under the first FERNET_KEYS key "
                                                "(FERNET_KEYS=\"new,old\"; then drop the old one)")
    rotate.set_defaults(func=cmd_rotate_keys)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
