"""Reads `template.yaml`: the one route table of the project (the runner and the tests use it)."""

from __future__ import annotations

import importlib.util
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import yaml


class _CfnLoader(yaml.SafeLoader):
    """Understands CloudFormation short tags (`!Ref`, `!GetAtt`, `!Sub`, ...) as their long forms."""


def _cfn_tag(loader: _CfnLoader, tag_suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


class TemplateError(RuntimeError):
    """The template and the code disagree (e.g. a route whose handler cannot be loaded)."""


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: str
    handler: str
    timeout: int

    def handler_path(self, root: Path) -> Path:
        module = self.handler.rsplit(".", 1)[0]
        return root / self.code_uri / (module.replace(".", "/") + ".py")


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str
    function: FunctionSpec
    event_name: str

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = ""
        for part in re.split(r"(\{[^}]+\})", self.path):
            if part.startswith("{") and part.endswith("+}"):
                regex += f"(?P<{part[1:-2]}>.+)"
            elif part.startswith("{"):
                regex += f"(?P<{part[1:-1]}>[^/]+)"
            else:
                regex += re.escape(part)
        return re.compile(f"^{regex}$")


@dataclass(frozen=True)
class SqsMapping:
    function: FunctionSpec
    queue_logical_id: str
    batch_size: int
    batching_window_seconds: int
    reports_batch_item_failures: bool


@dataclass(frozen=True)
class ScheduleMapping:
    """A `Schedule` event: EventBridge invokes the function every `rate_seconds`."""

    function: FunctionSpec
    event_name: str
    rate_seconds: int


_RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def _rate_seconds(expression: str) -> int:
    """`rate(5 minutes)` -> 300 (the runner has no cron; a cron() schedule is a start-up error)."""
    found = re.fullmatch(r"rate\((\d+)\s+(\w+)\)", expression.strip())
    if not found or found.group(2) not in _RATE_UNITS:
        raise TemplateError(f"schedule {expression!r}: the local runner understands rate(N minutes|hours|days)")
    return int(found.group(1)) * _RATE_UNITS[found.group(2)]


@dataclass
class Template:
    root: Path
    raw: dict[str, Any]
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    routes: list[HttpRoute] = field(default_factory=list)
    sqs_mappings: list[SqsMapping] = field(default_factory=list)
    schedules: list[ScheduleMapping] = field(default_factory=list)

    def match(self, method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        """Most specific match first: literal segments beat parameters (as API Gateway does)."""
        for route in sorted(self.routes, key=lambda r: (r.path.count("{"), -len(r.path))):
            if route.method not in (method, "ANY"):
                continue
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
        return None

    def path_exists(self, path: str) -> bool:
        return any(r.pattern.match(path) for r in self.routes)


def _function_spec(logical_id: str, props: dict[str, Any], globals_fn: dict[str, Any]) -> FunctionSpec | None:
    metadata_uri = props.get("CodeUri")
    if props.get("PackageType") == "Image":
        return None  # resolved from the resource's Metadata by the caller
    if not isinstance(metadata_uri, str) or "Handler" not in props:
        return None
    timeout = int(props.get("Timeout", globals_fn.get("Timeout", 3)))
    return FunctionSpec(logical_id, metadata_uri.rstrip("/"), str(props["Handler"]), timeout)


def parse_template(path: Path) -> Template:
    raw = yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    template = Template(root=path.parent, raw=raw)
    globals_fn = (raw.get("Globals") or {}).get("Function") or {}
    for logical_id, resource in (raw.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties") or {}
        spec = _function_spec(logical_id, props, globals_fn)
        if spec is None and props.get("PackageType") == "Image":
            local = (resource.get("Metadata") or {}).get("LocalHandler") or {}
            if local:
                timeout = int(props.get("Timeout", globals_fn.get("Timeout", 3)))
                spec = FunctionSpec(logical_id, str(local["CodeUri"]).rstrip("/"), str(local["Handler"]), timeout)
        if spec is None:
            raise TemplateError(f"{logical_id}: cannot tell which handler to run locally")
        template.functions[logical_id] = spec
        for event_name, event in (props.get("Events") or {}).items():
            event_props = event.get("Properties") or {}
            if event.get("Type") == "HttpApi":
                template.routes.append(HttpRoute(str(event_props["Method"]).upper(), str(event_props["Path"]),
                                                 spec, event_name))
            elif event.get("Type") == "SQS":
                queue = event_props.get("Queue")
                queue_id = queue["Fn::GetAtt"][0] if isinstance(queue, dict) and "Fn::GetAtt" in queue else str(queue)
                template.sqs_mappings.append(SqsMapping(
                    spec, queue_id, int(event_props.get("BatchSize", 10)),
                    int(event_props.get("MaximumBatchingWindowInSeconds", 0)),
                    "ReportBatchItemFailures" in (event_props.get("FunctionResponseTypes") or []),
                ))
            elif event.get("Type") == "Schedule":
                template.schedules.append(ScheduleMapping(spec, event_name,
                                                          _rate_seconds(str(event_props["Schedule"]))))
    return template


def default_template_path() -> Path:
    """`template.yaml` at the project root (the working directory or beside the package checkout)."""
    cwd = Path.cwd() / "template.yaml"
    if cwd.exists():
        return cwd
    return Path(__file__).resolve().parents[3] / "template.yaml"


@lru_cache(maxsize=8)
def load_template(path: str | None = None) -> Template:
    return parse_template(Path(path) if path else default_template_path())


_loaded: dict[str, ModuleType] = {}


def _load_module(template: Template, spec: FunctionSpec) -> ModuleType:
    """Import a function's module by file path under a unique name (every function has an `app.py`)."""
    path = spec.handler_path(template.root)
    key = str(path.resolve())
    if key in _loaded:
        return _loaded[key]
    if not path.exists():
        raise TemplateError(f"{spec.logical_id}: handler file {path} does not exist")
    module_name = f"minirag_function_{spec.logical_id}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise TemplateError(f"{spec.logical_id}: cannot load {path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise TemplateError(f"{spec.logical_id}: importing {path} failed: {exc}") from exc
    _loaded[key] = module
    return module


def load_handler(template: Template, spec: FunctionSpec) -> Callable[..., Any]:
    """The function's Lambda entry point, as the template's `Handler` names it."""
    attr = spec.handler.rsplit(".", 1)[1]
    handler = getattr(_load_module(template, spec), attr, None)
    if not callable(handler):
        raise TemplateError(f"{spec.logical_id}: {spec.handler_path(template.root)} has no callable '{attr}'")
    return handler


def load_app(template: Template, spec: FunctionSpec) -> Any | None:
    """An HTTP function's ASGI app (its module's `app`, beside `handler`), which the runner serves
    directly for OpenAPI and response streaming; None for a function without one (ingest)."""
    return getattr(_load_module(template, spec), "app", None)


def load_all_handlers(template: Template) -> dict[str, Callable[..., Any]]:
    """Every function's handler, failing on the first one that is missing: a start-up error."""
    return {logical_id: load_handler(template, spec) for logical_id, spec in template.functions.items()}


def load_all_apps(template: Template) -> dict[str, Any]:
    """The ASGI app of every function that has one."""
    apps = {logical_id: load_app(template, spec) for logical_id, spec in template.functions.items()}
    return {logical_id: app for logical_id, app in apps.items() if app is not None}
