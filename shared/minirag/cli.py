"""`minirag dev | migrate | drain | reconcile | redrive-dlq | purge-inactive | bootstrap-aws | rotate-keys |
create-tenant | invite | set-limits`: the local entry points (`make dev` runs `minirag dev`) and the
operator's commands."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from minirag.services.tenants import TenantService

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
    _adopt_shared_vectors(get_settings())
    return 0


def _adopt_shared_vectors(settings) -> None:
    """Vectors of the shared per-model collections (before per-tenant collections) move to their
    tenants' own collections, once; a no-op when there are none."""
    from minirag.db.engine import get_session_factory
    from minirag.db.system import all_tenant_ids
    from minirag.vectorstore.indexes import QdrantIndexes, is_shared_collection

    indexes = QdrantIndexes.from_settings(settings)
    if not any(is_shared_collection(indexes.prefix, n) for n in indexes.list_collections(f"{indexes.prefix}_")):
        return
    with get_session_factory()() as session:
        tenant_ids = all_tenant_ids(session)
    for name, count in indexes.adopt_shared_collections(tenant_ids).items():
        print(f"moved {count} vectors of the shared collection {name} into per-tenant collections")


def build_worker(template, settings, queue: str = "IngestQueue"):
    """The local worker for the template's SQS mapping on `queue` (IngestQueue, WebhookQueue), on the
    configured queue backend; None when the template maps no function to it."""
    from minirag.local.queue import EmbeddedSource, IngestWorker, SqsSource
    from minirag.local.template import load_handler

    mapping = next((m for m in template.sqs_mappings if m.queue_logical_id == queue), None)
    if mapping is None:
        return None
    handler = load_handler(template, mapping.function)
    if queue == "WebhookQueue":
        source = _webhook_source(settings)
    elif settings.queue_backend == "sqs":
        from minirag.queue.publisher import resolve_queue_url

        source = SqsSource(resolve_queue_url(settings))
    else:
        from minirag.queue.embedded import get_embedded_queue

        source = EmbeddedSource(get_embedded_queue(), settings.ingest_max_receive_count)
    return IngestWorker(handler, source, batch_size=mapping.batch_size,
                        function_name=mapping.function.logical_id, timeout_seconds=mapping.function.timeout)


def _webhook_source(settings):
    """The webhook queue: its own embedded queue name (same durable table), or its SQS queue."""
    from minirag.local.queue import EmbeddedSource, SqsSource

    if settings.queue_backend == "sqs":
        from minirag.queue.webhooks import webhook_queue_url

        return SqsSource(webhook_queue_url(), retry_delay_seconds=settings.webhook_retry_delay_seconds)
    from minirag.queue.embedded import EmbeddedQueue
    from minirag.queue.webhooks import WEBHOOK_DEAD_LETTER_QUEUE, WEBHOOK_QUEUE

    return EmbeddedSource(EmbeddedQueue(WEBHOOK_QUEUE, WEBHOOK_DEAD_LETTER_QUEUE), settings.webhook_max_receive_count,
                          retry_delay_seconds=settings.webhook_retry_delay_seconds)


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
        _adopt_shared_vectors(settings)
    template = load_template(args.template)
    try:
        app = build_local_app(template, settings)
    except TemplateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    worker = None if args.no_worker else build_worker(template, settings)
    if worker is not None:
        worker.start()
    webhook_worker = None if args.no_worker else build_worker(template, settings, queue="WebhookQueue")
    if webhook_worker is not None:
        webhook_worker.start()
    scheduler = None
    if not args.no_worker and template.schedules:
        from minirag.local.schedule import Scheduler

        scheduler = Scheduler(template)  # the reconciler: at start-up, then at its template rate
        scheduler.start()
    base = f"http://{args.host}:{args.port}"
    print(f"MiniRAG API listening on {base}  (OpenAPI docs: {base}/docs, spec: {base}/openapi.json, "
          f"dashboard: {base}/dashboard)")
    print(f"  database: {settings.resolved_database_url.split('@')[-1]}  vectors: "
          f"{settings.qdrant_url or settings.resolved_qdrant_path}  queue: {settings.queue_backend}  "
          f"routes: {len(template.routes)}", flush=True)
    try:
        # Ctrl-C: open connections get one second, in-flight ingest messages are left to be redelivered.
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, timeout_graceful_shutdown=1)
    finally:
        if scheduler is not None:
            scheduler.stop()
        if worker is not None:
            worker.stop(timeout=0.5)  # a batch still running is abandoned: its messages go back to the queue
        if webhook_worker is not None:
            webhook_worker.stop(timeout=0.5)
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
    template = load_template(args.template)
    worker = build_worker(template, get_settings())
    processed = worker.drain() if worker else 0
    print(f"processed {processed} ingest messages")
    webhook_worker = build_worker(template, get_settings(), queue="WebhookQueue")
    if webhook_worker is not None:
        print(f"delivered {webhook_worker.drain()} webhook events")
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    """Run the reconciler once, as its schedule does."""
    from minirag.local.schedule import Scheduler
    from minirag.local.template import load_template

    _prepare(args)
    template = load_template(args.template)
    if not template.schedules:
        print("error: template.yaml has no Schedule function", file=sys.stderr)
        return 2
    Scheduler(template).run_all_once()
    print("reconciled")
    return 0


