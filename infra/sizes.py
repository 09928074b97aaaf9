"""Unzipped size of every function as deployed, measured by installing its requirements for the
Lambda platform (manylinux x86_64, CPython 3.12, wheels only) into a folder.

    .venv/bin/python infra/sizes.py [--python3.12 PATH] [--keep DIR]          (make sizes)

- zip functions: SharedLayer, built by the same recipe as `sam build` (shared/Makefile: the
  requirements, shared/minirag and precompiled bytecode) + functions/<group>/; fails when one is
  over Lambda's 250 MB unzipped limit (function + layers);
- image functions: what the Dockerfile adds to the base image (pip install of pyproject's base
  dependencies + its extras, bytecode included, + the handler), reported against the 10 GB image
  limit, and what it would weigh as a zip (showing why it is an image).
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "shared"))

from minirag.local.template import load_template  # noqa: E402

ZIP_LIMIT = 250 * 1024 * 1024
IMAGE_LIMIT = 10 * 1024 ** 3
PLATFORMS = ["manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64"]
PYTHON_VERSION = "3.12"


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def find_python312() -> str | None:
    candidates = [os.environ.get("PYTHON312", "")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")))
    candidates.append(shutil.which("python3.12") or "")
    return next((c for c in candidates if c and Path(c).exists()), None)


def pip_install(python: str, target: Path, requirements: list[str]) -> None:
    """As the image's `pip install` does (bytecode compiled), for the Lambda platform."""
    target.mkdir(parents=True, exist_ok=True)
    command = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--target", str(target), "--implementation", "cp", "--python-version", PYTHON_VERSION,
               "--only-binary=:all:", *[f"--platform={p}" for p in PLATFORMS], *requirements]
    subprocess.run(command, check=True)


def build_layer(python: str, artifacts: Path) -> Path:
    """SharedLayer exactly as `sam build` makes it (shared/Makefile, target build-SharedLayer)."""
    subprocess.run(["make", "-s", "-C", str(ROOT / "shared"), "build-SharedLayer", f"ARTIFACTS_DIR={artifacts}",
                    f"PYTHON={python}"], check=True)
    return artifacts / "python"


def copy_code(target: Path) -> None:
    """The image installs minirag from pyproject; its size is the package folder (without caches)."""
    shutil.copytree(ROOT / "shared" / "minirag", target / "minirag",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True)


def image_extras(dockerfile: Path) -> list[str]:
    """The extras the Dockerfile installs (`pip install "/tmp/src[llm,ingest]"`)."""
    found = re.search(r'/tmp/src\[([a-z,]+)\]', dockerfile.read_text())
    return found.group(1).split(",") if found else []


def mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", help="install into this folder and keep it")
    parser.add_argument("--python3.12", dest="python312", default=find_python312(),
                        help="the Lambda runtime's Python, to compile bytecode as deployed")
    args = parser.parse_args()
    if not args.python312:
        print("error: Python 3.12 (the Lambda runtime) is needed: pyenv install 3.12, or --python3.12", file=sys.stderr)
        return 1
    template = load_template(str(ROOT / "template.yaml"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    resources = template.raw["Resources"]

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="minirag-sizes-"))
    try:
        layer = build_layer(args.python312, work / "layer")
        layer_size = tree_size(layer)
        if (layer / "litellm").exists():
            print("error: litellm is in the shared layer", file=sys.stderr)
            return 1

        rows, failed = [], False
        for logical_id, spec in template.functions.items():
            props = resources[logical_id]["Properties"]
            if props.get("PackageType") == "Image":
                dockerfile = ROOT / resources[logical_id]["Metadata"]["Dockerfile"]
                extras = image_extras(dockerfile)
                folder = work / "images" / logical_id
                extra_requirements = [r for e in extras for r in project["optional-dependencies"][e]]
                pip_install(args.python312, folder, project["dependencies"] + extra_requirements)
                copy_code(folder)
                size = tree_size(folder) + tree_size(ROOT / spec.code_uri)
                rows.append((logical_id, f"image [{','.join(extras)}]", size, IMAGE_LIMIT,
                             f"as a zip it would be {mb(size)}: {'over' if size > ZIP_LIMIT else 'under'} 250 MB"))
            else:
                size = layer_size + tree_size(ROOT / spec.code_uri)
                failed |= size > ZIP_LIMIT
                rows.append((logical_id, "zip + SharedLayer", size, ZIP_LIMIT, "no litellm"))

        print(f"\nUnzipped sizes (Lambda platform wheels, CPython {PYTHON_VERSION}, with bytecode; "
              f"SharedLayer alone {mb(layer_size)})\n")
        print("| Function | package | unzipped | limit | |")
        print("|---|---|---:|---:|---|")
        for logical_id, kind, size, limit, note in rows:
            verdict = "ok" if size <= limit else "OVER"
            print(f"| {logical_id} | {kind} | {mb(size)} | {mb(limit)} {verdict} | {note} |")
        if failed:
            print("error: a zip function is over Lambda's 250 MB unzipped limit", file=sys.stderr)
            return 1
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
