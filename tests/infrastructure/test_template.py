"""template.yaml: cfn-lint clean; every HttpApi event reaches a loadable handler; the ingest
queue is wired as AWS advises (partial batch failures, DLQ redrive, visibility >= 6x timeout)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from minirag.local.template import load_handler, load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(str(ROOT / "template.yaml"))
RESOURCES = TEMPLATE.raw["Resources"]
GLOBAL_TIMEOUT = TEMPLATE.raw.get("Globals", {}).get("Function", {}).get("Timeout", 3)


def _functions() -> dict[str, dict]:
    return {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}


def _events(kind: str) -> list[tuple[str, str, dict]]:
    return [(fn_id, name, event.get("Properties") or {})
            for fn_id, fn in _functions().items()
            for name, event in (fn["Properties"].get("Events") or {}).items() if event["Type"] == kind]


def _cfn_lint() -> str | None:
    beside_python = Path(sys.executable).parent / "cfn-lint"
    return str(beside_python) if beside_python.exists() else shutil.which("cfn-lint")


def test_cfn_lint_passes():
    # Given cfn-lint (from the test extras)
    cfn_lint = _cfn_lint()
    if cfn_lint is None:
        pytest.skip("cfn-lint is not installed (pip install -e '.[test]')")

    # When it checks the template
    result = subprocess.run([cfn_lint, str(ROOT / "template.yaml")], capture_output=True, text=True, timeout=300)

    # Then it reports nothing
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("function_id", "event_name", "props"), _events("HttpApi"),
                         ids=[f"{f}.{e}" for f, e, _ in _events("HttpApi")])
def test_http_api_event_resolves_to_callable_handler(function_id, event_name, props):
    # Given an HttpApi event of a function
    spec = TEMPLATE.functions[function_id]

    # When its handler file is resolved and imported
    path = spec.handler_path(TEMPLATE.root)
    handler = load_handler(TEMPLATE, spec)

    # Then the file exists under the function's CodeUri, exposes a callable `handler`, and the
    # event is attached to the HTTP API
    assert path.exists(), path
    assert spec.handler == "app.handler"
    assert callable(handler)
    assert props.get("ApiId") == {"Ref": "HttpApi"}
    # (versioned under /v1/, but for the one liveness route load balancers call and the dashboard's
    # and widget's static files; OPTIONS only for the CORS preflights minirag.api.cors answers)
    assert props["Path"].startswith(("/v1/", "/dashboard", "/widget/")) or props["Path"] == "/health"
    assert props["Method"] in {"GET", "POST", "PATCH", "DELETE", "PUT"} or (
        props["Method"] == "OPTIONS" and function_id == "SystemFunction")
    if props["Path"].startswith(("/dashboard", "/widget/")):
        assert function_id == "DashboardFunction" and props["Method"] == "GET"


def test_routes_are_unique_and_all_parsed():
    # Given the template's HttpApi events
    keys = [f"{p['Method'].upper()} {p['Path']}" for _, _, p in _events("HttpApi")]

    # Then no route is declared twice, and the runner's route table has them all
    assert [k for k, n in Counter(keys).items() if n > 1] == []
    assert sorted(keys) == sorted(r.route_key for r in TEMPLATE.routes)


def _resolve(value):
    """A literal, or the default of the template parameter it references."""
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in TEMPLATE.raw.get("Parameters", {}):
        return TEMPLATE.raw["Parameters"][value["Ref"]].get("Default")
    return value


def _is_image(fn: dict) -> bool:
    return fn["Properties"].get("PackageType") == "Image"


def test_zip_functions_run_with_the_shared_layer():
    # Given the zip-packaged functions (image functions carry the shared code in their image)
    global_layers = TEMPLATE.raw.get("Globals", {}).get("Function", {}).get("Layers", [])
    zip_functions = {k: v for k, v in _functions().items() if not _is_image(v)}

    # Then each has the shared code layer, whose content is shared/
    assert zip_functions
    for fn_id, fn in zip_functions.items():
        assert {"Ref": "SharedLayer"} in fn["Properties"].get("Layers", global_layers), fn_id
    assert RESOURCES["SharedLayer"]["Properties"]["ContentUri"].rstrip("/") == "shared"


def test_image_functions_name_the_file_the_local_runner_loads():
    # Given the container-image functions
    for fn_id, fn in _functions().items():
        if not _is_image(fn):
            continue
        # Then each says which handler file its image runs, and that file exists
        local = fn["Metadata"]["LocalHandler"]
        spec = TEMPLATE.functions[fn_id]
        assert (spec.code_uri, spec.handler) == (local["CodeUri"].rstrip("/"), local["Handler"])
        assert spec.handler_path(TEMPLATE.root).exists()


def test_sqs_event_reports_batch_item_failures():
    # Given the SQS event sources
    sqs_events = _events("SQS")

    # Then IngestFunction reads IngestQueue and WebhookFunction reads WebhookQueue, both with partial
    # batch responses (the ingest mapping first: the local runner's default worker)
    assert [(f, p["Queue"]) for f, _, p in sqs_events] == [
        ("IngestFunction", {"Fn::GetAtt": ["IngestQueue", "Arn"]}),
        ("WebhookFunction", {"Fn::GetAtt": ["WebhookQueue", "Arn"]})]
    for _, _, props in sqs_events:
        assert "ReportBatchItemFailures" in props["FunctionResponseTypes"]
        assert 1 <= props.get("BatchSize", 10) <= 10
    assert all(m.reports_batch_item_failures for m in TEMPLATE.sqs_mappings)
    assert TEMPLATE.sqs_mappings[0].queue_logical_id == "IngestQueue"


def test_webhook_queue_redrives_to_its_dlq_after_the_settings_attempts():
    from minirag.settings import Settings

    queue = RESOURCES["WebhookQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["WebhookDLQ", "Arn"]}
    assert queue["RedrivePolicy"]["maxReceiveCount"] == {"Ref": "WebhookMaxReceiveCount"}
    env = TEMPLATE.raw["Globals"]["Function"]["Environment"]["Variables"]
    assert env["WEBHOOK_MAX_RECEIVE_COUNT"] == {"Ref": "WebhookMaxReceiveCount"}
    assert env["WEBHOOK_QUEUE_URL"] == {"Ref": "WebhookQueue"}
    assert int(_resolve(queue["RedrivePolicy"]["maxReceiveCount"])) == \
        Settings.model_fields["webhook_max_receive_count"].default
    timeout = int(RESOURCES["WebhookFunction"]["Properties"]["Timeout"])
    assert int(queue["VisibilityTimeout"]) >= 6 * timeout
    assert RESOURCES["WebhookDLQ"]["Properties"]["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]


def test_webhook_function_ships_standardwebhooks():
    # The zip carries its own requirements.txt (sam build installs it beside app.py)
    requirements = (ROOT / "functions" / "webhook_delivery" / "requirements.txt").read_text().split()
    assert "standardwebhooks==1.1.0" in requirements


def test_ingest_queue_redrives_to_dlq():
    # Given the ingest queue
    redrive = RESOURCES["IngestQueue"]["Properties"]["RedrivePolicy"]

    # Then failed messages move to IngestDLQ after a bounded number of receives
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["IngestDLQ", "Arn"]}
    max_receive = int(_resolve(redrive["maxReceiveCount"]))
    assert 1 <= max_receive <= 10
    assert RESOURCES["IngestDLQ"]["Type"] == "AWS::SQS::Queue"
    # And the DLQ keeps messages longer than the source queue (so none expire on the way)
    queue_retention = RESOURCES["IngestQueue"]["Properties"].get("MessageRetentionPeriod", 345600)
    dlq_retention = RESOURCES["IngestDLQ"]["Properties"].get("MessageRetentionPeriod", 345600)
    assert dlq_retention > queue_retention


def test_visibility_timeout_is_at_least_six_times_ingest_timeout():
    # Given the ingest function's timeout (its own or the global one)
    timeout = int(_resolve(RESOURCES["IngestFunction"]["Properties"].get("Timeout", GLOBAL_TIMEOUT)))
    visibility = int(_resolve(RESOURCES["IngestQueue"]["Properties"].get("VisibilityTimeout", 30)))

    # Then the queue hides a received message for at least 6x that
    assert visibility >= 6 * timeout, (visibility, timeout)
    assert TEMPLATE.functions["IngestFunction"].timeout == timeout



def test_ingest_max_receive_count_setting_matches_redrive_policy():
    # Given the redrive policy and the environment the ingest function gets
    from minirag.settings import Settings

    redrive = RESOURCES["IngestQueue"]["Properties"]["RedrivePolicy"]
    env = {**TEMPLATE.raw.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}),
           **RESOURCES["IngestFunction"]["Properties"].get("Environment", {}).get("Variables", {})}
    setting = _resolve(env.get("INGEST_MAX_RECEIVE_COUNT", Settings.model_fields["ingest_max_receive_count"].default))

    # Then the function knows which receive is the last one (and marks the source failed on it)
    assert setting == redrive["maxReceiveCount"] or int(_resolve(setting)) == int(_resolve(redrive["maxReceiveCount"]))