def _reconcile_service():
    from minirag.db.engine import get_session_factory
    from minirag.db.sweep import Sweep
    from minirag.queue.publisher import get_publisher
    from minirag.services.reconcile import ReconcileService
    from minirag.settings import get_settings

    return ReconcileService(Sweep(get_session_factory()), get_settings(), publisher=get_publisher())


def cmd_redrive_dlq(args: argparse.Namespace) -> int:
    """Dead letters back to work (SQS DLQ or the embedded one); failed versions are ingested again."""
    from minirag.settings import get_settings

    _prepare(args)
    settings = get_settings()
    service = _reconcile_service()
    if settings.queue_backend == "sqs":
        handled, skipped = _redrive_sqs(service, settings, args.dlq_url)
    else:
        from minirag.queue.embedded import get_embedded_queue

        queue = get_embedded_queue()
        dead = queue.dead_letters
        report = service.redrive([m.body for m in dead])
        done = set(report.requeued)
        queue.remove_dead_letters([m.message_id for m in dead if m.body in done])
        handled, skipped = len(report.requeued), len(report.skipped)
    print(f"redrove {handled} dead letters" + (f"; {skipped} are not ingest messages and stay in the DLQ"
                                               if skipped else ""))
    return 0


def _redrive_sqs(service, settings, dlq_url: str | None) -> tuple[int, int]:
    import boto3

    client = boto3.client("sqs")
    url = dlq_url or client.get_queue_url(QueueName=settings.ingest_dlq_name)["QueueUrl"]
    handled = skipped = 0
    while True:
        messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                          VisibilityTimeout=300).get("Messages", [])
        if not messages:
            return handled, skipped
        report = service.redrive([m["Body"] for m in messages])
        done = set(report.requeued)
        for m in messages:
            if m["Body"] in done:
                client.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        handled += len(report.requeued)
        skipped += len(report.skipped)


def cmd_purge_inactive(args: argparse.Namespace) -> int:
    """Remove vectors, rows and files of deactivated sources whose purge never completed."""
    from minirag.db.engine import get_session_factory
    from minirag.db.sweep import Sweep
    from minirag.llm.gateway import get_gateway
    from minirag.queue.publisher import get_publisher
    from minirag.services.ingestion import IngestionService
    from minirag.settings import get_settings
    from minirag.storage.uploads import get_storage
    from minirag.vectorstore.indexes import QdrantIndexes

    _prepare(args)
    settings = get_settings()
    sweep = Sweep(get_session_factory())
    refs = sweep.unpurged_sources()
    for tenant_id, source_id in refs:
        with sweep.tenant_scope(tenant_id) as scope:
            IngestionService(scope, settings, gateway=get_gateway(), storage=get_storage(), publisher=get_publisher(),
                             indexes=QdrantIndexes.from_settings(settings)).purge(source_id)
    _close_vector_stores()
    print(f"purged {len(refs)} inactive sources")
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
    from minirag.db.system import bot_profiles_with_provider_key, webhooks_with_secret
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
        hooks = webhooks_with_secret(session)
        for hook in hooks:
            try:
                hook.secret_encrypted = rotate_secret(hook.secret_encrypted)
            except InvalidToken:
                print(f"error: the secret of webhook {hook.id} (tenant {hook.tenant_id}) decrypts with none "
                      "of FERNET_KEYS; nothing was changed", file=sys.stderr)
                return 1
        session.commit()
    print(f"re-encrypted {len(bots)} provider keys and {len(hooks)} webhook secrets under the first of "
          f"{len(keys)} FERNET_KEYS" + ("; the older keys can now be removed" if len(keys) > 1 else ""))
    return 0


@contextmanager
def _tenant_service() -> Iterator[TenantService]:
    """The operator's TenantService on the configured database (local secrets as `minirag dev` keeps them)."""
    from minirag.db.engine import get_session_factory
    from minirag.db.system import SystemRepository
    from minirag.services.tenants import TenantService
    from minirag.settings import get_settings

    data_dir = Path(os.environ.get("DATA_DIR", ".minirag"))
    if (data_dir / SECRETS_FILE).exists() and not os.environ.get("APP_SECRETS_ARN"):
        ensure_local_secrets(data_dir)
    get_settings.cache_clear()
    with get_session_factory()() as session:
        yield TenantService(SystemRepository(session), get_settings())


def _app_error(exc) -> int:
    reasons = "; ".join(f"{d.get('field')}: {d.get('reason')}" for d in exc.to_body()["error"]["details"])
    print(f"error: {exc.message}" + (f" ({reasons})" if reasons else ""), file=sys.stderr)
    return 1


