"""OR-Library row-format reader: real files, gzip, and malformed input reported with its line."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from planner.errors import InputError
from planner.research.orlib import parse_orlib_scp, read_orlib_scp

DATA = Path(__file__).resolve().parents[1] / "data" / "orlib"

SMALL = """3 4
1 2 3 4
2 1 2
1 3
3 2 3 4
"""


def test_reads_scp41_dimensions_and_costs() -> None:
    inst = read_orlib_scp(DATA / "scp41.txt")
    assert (inst.name, inst.n_rows, inst.n_columns) == ("scp41", 200, 1000)
    first_costs = (DATA / "scp41.txt").read_text().split()[2:7]
    assert inst.costs[:5] == [int(c) for c in first_costs]
    # Every row is covered by at least one column and every index is in range.
    covered = {r for column in inst.columns for r in column}
    assert covered == set(range(200))


def test_small_text_parses_to_zero_based_rows() -> None:
    inst = parse_orlib_scp(SMALL)
    assert inst.n_rows == 3 and inst.costs == [1, 2, 3, 4]
    assert inst.columns == [[0], [0, 2], [1, 2], [2]]
    problem = inst.to_problem(unicost=True)
    assert list(problem.costs) == [1, 1, 1, 1]
    assert list(inst.to_problem().costs) == [1, 2, 3, 4]


def test_line_breaks_carry_no_meaning() -> None:
    assert parse_orlib_scp(" ".join(SMALL.split())).columns == parse_orlib_scp(SMALL).columns


def test_gzip_is_detected_from_content(tmp_path: Path) -> None:
    path = tmp_path / "small.txt.gz"
    path.write_bytes(gzip.compress(SMALL.encode()))
    inst = read_orlib_scp(path)
    assert inst.name == "small" and inst.columns == parse_orlib_scp(SMALL).columns


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("3 4\n1 2 x 4\n", 2, "expected an integer"),
        ("3 4\n1 2 3 4\n2 1 2\n1 3\n", 4, "unexpected end of file"),
        ("3 4\n1 2 3 4\n2 1 2\n1 9\n3 2 3 4\n", 4, "column 9, outside 1..4"),
        ("3 4\n1 -2 3 4\n", 2, "negative cost"),
        ("3 4\n1 2 3 4\n2 1 2\n1 3\n3 2 3 4\n7\n", 6, "after the last row"),
        ("3 4\n1 2 3 4\n2 1 2\n\n-1\n", 5, "claims -1 covering columns"),
        ("", 1, "unexpected end of file"),
    ],
)
def test_malformed_files_name_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        parse_orlib_scp(text, source="bad.txt")
    message = str(info.value)
    assert f"bad.txt: line {line}" in message
    assert fragment in message


def test_binary_garbage_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.txt"
    path.write_bytes(b"3 4\n\xff\xfe\x00")
    with pytest.raises(InputError, match="line 2"):
        read_orlib_scp(path)


def test_corrupt_gzip_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.txt.gz"
    path.write_bytes(gzip.compress(SMALL.encode())[:20])
    with pytest.raises(InputError, match="gzip"):
        read_orlib_scp(path)
