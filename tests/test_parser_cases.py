"""Every parser case under fixtures/cases/<site>/<case>/ runs here.

A case is ``meta.json`` ({"url": ..., "encoding": ..., "page": ...}), an ``input.html`` (or
``input.json``) unless ``page`` names a demo-site page under fixtures/sites/ to read instead, and
``expected.json``: either the list of records the parser returns (dumped with
``exclude_defaults``), or ``{"no_film_data": "<reason>"}`` for pages that hold none.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, TextResponse

from crawler.sites import NoFilmData, get_site

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CASES = FIXTURES / "cases"


def _cases() -> list[Path]:
    return sorted(p.parent for p in CASES.glob("*/*/meta.json"))


def load_case(case: Path) -> tuple[TextResponse, object]:
    meta = json.loads((case / "meta.json").read_text(encoding="utf-8"))
    inputs = [FIXTURES / "sites" / meta["page"]] if "page" in meta else sorted(case.glob("input.*"))
    assert inputs and inputs[0].is_file(), f"{case}: no input file"
    body = inputs[0].read_bytes()
    cls = TextResponse if inputs[0].suffix == ".json" else HtmlResponse
    response = cls(url=meta["url"], body=body, encoding=meta.get("encoding"))
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    return response, expected


@pytest.mark.parametrize("case", _cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_parser_case(case: Path) -> None:
    response, expected = load_case(case)
    site = get_site(case.parent.name)
    parser = site.parser_for(response.url)
    assert parser is not None, f"{site.name} has no parser for {response.url}"
    if isinstance(expected, dict) and "no_film_data" in expected:
        with pytest.raises(NoFilmData) as info:
            parser(response)
        assert info.value.reason == expected["no_film_data"]
        return
    records = [r.model_dump(mode="json", exclude_defaults=True) for r in parser(response)]
    assert records == expected


def test_cases_exist() -> None:
    assert _cases(), "no parser cases found under fixtures/cases"
