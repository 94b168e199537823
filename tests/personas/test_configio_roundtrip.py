"""Every file under examples/ imports, exports and imports back with nothing lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from personas.configio import export_text, import_file, import_text
from personas.configio.demo import demo_load
from personas.configio.parse import detect_format, parse_text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_dns")]

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
EXAMPLES = sorted(
    p for p in EXAMPLES_DIR.iterdir() if p.suffix in {".yaml", ".yml", ".json", ".jsonc"}
)
OPTIONS = {"allow_unset_env": True, "trust_private_urls": True}


def load_example(path: Path):
    # A persona file (source document 003) names providers the demo data brings.
    if detect_format(parse_text(path.read_text())) == "persona":
        demo_load()
    return import_file(path, **OPTIONS)


def test_there_is_an_example_of_every_format():
    formats = {detect_format(parse_text(p.read_text())) for p in EXAMPLES}
    assert formats == {"qfweb", "roles", "registry", "multimodel", "persona"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_it_imports_every_example_and_a_second_import_changes_nothing(path, store_snapshot):
    first = load_example(path)
    assert first.changed
    after = store_snapshot()

    again = import_file(path, **OPTIONS)

    assert not again.changed
    assert "total         0 created, 0 updated" in again.render()
    assert store_snapshot() == after


@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_it_exports_every_example_losslessly(path, fmt, store_snapshot, flush_config):
    load_example(path)
    after = store_snapshot()
    exported = export_text(fmt=fmt)

    into_same = import_text(exported, source=f"export.{fmt}", **OPTIONS)
    assert not into_same.changed
    assert "0 created, 0 updated" in into_same.render()
    assert store_snapshot() == after

    flush_config()
    assert store_snapshot() != after
    into_empty = import_text(exported, source=f"export.{fmt}", **OPTIONS)
    assert into_empty.changed
    assert store_snapshot() == after
    assert export_text(fmt=fmt) == exported


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_it_imports_every_example_on_top_of_the_demo(path, demo):
    report = import_file(path, **OPTIONS)
    assert report.errors == []


def test_the_demo_exports_and_comes_back_identical(demo, store_snapshot, flush_config):
    after = store_snapshot()
    exported = export_text(fmt="yaml")
    flush_config()
    import_text(exported, source="demo-export.yaml", **OPTIONS)
    assert store_snapshot() == after