def cmd_create_tenant(args: argparse.Namespace) -> int:
    """The operator's sign-up, whatever SIGNUP says: prints the owner's first API token once."""
    import getpass

    from minirag.errors import AppError
    from minirag.services.commands import BootstrapTenant

    password = os.environ.get("MINIRAG_OWNER_PASSWORD") or getpass.getpass("owner password (10+ characters): ")
    if len(password) < 10:
        print("error: the owner password needs at least 10 characters", file=sys.stderr)
        return 2
    with _tenant_service() as service:
        try:
            result = service.bootstrap(BootstrapTenant(
                tenant_name=args.name or args.slug, tenant_slug=args.slug, owner_email=args.email.strip().lower(),
                owner_password=password), by_operator=True)
        except AppError as exc:
            return _app_error(exc)
    print(f"tenant {result.tenant.slug} ({result.tenant.id}); owner {result.owner.email}\n"
          f"API token (shown once): {result.raw_token}")
    return 0


def cmd_invite(args: argparse.Namespace) -> int:
    """A single-use sign-up code for SIGNUP=invite, printed once (only its hash is stored)."""
    with _tenant_service() as service:
        invite, code = service.issue_invite(valid_days=args.days)
    print(f"invite code (single use, until {invite.expires_at:%Y-%m-%d %H:%M} UTC): {code}")
    return 0


def cmd_set_limits(args: argparse.Namespace) -> int:
    """Override a tenant's limits: `minirag set-limits acme bots=5 sources=100`; `name=default`
    restores the LIMIT_* setting. Prints the tenant's limits after the change."""
    from minirag.errors import AppError

    changes: dict[str, int | None] = {}
    for item in args.limits:
        name, sep, value = item.partition("=")
        if not sep or not (value == "default" or value.isdigit()):
            print(f"error: {item!r}: write name=N or name=default", file=sys.stderr)
            return 2
        changes[name.strip().replace("-", "_")] = None if value == "default" else int(value)
    with _tenant_service() as service:
        try:
            tenant, limits = service.set_limits(args.slug, changes)
        except AppError as exc:
            return _app_error(exc)
    overridden = set(tenant.limits or {})
    print(f"limits of {tenant.slug}:")
    for name, value in limits.items():
        print(f"  {name} = {value}" + ("  (set for this tenant)" if name in overridden else ""))
    return 0


USER_COMMANDS = ("login", "bots", "sources", "chat", "retrieve", "stats", "export", "tokens")


def _user_command(argv: list[str]) -> int:
    """The user commands live in the SDK (clients/python, `minirag_client.cli`), built on its client."""
    try:
        from minirag_client.cli import main as user_main
    except ImportError:
        print("error: the user commands need the Python SDK: pip install './clients/python[cli]'", file=sys.stderr)
        return 2
    return user_main(argv)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in USER_COMMANDS or (args[:1] and args[0].startswith("--") and
                                             any(a in USER_COMMANDS for a in args)):
        return _user_command(args)
    parser = argparse.ArgumentParser(
        prog="minirag", epilog="User commands (the API through the SDK; `minirag login -h`): "
                               + ", ".join(USER_COMMANDS))
    sub = parser.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("dev", help="serve the whole API locally from template.yaml")
    dev.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    dev.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    dev.add_argument("--template", default=None, help="path to template.yaml")
    dev.add_argument("--no-worker", action="store_true", help="do not drain the ingest queue (nor run the reconciler)")
    dev.add_argument("--log-level", default="warning")
    dev.set_defaults(func=cmd_dev)
    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(func=cmd_migrate)
    drain = sub.add_parser("drain", help="process queued ingest messages and exit")
    drain.add_argument("--template", default=None)
    drain.set_defaults(func=cmd_drain)
    reconcile = sub.add_parser("reconcile", help="run the reconciler once (re-enqueue or fail stuck sources)")
    reconcile.add_argument("--template", default=None)
    reconcile.set_defaults(func=cmd_reconcile)
    redrive = sub.add_parser("redrive-dlq", help="move dead letters back to work (SQS or the embedded queue)")
    redrive.add_argument("--dlq-url", default=None, help="SQS: the DLQ URL (default: looked up from INGEST_DLQ_NAME)")
    redrive.set_defaults(func=cmd_redrive_dlq)
    purge = sub.add_parser("purge-inactive", help="remove vectors, rows and files of deactivated sources whose "
                                                  "purge was lost")
    purge.set_defaults(func=cmd_purge_inactive)
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
    create = sub.add_parser("create-tenant", help="create a tenant with its owner and first API token (any "
                                                  "SIGNUP; password from MINIRAG_OWNER_PASSWORD or a prompt)")
    create.add_argument("slug")
    create.add_argument("--email", required=True, help="the owner's email")
    create.add_argument("--name", help="display name (default: the slug)")
    create.set_defaults(func=cmd_create_tenant)
    invite = sub.add_parser("invite", help="issue a single-use sign-up code (SIGNUP=invite)")
    invite.add_argument("--days", type=int, default=7, help="days the code stays valid (default 7)")
    invite.set_defaults(func=cmd_invite)
    limits = sub.add_parser("set-limits", help="override a tenant's limits: set-limits <slug> bots=5 "
                                               "requests_per_minute=600 sources=default")
    limits.add_argument("slug")
    limits.add_argument("limits", nargs="*", metavar="name=N|default")
    limits.set_defaults(func=cmd_set_limits)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
