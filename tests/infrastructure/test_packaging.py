"""Packaging within Lambda's limits, checked offline.

Zip functions run on SharedLayer, whose requirements are pyproject's base dependencies (no LiteLLM),
and fit in 250 MB unzipped; the LiteLLM functions are container images built from the same code.
Sizes here are summed from the installed distributions of this environment (their RECORD files,
bytecode included: the layer ships precompiled .pyc files, see shared/Makefile); `make sizes`
(infra/sizes.py, run by .ci/run) measures the Lambda-platform build itself.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from minirag.local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(str(ROOT / "template.yaml"))
RESOURCES = TEMPLATE.raw["Resources"]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
ZIP_LIMIT = 250 * 1024 * 1024


def _functions(package_type: str) -> dict[str, dict]:
    return {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"
            and v["Properties"].get("PackageType", "Zip") == package_type}


def _requirement_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def closure(requirements: list[str]) -> dict[str, metadata.Distribution]:
    """Every installed distribution these requirements pull in (extras and markers honoured)."""
    found: dict[str, tuple[metadata.Distribution, set[str]]] = {}
    todo = [Requirement(r) for r in requirements]
    while todo:
        requirement = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        known = found.get(name)
        if known and set(requirement.extras) <= known[1]:
            continue
        distribution = known[0] if known else metadata.distribution(requirement.name)
        extras = (known[1] if known else set()) | set(requirement.extras)
        found[name] = (distribution, extras)
        for line in distribution.requires or []:
            dependency = Requirement(line)
            if dependency.marker is None or any(dependency.marker.evaluate({"extra": e}) for e in {"", *extras}):
                todo.append(Requirement(str(dependency).split(";")[0]))
    return {name: dist for name, (dist, _) in found.items()}


def installed_size(distributions: dict[str, metadata.Distribution]) -> int:
    total = 0
    for distribution in distributions.values():
        for file in distribution.files or []:
            path = Path(distribution.locate_file(file))
            if path.is_file():
                total += path.stat().st_size
    return total


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def test_layer_requirements_are_pyprojects_base_dependencies():
    # Given the layer's requirements (sam build installs shared/requirements.txt) and pyproject's
    layer = _requirement_lines(ROOT / "shared" / "requirements.txt")

    # Then they are the same list: the layer runs what the tests run
    assert sorted(layer) == sorted(PROJECT["dependencies"])
    assert RESOURCES["SharedLayer"]["Properties"]["ContentUri"].rstrip("/") == "shared"


def test_zip_functions_fit_in_250_mb_without_litellm():
    # Given the layer's dependency closure in this environment
    distributions = closure(PROJECT["dependencies"])

    # Then LiteLLM and the model runtime stay out of it
    assert not {"litellm", "onnxruntime", "tokenizers"} & set(distributions)
    # And each zip function (its folder + the code + the layer's dependencies) fits
    layer = installed_size(distributions) + tree_size(ROOT / "shared" / "minirag")
    for fn_id, fn in _functions("Zip").items():
        size = layer + tree_size(ROOT / fn["Properties"]["CodeUri"])
        assert size < ZIP_LIMIT, f"{fn_id}: {size / 2**20:.0f} MB unzipped"


@pytest.mark.parametrize("fn_id", sorted(_functions("Image")))
def test_litellm_functions_are_images_because_they_would_not_fit(fn_id):
    # Given an image function and the extras its Dockerfile installs
    metadata_ = RESOURCES[fn_id]["Metadata"]
    dockerfile = ROOT / metadata_.get("DockerContext", ".") / metadata_["Dockerfile"]
    extras = re.search(r'/tmp/src\[([a-z,]+)\]', dockerfile.read_text()).group(1).split(",")
    requirements = PROJECT["dependencies"] + [r for e in extras for r in PROJECT["optional-dependencies"][e]]

    # Then it needs LiteLLM, whose closure is beyond a zip package's limit
    distributions = closure(requirements)
    assert "llm" in extras and "litellm" in distributions
    assert installed_size(distributions) > ZIP_LIMIT


@pytest.mark.parametrize("fn_id", sorted(_functions("Image")))
def test_image_is_built_from_the_shared_code_and_runs_the_local_handler(fn_id):
    # Given an image function's Dockerfile
    resource = RESOURCES[fn_id]
    dockerfile = (ROOT / resource["Metadata"]["DockerContext"] / resource["Metadata"]["Dockerfile"]).read_text()
    local = resource["Metadata"]["LocalHandler"]
    module, attribute = local["Handler"].rsplit(".", 1)
    handler_file = f"{local['CodeUri'].rstrip('/')}/{module}.py"

    # Then it installs shared/ through pyproject, copies the file the local runner serves, runs its handler,
    assert "COPY shared/ " in dockerfile and "COPY pyproject.toml" in dockerfile
    assert f"COPY {handler_file} ${{LAMBDA_TASK_ROOT}}/{module}.py" in dockerfile
    assert f'CMD ["{local["Handler"]}"]' in dockerfile
    # on the same Python as the zip functions, without the LiteLLM cost-map download
    runtimes = {fn["Properties"]["Runtime"] for fn in _functions("Zip").values()}
    assert runtimes == {"python" + re.search(r"lambda/python:(\d+\.\d+)", dockerfile).group(1)}
    assert "LITELLM_LOCAL_MODEL_COST_MAP=True" in dockerfile
    # and the build context lets exactly those files in
    ignore = (ROOT / ".dockerignore").read_text()
    for needed in ("pyproject.toml", "README.md", "requirements-models.txt", "shared/", "functions/"):
        assert f"!{needed}" in ignore
    assert attribute == "handler"


def test_image_functions_take_no_layers_or_runtime():
    # Given the image functions (Lambda rejects Layers, Runtime and Handler on them)
    globals_fn = TEMPLATE.raw.get("Globals", {}).get("Function", {})

    # Then neither they nor the Globals carry them
    assert not {"Layers", "Runtime", "Handler"} & set(globals_fn)
    for fn_id, fn in _functions("Image").items():
        assert not {"Layers", "Runtime", "Handler", "CodeUri"} & set(fn["Properties"]), fn_id


def test_makefile_excludes_exactly_the_image_functions_from_sam_build():
    # Given the list `make sam-build` excludes (sam build needs Docker for images)
    makefile = (ROOT / "Makefile").read_text()
    excluded = re.search(r"^SAM_IMAGE_FUNCTIONS\s*:=\s*(.+)$", makefile, re.M).group(1).split()

    # Then it is the template's image functions
    assert sorted(excluded) == sorted(_functions("Image"))


def test_samconfig_has_dev_and_prod_with_template_parameters():
    # Given samconfig.toml
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    parameters = TEMPLATE.raw["Parameters"]

    # Then `sam deploy --config-env dev|prod` finds distinct stacks whose overrides the template declares
    stacks = set()
    for env in ("dev", "prod"):
        deploy = config[env]["deploy"]["parameters"]
        stacks.add(deploy["stack_name"])
        assert "CAPABILITY_IAM" in deploy["capabilities"]
        assert deploy["resolve_image_repos"] is True  # the two image functions need ECR repositories
        overrides = dict(pair.split("=", 1) for pair in deploy["parameter_overrides"].split())
        assert overrides["Stage"] == env
        for name, value in overrides.items():
            assert name in parameters, name
            allowed = parameters[name].get("AllowedValues")
            assert allowed is None or value in allowed, (name, value)
        # secrets are named (SSM/Secrets Manager), never given
        assert overrides["AppSecretsArn"].startswith(f"/minirag/{env}/")
    assert len(stacks) == 2


def test_prod_closes_sign_up_and_every_function_reads_signup():
    # Given samconfig.toml and template.yaml
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    prod = dict(pair.split("=", 1) for pair in config["prod"]["deploy"]["parameters"]["parameter_overrides"].split())
    parameters = TEMPLATE.raw["Parameters"]
    env = TEMPLATE.raw["Globals"]["Function"]["Environment"]["Variables"]

    # Then prod deploys with sign-up closed, the template's default is closed too, and the
    # functions get it as SIGNUP
    assert prod["Signup"] == "closed"
    assert parameters["Signup"]["Default"] == "closed"
    assert env["SIGNUP"] == {"Ref": "Signup"}
