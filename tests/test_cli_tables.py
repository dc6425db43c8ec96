"""Command-line tables: names never wrap or cut, text columns fold at words, a table wider
than the terminal becomes one block per row, and no line is wider than the terminal."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.cli._output import print_rows

_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789.-", min_size=1, max_size=14)


def _lines(capsys) -> list[str]:
    return capsys.readouterr().out.splitlines()


def _cells_of(line: str) -> list[str]:
    return [c.strip() for c in re.split("[│┃]", line)[1:-1]]


def test_runs_at_80_columns_keep_every_name_whole(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    rows = [{"id": f"2026-12-02T1200{i:02d}-delay_match_sample-leaky_rnn-s{i}", "task": "delay_match_sample",
             "model": "leaky_rnn", "status": "converged"} for i in range(3)]
    print_rows(rows, "id", "runs")
    lines = _lines(capsys)
    assert all(len(line) <= 80 for line in lines)
    body = "\n".join(lines)
    for r in rows:  # each value whole, on one line
        assert all(v in body for v in r.values())


def test_too_wide_for_the_terminal_becomes_one_block_per_row(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    rows = [{"id": "run-with-a-rather-long-identifier-0", "task": "delay_match_sample", "model": "leaky_rnn"}]
    print_rows(rows, "id", "runs")
    assert _lines(capsys) == ["runs", "run-with-a-rather-long-identifier-0", "  task: delay_match_sample",
                              "  model: leaky_rnn"]


def test_an_empty_table_says_so(capsys):
    print_rows([], "id", "runs in /tmp/x")
    assert _lines(capsys) == ["runs in /tmp/x: none"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_WORD, st.lists(_WORD, min_size=1, max_size=12)), min_size=1, max_size=6),
       st.integers(30, 140))
def test_tables_fit_the_terminal_and_lose_no_word(names_and_texts, width):
    """For any names and descriptions and any terminal width: every line fits, every name is one
    cell of its own row, and each description's words come back in order across its lines."""
    import io
    import os
    from contextlib import redirect_stdout

    rows = [{"name": n, "description": " ".join(words)} for n, words in names_and_texts]
    out = io.StringIO()
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        with redirect_stdout(out):
            print_rows(rows, "name", long=("description",))
    finally:
        os.environ.pop("COLUMNS") if old is None else os.environ.__setitem__("COLUMNS", old)
    lines = out.getvalue().splitlines()
    if not lines[0].startswith("┏"):  # the per-row layout: a name line, then "  description: ..." folded
        assert [line for line in lines if not line.startswith("  ")] == [r["name"] for r in rows]
        # a line is wider than the terminal only where one word is (names and words are never cut)
        assert all(len(line) <= width or len(line.split()) <= 2 for line in lines)
        text = " ".join(line for line in lines if line.startswith("  ")).replace("description:", "")
        assert text.split() == [w for r in rows for w in r["description"].split()]
        return
    assert all(len(line) <= width for line in lines)
    blocks, cur = [], []
    for line in lines[3:]:  # after the header: rows separated by rules (the table has a long column)
        if line[0] in "├└":
            blocks.append(cur)
            cur = []
        else:
            cur.append(_cells_of(line))
    assert len(blocks) == len(rows)
    for r, block in zip(rows, blocks):
        assert [c[0] for c in block if c[0]] == [r["name"]]
        assert " ".join(c[1] for c in block if c[1]).split() == r["description"].split()
