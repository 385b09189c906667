"""``scrapyd-deploy`` builds filmagg's egg, and Scrapyd lists the spiders from that egg.

Both steps are the tools' own, run as a user would: ``scrapyd-deploy --build-egg`` in a copy of
the project (it writes a ``setup.py`` when there is none and runs ``setup.py bdist_egg``), then
``python -m scrapyd.runner list`` (what Scrapyd runs for ``listspiders.json``) with the egg in
Scrapyd's egg storage, from a directory outside the project. A few seconds: marked ``slow``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("scrapyd_client") is None,
        reason="scrapyd-client is not installed (pip install -e '.[dev]')",
    ),  # fmt: skip
    pytest.mark.skipif(
        importlib.util.find_spec("scrapyd") is None,
        reason="scrapyd is not installed (pip install -e '.[dev]')",
    ),  # fmt: skip
]

PROJECT_FILES = ("crawler", "pipelines", "scrapy.cfg", "pyproject.toml", "README.md")


def _env(**extra: str) -> dict[str, str]:
    """No hint of the checkout: what is importable must come from the egg."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"SCRAPY_SETTINGS_MODULE", "PYTHONPATH", "FILMAGG_DB"}}  # fmt: skip
    return {**env, **extra}


@pytest.fixture(scope="module")
def egg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The egg, built by ``scrapyd-deploy --build-egg`` from a copy of the project (it writes
    setup.py, build/ and *.egg-info beside scrapy.cfg, so never in the checkout itself)."""
    project = tmp_path_factory.mktemp("project")
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, project / name)
    script = Path(sys.executable).with_name("scrapyd-deploy")
    deploy = [str(script)] if script.exists() else [sys.executable, "-m", "scrapyd_client.deploy"]
    out = project.parent / "filmagg.egg"
    done = subprocess.run([*deploy, f"--build-egg={out}"], cwd=project, env=_env(),
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert (project / "setup.py").exists()  # scrapyd-client's own, as the README says
    return out


def test_egg_holds_the_project_and_its_scrapy_entry_point(egg: Path) -> None:
    with zipfile.ZipFile(egg) as z:
        names = set(z.namelist())
        entry_points = z.read("EGG-INFO/entry_points.txt").decode()
    assert {"crawler/settings.py", "crawler/spiders/sites.py", "pipelines/stages.py"} <= names
    assert not any(n.startswith("tests/") for n in names)
    assert "[scrapy]\nsettings = crawler.settings" in entry_points


@pytest.fixture(scope="module")
def scrapyd_home(egg: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Scrapyd working directory: scrapyd.conf and the egg stored as version 1 of filmagg."""
    home = tmp_path_factory.mktemp("scrapyd")
    (home / "eggs" / "filmagg").mkdir(parents=True)
    shutil.copy2(egg, home / "eggs" / "filmagg" / "1.egg")
    (home / "scrapyd.conf").write_text(f"[scrapyd]\neggs_dir = {home / 'eggs'}\n")
    return home


def test_scrapyd_lists_the_spiders_from_the_egg(scrapyd_home: Path) -> None:
    from crawler.plans import project_spiders

    done = subprocess.run([sys.executable, "-m", "scrapyd.runner", "list", "-s", "LOG_STDOUT=0"],
                          cwd=scrapyd_home, env=_env(SCRAPY_PROJECT="filmagg"),
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(done.stdout.split()) == sorted(project_spiders())

    # ... and they really come from the egg, not from this checkout
    probe = ("from scrapyd.runner import project_environment\n"
             "with project_environment('filmagg'):\n"
             "    import os, crawler.spiders.sites as m\n"
             "    print(m.__file__, os.environ['SCRAPY_SETTINGS_MODULE'])\n")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", probe], cwd=scrapyd_home,
                          env=_env(SCRAPY_PROJECT="filmagg"), capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    where, settings = done.stdout.split()
    assert where.startswith(str(scrapyd_home / "eggs" / "filmagg" / "1.egg"))
    assert settings == "crawler.settings"


def test_a_crawl_from_the_egg_can_open_the_catalog(scrapyd_home: Path) -> None:
    probe = ("import sys\n"
             "from scrapyd.runner import project_environment\n"
             "with project_environment('filmagg'):\n"
             "    from pipelines.catalog.db import get_engine\n"
             "    get_engine(sys.argv[1])\n")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", probe, f"sqlite:///{scrapyd_home / 'c.db'}"],
                          cwd=scrapyd_home, env=_env(SCRAPY_PROJECT="filmagg"),
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
