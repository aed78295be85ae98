#!/usr/bin/env python3
"""Measure the faculty bulk import (issue 4 point 5: "5,000 rows import in a few seconds").

Builds a valid N-row file (default 5,000) spread over every province and city of the real
tree, then times each stage of what the confirm request does:

    read      the generic reader alone (reports.imports.read_xlsx: checks, parse, header, cells)
    check     read + every row's checks (ID, region, vocabularies, dates, duplicates in the file
              and against the pool) — what the upload and the confirm each run
    insert    the bulk INSERTs (profiles, revisions, history) + audit entry + commit

Usage:  .venv/bin/python scripts/bench_faculty_import.py [ROWS]
        DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/malan_bench ... (default SQLite
        in memory). The database is emptied and rebuilt: never point it at real data.
"""

import io
import os
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import xlsxwriter  # noqa: E402
from flask_appbuilder import Model  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from stdnum.cn import ric  # noqa: E402

from app import create_app  # noqa: E402
from app.config import TestConfig  # noqa: E402
from app.extensions import db  # noqa: E402
from app.services import accounts, tree, vocabulary  # noqa: E402
from models.faculty import FacultyProfile  # noqa: E402
from models.org import CENTER, CITY, Org  # noqa: E402
from reports import faculty_import as report  # noqa: E402
from reports.imports import read_xlsx  # noqa: E402
from security.sync import sync_roles  # noqa: E402


def build_file(rows: int, cities: list[Org]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "strings_to_numbers": False})
    ws = book.add_worksheet("师资信息")
    for c, (_k, header, *_r) in enumerate(report.FIELDS):
        ws.write_string(0, c, header)
    born = date(1970, 1, 1)
    for n in range(rows):
        city = cities[n % len(cities)]
        body = f"110101{(born + timedelta(days=n // 1000)).strftime('%Y%m%d')}{n % 1000:03d}"
        values = (
            f"讲师{n}",
            "",
            "",
            body + ric.calc_check_digit(body + "0"),
            f"13{n:09d}",
            f"t{n}@example.cn",
            city.province.name,
            city.name,
            "某某大学创业学院",
            "讲师" if n % 2 else "培训师",
            f"C{n:06d}",
            "2024-05-01",
            "2027-05-01",
            "GYB、SYB",
            "普通话",
            str(n % 30),
            "从事创业培训多年，擅长 SYB 课程教学。" * 3,
        )
        for c, value in enumerate(values):
            if value:
                ws.write_string(n + 1, c, value)
    book.close()
    return buffer.getvalue()


def main(rows: int) -> None:
    app = create_app(TestConfig)
    with app.app_context(), app.test_request_context():
        Model.metadata.drop_all(db.engine)
        Model.metadata.create_all(db.engine)
        sync_roles(app.appbuilder.sm)
        vocabulary.seed_defaults()
        tree.load_tree()
        center = db.session.scalar(select(Org).where(Org.kind == CENTER))
        actor, _pw = accounts.create_account(
            name="基准测试", role_kind="center", org=center, now=datetime.now()
        )
        db.session.commit()
        cities = list(db.session.scalars(select(Org).where(Org.kind == CITY)))
        data = build_file(rows, cities)
        print(f"database: {db.engine.url.render_as_string(hide_password=True)}")
        print(f"file: {rows} rows, {len(data) / 1024:.0f} KB")

        read = timed(lambda: read_xlsx(data, report.SPEC))
        checked = None

        def run_check():
            nonlocal checked
            checked = report.check(data, date.today())

        checking = timed(run_check)
        assert not checked.errors, checked.errors[:3]

        def run_insert():
            report.create_profiles(checked.rows, actor, datetime.now(), "bench.xlsx")
            db.session.commit()

        inserting = timed(run_insert)
        assert db.session.scalar(select(func.count(FacultyProfile.id))) == rows

        print("stage      wall s   cpu s (this process)")
        print(f"read      {read[0]:6.2f}  {read[1]:6.2f}")
        print(f"check     {checking[0]:6.2f}  {checking[1]:6.2f}   (read + every row's checks)")
        print(f"insert    {inserting[0]:6.2f}  {inserting[1]:6.2f}   (bulk INSERTs + commit)")
        print(
            f"confirm   {checking[0] + inserting[0]:6.2f}  {checking[1] + inserting[1]:6.2f}"
            "   (check + insert: what the confirm request runs)"
        )
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def timed(step) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    step()
    return time.perf_counter() - wall, time.process_time() - cpu


if __name__ == "__main__":
    os.environ.setdefault("FILES_DIR", "/tmp/malan-bench-files")
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
