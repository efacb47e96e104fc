"""Packaging: one list of dependencies, every import declared, and a wheel that carries the whole app.

The wheel tests build the sdist and the wheel as CI would (``python -m build``: the wheel is built from the
sdist), install the wheel with ``pip install --no-deps --target`` into a folder away from the checkout (the
dependencies already installed serve it), and run ``reranklens ui`` from an empty working directory: Chromium
must find the Explore page on the demo, and the server log must hold no exception.
"""

from __future__ import annotations

import ast
import email.parser
import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from pathlib import Path

import pytest
from app_server import REPO, chromium, free_port, log_tail, skip_without_chromium, stop_process, wait_until_healthy
from conftest import missing_environment
from journey import PAGE_TIMEOUT_MS, VIEWPORT, assert_no_exception, screenshot, wait_idle
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from page_env import FOREIGN_ENV
from playwright.sync_api import expect

import reranklens
from components.shared.frame import PAGES

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
CORE = [Requirement(spec) for spec in PROJECT["dependencies"]]
EXTRAS = {name: [Requirement(spec) for spec in specs] for name, specs in PROJECT["optional-dependencies"].items()}
APP_SOURCES = [REPO / "app.py", REPO / "reranklens", REPO / "components", REPO / "pages"]
# Modules of extras a test machine need not have installed (so importlib.metadata cannot name their
# distribution): import name -> distribution.
NOT_INSTALLED_HERE = {"umap": "umap-learn", "psycopg": "psycopg"}


def names(requirements: list[Requirement]) -> set[str]:
    return {canonicalize_name(requirement.name) for requirement in requirements}


def requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def python_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        yield from [path] if path.is_file() else sorted(path.rglob("*.py"))


def imports(tree: ast.AST, module_level_only: bool = False) -> Iterator[str]:
    """Top-level names of absolute imports in ``tree``; with ``module_level_only`` not those in a function
    body (a lazy import runs only when the function does)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if module_level_only and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]
        stack.extend(ast.iter_child_nodes(node))


def third_party_imports(paths: list[Path], module_level_only: bool = False) -> dict[str, set[str]]:
    """Import name -> the files importing it, leaving out the standard library and this repository's code."""
    local = {"reranklens", "components", "tests", "bench"}
    local |= {path.stem for folder in ("tests", "bench") for path in (REPO / folder).rglob("*.py")}
    found: dict[str, set[str]] = {}
    for path in python_files(paths):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name in imports(tree, module_level_only):
            if name not in sys.stdlib_module_names and name not in local:
                found.setdefault(name, set()).add(str(path.relative_to(REPO)))
    return found


@functools.cache
def installed_modules() -> dict[str, list[str]]:
    return packages_distributions()  # reads every installed distribution's file list: seconds


def distributions_of(module: str) -> set[str]:
    known = installed_modules().get(module) or [NOT_INSTALLED_HERE.get(module, "")]
    return {canonicalize_name(name) for name in known if name}


def test_requirement_files_take_everything_from_pyproject() -> None:
    """requirements.txt installs this project with an extra and pins torch (CPU wheel) inside pyproject's range;
    requirements-dev.txt adds the dev extra. A package listed there besides would be a second source of truth."""
    core = {canonicalize_name(r.name): r for r in CORE}
    for path, extra in ((REPO / "requirements.txt", "phoenix"), (REPO / "requirements-dev.txt", "dev")):
        lines = requirement_lines(path)
        assert f"-e .[{extra}]" in lines, f"{path.name} must install this project with the {extra} extra"
        for line in lines:
            if line.startswith(("-e .", "-r requirements.txt")):
                continue
            pin = Requirement(line)
            assert canonicalize_name(pin.name) == "torch", f"{path.name}: {line} belongs in pyproject.toml"
            pinned = next(iter(pin.specifier)).version
            assert core["torch"].specifier.contains(pinned), f"the pin {line} is outside pyproject's {core['torch']}"
    assert "-r requirements.txt" in requirement_lines(REPO / "requirements-dev.txt")
    for line in requirement_lines(REPO / "requirements.txt") + requirement_lines(REPO / "requirements-dev.txt"):
        if line.startswith("-e .["):
            assert set(line.removeprefix("-e .[").rstrip("]").split(",")) <= set(EXTRAS), line


def test_this_environment_meets_the_declared_ranges() -> None:
    """What pyproject declares (core, phoenix, dev) is what CI installed, inside the ranges: a range the
    environment does not meet would only show on a fresh install."""
    for requirement in CORE + EXTRAS["phoenix"] + EXTRAS["dev"]:
        if canonicalize_name(requirement.name) == "reranklens":
            continue
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            pytest.fail(f"{requirement} is declared but not installed (pip install -r requirements-dev.txt)")
        assert requirement.specifier.contains(installed, prereleases=True), f"{requirement}: installed {installed}"


