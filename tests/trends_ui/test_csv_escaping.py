"""CSV export cells: formula-like text is escaped with a leading quote, numbers stay numbers (unquoted)."""

import csv
import io

from trends.export import escape_cell, trends_csv, write_csv


def test_text_cells_that_start_a_formula_are_escaped():
    for dangerous in ('=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert escape_cell(dangerous) == "'" + dangerous
    for harmless in ("BEANR", "2024-01-01", "<3", "a=b", ""):
        assert escape_cell(harmless) == harmless


def test_numbers_are_written_as_numbers_and_none_as_empty():
    assert escape_cell(-3) == -3
    assert escape_cell(-1.5) == -1.5
    assert escape_cell(0) == 0
    assert escape_cell(None) == ""
    text = write_csv([("=cmd|' /C calc'!A0", -4, 12.5, None, "-ish", "<3")], header=("a", "b", "c", "d", "e", "f"))
    lines = text.split("\r\n")
    assert lines[1] == "'=cmd|' /C calc'!A0,-4,12.5,,'-ish,<3"
    assert list(csv.reader(io.StringIO(text)))[1][0] == "'=cmd|' /C calc'!A0"


def test_trend_rows_from_a_trends_response():
    trends = {
        "filters": {"port": None, "origin": ["ECGYE", "COCTG"], "hub": None},
        "ports": [
            {
                "port": "BEANR",
                "series": [
                    {
                        "bucket": "2024-01-01",
                        "scans": 820,
                        "suspect": 12,
                        "positive": "<3",
                        "seized_kg": None,
                        "cells_left_out": 1,
                    },
                    {
                        "bucket": "2024-01-08",
                        "scans": 0,
                        "suspect": 0,
                        "positive": 0,
                        "seized_kg": 0.0,
                        "cells_left_out": 0,
                    },
                ],
            }
        ],
    }
    assert trends_csv(trends).split("\r\n") == [
        "bucket,port,origin,scans,suspect,positive,seized_kg,cells_left_out",
        '2024-01-01,BEANR,"ECGYE,COCTG",820,12,<3,,1',
        '2024-01-08,BEANR,"ECGYE,COCTG",0,0,0,0.0,0',
        "",
    ]
