"""`filmagg match`: two tables with different column names and formats, linked one-to-one."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from crawler.cli import main
from pipelines.matcher import split_people

LEFT = """id,name,release date,director,duration,genre
tt0054215,Psycho,8 September 1960 (USA),Alfred Hitchcock,109 min,"Horror,Mystery"
tt0155975,Psycho,4 December 1998 (USA),Gus Van Sant,105 min,"Crime,Horror"
tt0021814,Dracula,14 February 1931 (USA),Tod Browning,75 min,Horror
tt0116282,Fargo,8 March 1996 (USA),"Joel Coen, Ethan Coen",98 min,"Crime,Drama"
tt0114369,Se7en,22 September 1995 (USA),David Fincher,127 min,Crime
tt0040522,"Ladri di biciclette",24 November 1948 (Italy),Vittorio De Sica,89 min,Drama
"""
RIGHT = """key;movie;year;directed_by;length;stars
rt1;Psycho;1998;Van Sant, Gus;1 hr. 45 min.;Vince Vaughn | Anne Heche
rt2;Psycho;1960;Hitchcock, Alfred;1 hr. 49 min.;Anthony Perkins | Janet Leigh
rt3;Drácula;1931;George Melford;1 hr. 44 min.;Carlos Villarías
rt4;Seven;1995;David Fincher;2 hr. 7 min.;Brad Pitt | Morgan Freeman
rt5;Fargo;1996;Ethan Coen | Joel Coen;1 hr. 38 min.;Frances McDormand
rt6;Fargo;2014;Noah Hawley;53 min.;Billy Bob Thornton
rt7;Bicycle Thieves;1949;Vittorio De Sica;1 hr. 29 min.;Lamberto Maggiorani
"""


def run(tmp_path: Path, *extra: str) -> tuple[int, list[dict[str, str]]]:
    (tmp_path / "left.csv").write_text(LEFT, encoding="utf-8")
    (tmp_path / "right.csv").write_text(RIGHT, encoding="utf-8")
    out = tmp_path / "pairs.csv"
    code = main(
        [
            "match",
            str(tmp_path / "left.csv"),
            str(tmp_path / "right.csv"),
            "--out",
            str(out),
            *extra,
        ]
    )
    rows = list(csv.DictReader(out.open(encoding="utf-8"))) if out.exists() else []
    return code, rows


def test_match_links_with_maps(tmp_path: Path) -> None:
    code, rows = run(tmp_path, "--left-map", "title=name,date=release date,directors=director,runtime=duration",
                     "--right-map", "id=key,title=movie,directors=directed_by,runtime=length,cast=stars")  # fmt: skip
    assert code == 0
    pairs = {(r["left_id"], r["right_id"]) for r in rows}
    assert pairs == {
        ("tt0054215", "rt2"),
        ("tt0155975", "rt1"),
        ("tt0116282", "rt5"),
        ("tt0114369", "rt4"),
    }
    psycho = next(r for r in rows if r["left_id"] == "tt0054215")
    assert "same director Alfred Hitchcock" in psycho["reasons"] and float(psycho["score"]) > 0.5
    assert list(rows[0]) == ["left_id", "right_id", "score", "reasons"]


def test_well_known_column_names_need_no_map(tmp_path: Path) -> None:
    code, rows = run(
        tmp_path, "--right-map", "id=key,title=movie,directors=directed_by,runtime=length"
    )
    assert code == 0 and len(rows) == 4


def test_bad_map_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(tmp_path, "--right-map", "title=no_such_column")
    assert code == 2
    err = capsys.readouterr().err
    assert "no_such_column" in err and len(err.strip().splitlines()) == 1


def test_unwritable_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "left.csv").write_text(LEFT, encoding="utf-8")
    code = main(
        [
            "match",
            str(tmp_path / "left.csv"),
            str(tmp_path / "left.csv"),
            "--out",
            "/proc/nope/pairs.csv",
        ]
    )
    assert code == 2 and "cannot write" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("cell", "names"),
    [("Joel Coen, Ethan Coen", ["Joel Coen", "Ethan Coen"]), ("Coen, Joel", ["Joel Coen"]),
     ("Cage, Nicolas (I)", ["Nicolas Cage"]), ("Vince Vaughn | Anne Heche", ["Vince Vaughn", "Anne Heche"]),
     ("A One; B Two", ["A One", "B Two"]), ("Van Sant, Gus", ["Gus Van Sant"]), ("", [])],
)  # fmt: skip
def test_split_people(cell: str, names: list[str]) -> None:
    assert split_people(cell) == names