def test_every_third_party_import_of_the_app_is_declared() -> None:
    """Each import in the engine and the app is a runtime dependency or an extra (not merely there by luck,
    as a dependency of a dependency); one of an extra is never imported at module level, so an install
    without that extra still starts."""
    core = names(CORE)
    optional = set().union(*(names(requirements) for requirements in EXTRAS.values()))
    for module, files in third_party_imports(APP_SOURCES).items():
        candidates = distributions_of(module)
        assert candidates, f"import {module} ({sorted(files)}) is not installed: which distribution is it?"
        assert candidates & (core | optional), f"import {module} ({sorted(files)}): declare one of {candidates}"
    for module, files in third_party_imports(APP_SOURCES, module_level_only=True).items():
        assert distributions_of(module) & core, (
            f"{sorted(files)} import {module} at module level, but it is only in an extra: import it where it "
            "is used and say which extra to install"
        )


def test_every_third_party_import_of_the_tests_is_declared() -> None:
    # The dev extra pulls in others as "reranklens[phoenix]", "reranklens[postgres]".
    included = [extra for req in EXTRAS["dev"] if req.name == "reranklens" for extra in req.extras]
    declared = names(CORE) | names(EXTRAS["dev"]) | set().union(*(names(EXTRAS[extra]) for extra in included))
    for module, files in third_party_imports([REPO / "tests", REPO / "bench"]).items():
        assert distributions_of(module) & declared, f"import {module} ({sorted(files)}): add it to the dev extra"


