"""Issue 3, point 6 — the summary arithmetic of reports/plans.py on a hand-made frame: plans,
lines, classes, trainees (classes × trainees per class), by status and by province → city."""

import io

import openpyxl
import pandas as pd
import pytest

from reports import plans as report

COLUMNS = [
    "province_code",
    "province",
    "city_code",
    "city",
    "plan_id",
    "status",
    "line_id",
    "classes",
    "trainees_per_class",
    "applied",
    "approved_classes",
]
ROWS = [
    ("44", "广东", "4401", "广州", 3, "approved", 30, 4, 35, 1, 1),
    ("11", "北京", "1101", "东城", 1, "approved", 10, 2, 30, 2, 1),
    ("11", "北京", "1101", "东城", 1, "approved", 11, 1, 25, 0, 0),
    ("11", "北京", "1102", "西城", 2, "under_review", 20, 3, 20, 0, 0),
    ("44", "广东", "4403", "深圳", 4, "under_review", None, 0, 0, 0, 0),  # a plan with no line
]


@pytest.fixture()
def frame(app):
    df = pd.DataFrame(ROWS, columns=COLUMNS)
    df["trainees"] = df["classes"] * df["trainees_per_class"]
    return df


def test_point6_by_status_counts_plans_lines_classes_trainees(frame):
    approved, review, total = report.by_status(frame)
    assert approved == {
        "status": "approved",
        "plans": 2,
        "lines": 3,
        "classes": 7,
        "trainees": 225,
        "applied": 3,
        "approved_classes": 2,
    }
    assert review == {
        "status": "under_review",
        "plans": 2,
        "lines": 1,
        "classes": 3,
        "trainees": 60,
        "applied": 0,
        "approved_classes": 0,
    }
    assert total["plans"] == 4 and total["lines"] == 4 and total["trainees"] == 285


def test_point6_national_is_in_tree_order_with_subtotals(frame):
    rows = report.national(frame)
    assert [(r["province"], r["city"], r["subtotal"]) for r in rows] == [
        ("北京", "东城", False),
        ("北京", "西城", False),
        ("北京", None, True),
        ("广东", "广州", False),
        ("广东", "深圳", False),
        ("广东", None, True),
    ]
    assert (rows[0]["lines"], rows[0]["classes"], rows[0]["trainees"]) == (2, 3, 85)
    assert (rows[2]["plans"], rows[2]["classes"], rows[2]["trainees"]) == (2, 6, 145)
    assert (rows[5]["plans"], rows[5]["lines"], rows[5]["trainees"]) == (2, 1, 140)


def test_point6_national_xlsx_totals_row_and_numbers(frame):
    data = report.national_xlsx(frame, "全国讲师培训计划汇总")
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert ws["A1"].value == "全国讲师培训计划汇总" and ws.freeze_panes == "A3"
    last = [c.value for c in ws[ws.max_row]]
    assert last[3:] == [4, 4, 10, 285, 3, 2]
    assert all(isinstance(v, int) for v in last[3:])


def test_point6_empty_round_gives_zero_totals(app):
    empty = pd.DataFrame(columns=COLUMNS + ["trainees"])
    assert report.national(empty) == []
    assert report.total_row(empty) == {
        "plans": 0,
        "lines": 0,
        "classes": 0,
        "trainees": 0,
        "applied": 0,
        "approved_classes": 0,
    }
