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


# ------------------------------------------------------------------------------ scored and strict

CATALOG_L = """id,title,year,director,cast,runtime,type
l1,Thinner,,,,,
l2,Psycho,,,,,
l3,"Amor brujo, El (1986)",,Carlos Saura,,,
l4,Boudu Saved from Drowning,1932,N. Renoir,Michel Simon,85,
l5,Fargo,1996,,,98,
l6,Fargo,2014,,,,TV Series
l7,Ocean's Eleven,2001,Steven Soderbergh,George Clooney; Brad Pitt,116,
l8,The Killers - Leaving Las Vegas,2007,,,,concert
l9,Leaving Las Vegas,1995,Mike Figgis,Nicolas Cage,111,
l10,Psycho II,1983,Richard Franklin,Anthony Perkins,113,
"""
CATALOG_R = """id,title,year,director,cast,runtime,type
r1,Thinner (1996),1996,Tom Holland,Robert John Burke,93,
r2,Psycho,1960,Alfred Hitchcock,Anthony Perkins,109,
r3,Psycho,1998,Gus Van Sant,Vince Vaughn,105,
r4,El amor brujo,1986,Carlos Saura,Antonio Gades,100,
r5,Boudu sauvé des eaux,1932,Nadia Renoir,Michel Simon,84,
r6,Fargo,1996,"Coen, Joel",Frances McDormand,98,
r7,Fargo,2014,Noah Hawley,Billy Bob Thornton,53,TV Series
r8,Ocean's 11,2001,Steven Soderbergh,"Clooney, George",116,
r9,Leaving Las Vegas,1995,Mike Figgis,"Cage, Nicolas (I)",112,
r10,Psycho 2,1983,Richard Franklin,Anthony Perkins,113,
"""
# `filmagg match` of CATALOG_L x CATALOG_R before scored matching existed, byte for byte.
STRICT_PAIRS = (
    "left_id,right_id,score,reasons\n"
    "l10,r10,0.970,same title key 'Psycho II' = 'Psycho 2'; same year 1983; same director Richard "
    "Franklin; 1 shared cast/crew; runtime 113≈113 min\n"
    "l3,r4,0.600,\"same title key 'Amor brujo, El (1986)' = 'El amor brujo'; same director Carlos "
    'Saura"\n'
    "l5,r6,0.650,\"same title 'Fargo'; same year 1996; runtime 98≈98 min; no rival with this title, "
    'year and runtime"\n'
    "l6,r7,0.600,same title 'Fargo'; same year 2014; series: same title and year (runtimes of "
    "series do not compare)\n"
    "l7,r8,0.970,same title key 'Ocean's Eleven' = 'Ocean's 11'; same year 2001; same director "
    "Steven Soderbergh; 1 shared cast/crew; runtime 116≈116 min\n"
    "l9,r9,0.970,same title 'Leaving Las Vegas'; same year 1995; same director Mike Figgis; 1 "
    "shared cast/crew; runtime 111≈112 min\n"
)


def run_catalog(tmp_path: Path, *extra: str) -> tuple[int, Path]:
    (tmp_path / "l.csv").write_text(CATALOG_L, encoding="utf-8")
    (tmp_path / "r.csv").write_text(CATALOG_R, encoding="utf-8")
    out = tmp_path / "pairs.csv"
    code = main(
        ["match", str(tmp_path / "l.csv"), str(tmp_path / "r.csv"), "--out", str(out), *extra]
    )
    return code, out


def test_strict_reproduces_the_rules_byte_for_byte(tmp_path: Path) -> None:
    code, out = run_catalog(tmp_path, "--strict")
    assert code == 0
    assert out.read_bytes() == STRICT_PAIRS.encode("utf-8")


def test_scored_links_what_the_rules_cannot(tmp_path: Path) -> None:
    code, out = run_catalog(tmp_path)
    assert code == 0
    rows = {r["left_id"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert {k: r["right_id"] for k, r in rows.items()} == {
        "l1": "r1",  # "Thinner" vs "Thinner (1996)": no rival, said so
        "l3": "r4",  # "Amor brujo, El (1986)" vs "El amor brujo"
        "l4": "r5",  # "N. Renoir" = "Nadia Renoir", Michel Simon, 1932: the title is translated
        "l5": "r6",
        "l6": "r7",
        "l7": "r8",
        "l9": "r9",
        "l10": "r10",
    }  # l2 "Psycho" has two same-titled rivals; l8 is a concert film, not the 1995 drama
    assert "title only: no rival" in rows["l1"]["reasons"]
    assert "Renoir" in rows["l4"]["reasons"]
    assert all(0.0 <= float(r["score"]) <= 1.0 for r in rows.values())


def test_threshold_cuts_links(tmp_path: Path) -> None:
    _, out = run_catalog(tmp_path, "--threshold", "0.999")
    high = list(csv.DictReader(out.open(encoding="utf-8")))
    _, out = run_catalog(tmp_path, "--threshold", "0.2")
    low = list(csv.DictReader(out.open(encoding="utf-8")))
    assert all(float(r["score"]) >= 0.999 for r in high)
    assert {r["left_id"] for r in high} < {r["left_id"] for r in low}


def test_report_with_truth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truth = tmp_path / "truth.csv"
    truth.write_text("ltable_id,rtable_id,label\nl1,r1,1\nl4,r5,1\nl8,r9,0\n", encoding="utf-8")
    code, _ = run_catalog(tmp_path, "--truth", str(truth), "--report")
    assert code == 0
    out = capsys.readouterr().out
    assert "labelled pairs only" in out and "<- --threshold" in out
    chosen = next(line for line in out.splitlines() if "<- --threshold" in line)
    assert "P 1.000  R 1.000" in chosen


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--report"], "--report needs --truth"), (["--threshold", "1.5"], "between 0 and 1"),
     (["--strict", "--threshold", "0.5"], "--strict has no scores"),
     (["--truth", "/nonexistent/truth.csv"], "cannot read the truth file")],
)  # fmt: skip
def test_match_option_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                             message: str) -> None:  # fmt: skip
    code, _ = run_catalog(tmp_path, *args)
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