def test_the_wheel_lists_every_package() -> None:
    """setuptools' package list is explicit (the app folder is mapped, not found): each folder with an
    ``__init__.py`` in the engine and in components/ must be on it, and nothing else."""
    setuptools = PYPROJECT["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"reranklens_app": "."}
    on_disk = {"reranklens_app"}
    for root, prefix in ((REPO / "reranklens", "reranklens"), (REPO / "components", "reranklens_app.components")):
        for init in root.rglob("__init__.py"):
            parts = init.parent.relative_to(root).parts
            on_disk.add(".".join((prefix, *parts)))
    assert set(setuptools["packages"]) == on_disk


def test_one_version_everywhere() -> None:
    assert "version" in PROJECT["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "reranklens.__version__"}
    done = subprocess.run(
        [sys.executable, "-m", "reranklens", "--version"],
        capture_output=True,
        text=True,
        env=os.environ | {"PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert (done.returncode, done.stdout.strip()) == (0, f"reranklens {reranklens.__version__}"), done.stderr
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "keepachangelog.com" in changelog and "\n## [Unreleased]\n" in changelog


# The build and install below are shared by the tests of this module: one build, as CI does it once.


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(sdist, wheel) built by ``python -m build`` from a copy of the checkout (no build/ or egg-info left
    in the repository), without an isolated environment: the installed setuptools builds it offline."""
    if importlib.util.find_spec("build") is None:
        missing_environment("needs the `build` package (pip install -r requirements-dev.txt)")
    work = tmp_path_factory.mktemp("dists")
    source = work / "source"
    ignore = shutil.ignore_patterns(
        ".git", "store", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "test-artifacts", ".venv"
    )
    shutil.copytree(REPO, source, ignore=ignore)
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(work / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (sdist,) = (work / "dist").glob("*.tar.gz")
    (wheel,) = (work / "dist").glob("*.whl")
    return sdist, wheel


def app_files() -> set[str]:
    """The app's files in the repository, as the wheel must carry them under ``reranklens_app/``."""
    files = {"app.py", ".streamlit/config.toml"} | {f"pages/{page.name}.py" for page in PAGES}
    for folder in ("components", "data/demo"):
        files |= {
            str(path.relative_to(REPO))
            for path in (REPO / folder).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        }
    return files


def test_the_wheel_carries_the_app_demo_and_config(dists: tuple[Path, Path]) -> None:
    _, wheel = dists
    assert wheel.name.startswith(f"reranklens-{reranklens.__version__}-")
    with zipfile.ZipFile(wheel) as archive:
        listed = set(archive.namelist())
        packaged_config = archive.read("reranklens_app/.streamlit/config.toml")
    missing = {f"reranklens_app/{name}" for name in app_files()} - listed
    assert not missing, f"the wheel lacks {sorted(missing)}"
    engine = {str(path.relative_to(REPO)) for path in (REPO / "reranklens").rglob("*.py")}
    assert engine <= listed, f"the wheel lacks {sorted(engine - listed)}"
    assert packaged_config == (REPO / ".streamlit" / "config.toml").read_bytes()
    strays = [name for name in listed if name.startswith(("tests/", "reranklens_app/tests/")) or "/store/" in name]
    assert not strays, f"the wheel carries {strays[:5]}"


def test_the_wheel_requires_what_pyproject_declares(dists: tuple[Path, Path]) -> None:
    _, wheel = dists
    with zipfile.ZipFile(wheel) as archive:
        (metadata_name,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        metadata = email.parser.Parser().parsestr(archive.read(metadata_name).decode("utf-8"))
    declared = {str(requirement) for requirement in CORE}
    for extra, requirements in EXTRAS.items():
        for requirement in requirements:
            declared.add(str(Requirement(f'{requirement}; extra == "{extra}"')))
    required = {str(Requirement(line)) for line in metadata.get_all("Requires-Dist")}
    assert required == declared
    assert set(metadata.get_all("Provides-Extra")) == {"phoenix", "umap", "postgres", "dev"}
    assert any(str(r) == "torch>=2.1" for r in CORE), "users' projects choose their own torch build"


def test_the_sdist_keeps_the_repository_layout(dists: tuple[Path, Path]) -> None:
    sdist, _ = dists
    with tarfile.open(sdist) as archive:
        listed = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    needed = app_files() | {"pyproject.toml", "MANIFEST.in", "README.md", "CHANGELOG.md", "requirements.txt"}
    assert needed <= listed, f"the sdist lacks {sorted(needed - listed)}"
    assert not [name for name in listed if name.startswith(("tests/", "data/store"))]


@pytest.fixture(scope="module")
def site(dists: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel installed away from the checkout, without dependencies (the ones installed here serve it)."""
    _, wheel = dists
    site = tmp_path_factory.mktemp("installed") / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile", "--disable-pip-version-check"]
    done = subprocess.run([*pip, "--target", str(site), str(wheel)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return site


def installed_env(site: Path, **extra: str) -> dict[str, str]:
    """The environment of a user's shell with the installed wheel on the path and no checkout on it."""
    drop = (*FOREIGN_ENV, "PYTHONPATH", "RERANKLENS_DATA_DIR", "DISPLAY", "WAYLAND_DISPLAY", "XDG_DATA_HOME")
    env = {name: value for name, value in os.environ.items() if name not in drop}
    return env | {"PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1", **extra}


def test_installed_app_finds_itself_and_keeps_stores_in_the_user_data_folder(site: Path, tmp_path: Path) -> None:
    """Installed, the app root is the packaged folder and stores default to the user's data folder (a wheel's
    folder is no place for them); from the checkout, the clone and its git-ignored data/store."""
    show = "from reranklens.config import APP_ROOT, Settings; print(APP_ROOT); print(Settings.from_env().data_dir)"
    done = subprocess.run(
        [sys.executable, "-c", show],
        cwd=tmp_path,
        env=installed_env(site, HOME=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [str(site / "reranklens_app"), str(tmp_path / ".local/share/reranklens")]
    from reranklens.config import APP_ROOT, DEFAULT_DATA_DIR

    assert (APP_ROOT, DEFAULT_DATA_DIR) == (REPO, REPO / "data" / "store")


@pytest.mark.browser
@pytest.mark.slow
def test_installed_wheel_serves_the_demo_from_anywhere(site: Path, tmp_path: Path) -> None:
    """``reranklens ui`` of a wheel installed away from the checkout, started in an empty folder: the packaged
    app on the packaged demo with the packaged Streamlit defaults, its stores in ``--data-dir``."""
    skip_without_chromium()
    workdir, data_dir, log = tmp_path / "empty", tmp_path / "data", tmp_path / "ui.log"
    workdir.mkdir()
    port = free_port()
    env = installed_env(site)
    command = [str(site / "bin" / "reranklens"), "ui", "--port", str(port), "--data-dir", str(data_dir)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=workdir, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(process, url, log)
        # `reranklens ui` became the server (exec): it runs the installed app, not the checkout's.
        served = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
        assert str(site / "reranklens_app" / "app.py").encode() in served, served
        with chromium() as browser:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(url)
            page.wait_for_selector(".rl-row")
            wait_idle(page)
            expect(page).to_have_title("Explore · RerankLens")
            expect(page.locator("table.rl-topk thead")).to_contain_text("Before: Vector search top-3")
            # client.toolbarMode = "minimal" from the packaged config: the working folder has none.
            expect(page.get_by_role("button", name="Deploy")).to_have_count(0)
            screenshot(page, "installed-wheel-explore.png")
    finally:
        stop_process(process)
    assert (data_dir / "golden.sqlite").is_file(), "the first-start demo went somewhere else than --data-dir"
    assert list(workdir.iterdir()) == [], "the app wrote into the folder it was started from"
    assert "Network URL" not in log.read_text(encoding="utf-8"), log_tail(log)  # bound to loopback
    assert_no_exception(log)


def test_without_the_phoenix_extra_the_pull_names_it(tmp_path: Path) -> None:
    """``pip install reranklens`` has no Phoenix client: pulling traces says which extra to install, in one line
    (``sys.modules[name] = None`` makes importing it fail as if it were not installed)."""
    script = (
        "import sys\n"
        "sys.modules['phoenix'] = sys.modules['phoenix.client'] = None\n"
        "from reranklens.cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    args = ["--data-dir", str(tmp_path / "data"), "traces", "import", "--from-phoenix", "http://127.0.0.1:9"]
    done = subprocess.run(
        [sys.executable, "-c", script, *args, "--project", "default", "--name", "px"],
        capture_output=True,
        text=True,
        env=os.environ | {"PYTHONPATH": str(REPO)},
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr == (
        "error: Pulling from Phoenix needs its client, an optional extra: pip install 'reranklens[phoenix]'.\n"
    )
