"""One measurement against one database, in its own process (`python -m bench.worker …`).

Each run builds the app for the database it is given, measures, and writes a JSON file: a
process per measurement keeps peak-memory figures (B3) apart and lets one run hold several
databases. The orchestrator is bench/__main__.py.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

BENCH_CONFIG = {
    # Measured pages sign in a few times per process: the login rate limit is not under test.
    "AUTH_RATE_LIMIT": "10000 per minute",
    "SIGN_IN_LIMIT_PER_ACCOUNT": "10000 per minute",
    "SIGN_IN_LIMIT_PER_IP_ACCOUNT": "10000 per minute",
    "RATELIMIT_STORAGE_URI": "memory://",
    # The generated accounts sign in with a password only: the second factor is not under test.
    "TWO_FACTOR_REQUIRED_ROLES": (),
}


def make_app(url: str, files_dir: str):
    from app import create_app

    return create_app({**BENCH_CONFIG, "SQLALCHEMY_DATABASE_URI": url, "FILES_DIR": files_dir})


# ---------------------------------------------------------------- memory (Linux)


def _status(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


@contextmanager
def peak_memory(out: dict):
    """Peak resident memory above the start, in bytes (the kernel's high-water mark, reset)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass
    before = _status("VmRSS")
    yield
    out["peak_bytes"] = max(0, _status("VmHWM") - before)


# ---------------------------------------------------------------- the database


def cmd_prepare(args) -> dict:
    """Tables and any missing index (models are the truth: a reused database gets new indexes
    without being regenerated); then reuse the data when the newest ``generate`` entry names
    this generator version, seed, scale and model columns, else empty the database and run the
    generator (the function behind `flask malan generate`) into it."""
    import shutil

    from flask_appbuilder import Model
    from sqlalchemy import inspect

    from app import clock
    from app.extensions import db
    from bench.generate import GENERATOR_VERSION, generate, marker, schema_fingerprint

    app = make_app(args.url, args.files)
    with app.app_context():
        Model.metadata.create_all(db.engine)
        added = _add_missing_indexes(db.engine, Model.metadata, inspect)
        found = marker()
        wanted = {
            "generator": GENERATOR_VERSION,
            "seed": args.seed,
            "scale": args.scale,
            "schema": schema_fingerprint(),
        }
        if found and all(found.get(k) == v for k, v in wanted.items()):
            db.session.remove()
            return found | {"reused": True, "indexes_added": added}
        db.session.remove()
        Model.metadata.drop_all(db.engine)
        Model.metadata.create_all(db.engine)
        shutil.rmtree(args.files, ignore_errors=True)
        started = time.perf_counter()
        stats = generate(
            args.scale,
            args.seed,
            now=clock.now(),
            files_dir=args.files,
            echo=lambda line: print(line, file=sys.stderr, flush=True),
        )
        return marker() | {
            "reused": False,
            "wall_seconds": round(time.perf_counter() - started, 1),
            "tables": {
                k: {"rows": v, "seconds": round(stats.seconds.get(k, 0), 2)}
                for k, v in stats.rows.items()
            },
        }


def _add_missing_indexes(engine, metadata, inspect) -> list[str]:
    existing = {
        t: {ix["name"] for ix in inspect(engine).get_indexes(t)}
        for t in inspect(engine).get_table_names()
    }
    added = []
    with engine.begin() as conn:
        for table in metadata.tables.values():
            for ix in table.indexes:
                if ix.name not in existing.get(table.name, set()):
                    ix.create(conn)
                    added.append(ix.name)
        if added and engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE")
    return added


# ---------------------------------------------------------------- B1 + B2


def _prepare_users(usernames):
    """Bench accounts stay usable whenever the bench runs: password not expired, not locked."""
    from sqlalchemy import update

    from app import clock
    from app.extensions import db
    from models.user import MalanUser

    db.session.execute(
        update(MalanUser)
        .where(MalanUser.username.in_(usernames))
        .values(
            password_changed_at=clock.now(),
            locked_until=None,
            fail_login_count=0,
            must_change_password=False,
        )
    )
    db.session.commit()


def _login(client, username):
    import re

    from bench.generate import BENCH_PASSWORD

    page = client.get("/password/change").get_data(as_text=True)  # signed in: sign out first
    signed_in = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    if signed_in:
        client.post("/logout/", data={"csrf_token": signed_in.group(1)})
    html = client.get("/login/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    response = client.post(
        "/login/",
        data={
            "username": username,
            "password": BENCH_PASSWORD,
            "csrf_token": token.group(1) if token else "",
        },
    )
    if response.status_code != 302:
        raise RuntimeError(f"login of {username} failed ({response.status_code})")


def _token(client) -> str:
    """A CSRF token of the signed-in session (the password page has a form)."""
    import re

    from flask import g

    for name in list(vars(g)):  # not the token cached on `g` before sign-in renewed the session
        delattr(g, name)
    page = client.get("/password/change").get_data(as_text=True)
    found = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', page)
    return found.group(1) if found else ""


def _url(app, page, size=None):
    from flask import url_for

    with app.test_request_context():
        args = dict(page.args() if callable(page.args) else page.args)
        if size and page.list_view:
            args[f"psize_{page.list_view}"] = size
        return url_for(page.endpoint, **args)


def cmd_pages(args) -> dict:
    """B1 and B2 for every page of bench/pages.py, on one or more databases (``--url a,b``).

    With several databases, one app per database lives in this process and their requests
    alternate (small, large, small, …): both scales are timed under the same machine load,
    so the ratio is not the noise of two runs minutes apart. Returns {url: {page | role: …}}.
    """
    from flask import g
    from sqlalchemy import event

    from app.extensions import db
    from bench.pages import PAGES, bench_users

    urls = args.url.split(",")
    apps = [make_app(url, args.files) for url in urls]
    clients = [app.test_client() for app in apps]
    statements = [0]
    results = {url: {} for url in urls}

    def count(*_a, **_k):
        statements[0] += 1

    tokens = {}  # per database: a CSRF token of the signed-in session, for POST pages

    def get(index, url, method="GET"):
        with apps[index].app_context():
            for name in list(vars(g)):  # a fresh `g`, as a new request would have
                delattr(g, name)
            statements[0] = 0
            started = time.perf_counter()
            if method == "POST":
                response = clients[index].post(url, data={"csrf_token": tokens[index]})
            else:
                response = clients[index].get(url)
            return response, (time.perf_counter() - started) * 1000, statements[0]

    users = []  # per database: an institution's account differs from one to another
    for app in apps:
        with app.app_context():
            users.append(bench_users())
            _prepare_users(list(users[-1].values()))
            event.listen(db.engine, "before_cursor_execute", count)
    endpoints = set(apps[0].view_functions)
    if args.pages:  # names containing one of the comma-separated words
        words = [w.strip() for w in args.pages.split(",") if w.strip()]
        PAGES = [p for p in PAGES if any(w in p.name for w in words)]  # noqa: N806
    for role in sorted({r for p in PAGES for r in p.roles}):
        if not all(role in u for u in users):  # a database generated before its pages
            for page in PAGES:
                if role in page.roles:
                    for url in urls:
                        results[url][f"{page.name} | {role}"] = {
                            "page": page.name,
                            "role": role,
                            "missing": True,
                        }
            continue
        for k, (app, client, who) in enumerate(zip(apps, clients, users, strict=True)):
            with app.app_context():
                _login(client, who[role])
                tokens[k] = _token(client)
        for page in PAGES:
            if role not in page.roles:
                continue
            key = f"{page.name} | {role}"
            if page.endpoint not in endpoints:
                for url in urls:
                    results[url][key] = {"page": page.name, "role": role, "missing": True}
                continue
            entries, times = [], [[] for _ in apps]
            for k, app in enumerate(apps):
                entry = {"page": page.name, "role": role, "url": _url(app, page)}
                entry["method"] = page.method
                get(k, entry["url"], page.method)  # the first after sign-in touches the session
                for size in (25, 100):
                    response, _ms, entry[f"statements_{size}"] = get(
                        k, _url(app, page, size), page.method
                    )
                    entry[f"status_{size}"] = response.status_code
                entries.append(entry)
            for i in range(args.warmup + args.repeat):
                for k in range(len(apps)):
                    response, ms, _n = get(k, entries[k]["url"], page.method)
                    entries[k]["status"], entries[k]["bytes"] = (
                        response.status_code,
                        len(response.data),
                    )
                    if i >= args.warmup:
                        times[k].append(ms)
            for url, entry, samples in zip(urls, entries, times, strict=True):
                entry.update(
                    median_ms=round(statistics.median(samples), 2),
                    p95_ms=round(_percentile(samples, 95), 2),
                    n=len(samples),
                )
                results[url][key] = entry
            print(
                f"  {key:<40}"
                + "".join(
                    f" {e['median_ms']:>8.1f} ms (p95 {e['p95_ms']:>7.1f}, sql {e['statements_25']}/"
                    f"{e['statements_100']}, {e['status']})"
                    for e in entries
                ),
                file=sys.stderr,
                flush=True,
            )
    return results


def _percentile(values, pct):
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# ---------------------------------------------------------------- B3 exports


def cmd_export(args) -> dict:
    """Exports (``--which``, comma-separated) of ``--rows`` rows: time and peak memory of each
    (the full bench runs one per process, so that one's memory does not hide another's)."""
    app = make_app(args.url, args.files)
    results = {}
    with app.app_context():
        for which in args.which.split(","):
            run = {
                "audit": _audit_export,
                "audit-bare": _audit_bare,
                "faculty": _faculty_export,
                "faculty-bare": _faculty_bare,
                "summary": _summary_export,
                "summary-bare": _summary_bare,
            }[which]
            if run(args.rows, prepare=True) is None:
                results[which] = {"missing": True}
                continue
            out = {}
            started = time.perf_counter()
            with peak_memory(out):
                data, rows = run(args.rows, prepare=False)
            out["seconds"] = round(time.perf_counter() - started, 3)
            out.update(
                rows=rows,
                bytes=len(data),
                rows_per_s=round(rows / out["seconds"]) if out["seconds"] else 0,
            )
            results[which] = out
    return results


def _audit_query(rows):
    from app.extensions import db
    from models.audit import AuditLog

    return db.session.query(AuditLog).order_by(AuditLog.at.desc()).limit(rows)


def _audit_export(rows, prepare):
    """The view's path: reports.audit.audit_xlsx over the (auditor's, unrestricted) query."""
    if prepare:
        return True
    from reports.audit import audit_xlsx
    from views.users import role_label

    with _request_context():
        return audit_xlsx(_audit_query(rows), role_label)


def _audit_bare(rows, prepare):
    """The same rows: a plain SELECT, xlsxwriter in constant_memory, nothing else."""
    if prepare:
        return True
    from sqlalchemy import select

    from app.extensions import db
    from models.audit import AuditLog

    a = AuditLog
    stmt = (
        select(
            a.at,
            a.username,
            a.ip,
            a.role,
            a.org_name,
            a.event,
            a.object_type,
            a.object_id,
            a.summary,
            a.changes,
            a.success,
        )
        .order_by(a.at.desc())
        .limit(rows)
    )
    return _bare_xlsx(db.session.execute(stmt.execution_options(yield_per=2000)), 11)


def _faculty_ids(rows):
    from sqlalchemy import select

    from models.faculty import FacultyProfile

    return select(FacultyProfile.id).order_by(FacultyProfile.id).limit(rows).scalar_subquery()


def _faculty_export(rows, prepare):
    try:
        from reports import faculty  # noqa: F401
    except ImportError:
        return None
    if prepare:
        return True
    from app.extensions import db
    from reports.faculty import export_xlsx

    with _request_context():
        data, count = export_xlsx(db.session, _faculty_ids(rows), mask=True, title="师资库")
    return data, count


def _faculty_bare(rows, prepare):
    if prepare:
        return True
    from sqlalchemy import select

    from app.extensions import db
    from models.faculty import FacultyProfile as p
    from models.org import Org

    stmt = (
        select(
            p.name,
            p.gender,
            p.birth_year,
            p.id_number,
            p.mobile,
            p.email,
            Org.name,
            Org.name,
            p.employer,
            p.level,
            p.certificate_no,
            p.certificate_date,
            p.certificate_expiry,
            p.course_types,
            p.languages,
            p.years_experience,
            p.service_status,
            p.biography,
        )
        .join(Org, Org.id == p.org_id)
        .where(p.id.in_(_faculty_ids(rows)))
        .order_by(Org.code, p.name, p.id)
    )
    return _bare_xlsx(db.session.execute(stmt.execution_options(yield_per=2000)), 18)


def _summary_period():
    """The widest period of the generated classes (their first to last start): the national
    summary of the whole history, every class, report, sheet and form of the country."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.services.statistics import Period
    from models.application import TrainingClass

    first, last = db.session.execute(
        select(func.min(TrainingClass.start_date), func.max(TrainingClass.start_date))
    ).one()
    return Period(_as_date(first), _as_date(last))


def _as_date(value):
    from datetime import date

    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _summary_export(rows, prepare):
    """The center's 统计汇总 download (views/summaries.py ``export``): the figures of the whole
    country (statistics.figures, national scope) written by reports.summary. ``rows`` is
    ignored: the summary counts every class of the period (reported as its rows)."""
    try:
        from reports import summary  # noqa: F401
    except ImportError:
        return None
    if prepare:
        return True
    from sqlalchemy import select

    from app import clock
    from app.extensions import db
    from app.services import statistics
    from models.org import Org
    from models.user import CENTER
    from reports.summary import summary_xlsx
    from security.scope import SYSTEM

    with _request_context():
        center = db.session.scalar(select(Org).where(Org.kind == CENTER))
        fig = statistics.figures(db.session, SYSTEM, _summary_period(), clock.now())
        return summary_xlsx(fig, center), int(fig.classes["classes"].sum())


def _summary_bare(rows, prepare):
    """The same two statements (classes by institution and course type, late steps by org),
    their rows written as they come by xlsxwriter: the database's share of the export."""
    if prepare:
        return True
    import xlsxwriter

    from app import clock
    from app.extensions import db
    from app.services import statistics

    now, period = clock.now(), _summary_period()
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True})
    classes = 0
    for query in (
        statistics._class_query(period, now.date()),  # noqa: SLF001 (the bench's baseline)
        statistics._overdue_query(period, now),  # noqa: SLF001
    ):
        ws = book.add_worksheet()
        for r, row in enumerate(db.session.execute(query).mappings(), start=1):
            classes += int(row.get("classes") or 0)
            for c, value in enumerate(row.values()):
                if value is not None:
                    ws.write_string(r, c, str(value))
    book.close()
    return buffer.getvalue(), classes


def _bare_xlsx(result, width) -> tuple[bytes, int]:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True})
    ws = book.add_worksheet()
    for c in range(width):
        ws.write_string(0, c, f"col{c}")
    r = 0
    for r, row in enumerate(result, start=1):
        for c, value in enumerate(row):
            if value is not None:
                ws.write_string(r, c, str(value))
    book.close()
    return buffer.getvalue(), r


@contextmanager
def _request_context():
    """Reports translate their headers: give them a request (Chinese, as the users see it)."""
    from flask import current_app

    with current_app.test_request_context(headers={"Accept-Language": "zh"}):
        yield


# ---------------------------------------------------------------- B4 import


def cmd_import(args) -> dict:
    """A 5,000-row faculty import end to end (read, check, insert) against calamine + one Core
    executemany of the same rows. Both are rolled back: the bench database stays as generated."""
    app = make_app(args.url, args.files)
    with app.app_context():
        try:
            from reports import faculty_import
        except ImportError:
            return {"missing": True}
        from python_calamine import CalamineWorkbook
        from sqlalchemy import insert, select

        from app import clock
        from app.extensions import db
        from models.faculty import FacultyProfile
        from models.org import Org
        from models.user import MalanUser

        data = _import_file(args.rows, faculty_import.FIELDS)
        now = clock.now()
        actor = db.session.scalar(select(MalanUser).where(MalanUser.username == "zx000000001"))
        out = {"rows": args.rows, "file_bytes": len(data)}

        started = time.perf_counter()
        with _request_context():
            checked = faculty_import.check(data, now.date())
            written = 0
            if checked.errors:  # the file is meant to be valid: say why it was not
                out["errors"] = [str(e) for e in checked.errors[:5]]
                out["error_count"] = len(checked.errors)
            else:
                written = faculty_import.create_profiles(checked.rows, actor, now, "bench.xlsx")
                db.session.flush()
        out["seconds"] = time.perf_counter() - started
        out["written"] = written
        db.session.rollback()

        started = time.perf_counter()
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
        header, body = sheet[0], sheet[1:]
        keys = [f[0] for f in faculty_import.FIELDS]
        org_by_name = dict(db.session.execute(select(Org.name, Org.id)).all())
        rows = []
        for raw in body:
            cells = dict(zip(keys, raw, strict=False))
            rows.append(
                {
                    "name": cells["name"],
                    "gender": "M",
                    "id_number": str(cells["id_number"]),
                    "mobile": str(cells["mobile"]),
                    "org_id": org_by_name.get(cells["city"]) or org_by_name[cells["province"]],
                    "level": "lecturer",
                    "created_at": now,
                    "status": "approved",
                    "revision": 1,
                    "version": 1,
                    "service_status": "active",
                }
            )
        db.session.execute(insert(FacultyProfile), rows)
        db.session.flush()
        out["bare_seconds"] = time.perf_counter() - started
        out["bare_header"] = len(header)
        db.session.rollback()
        out["rows_per_s"] = round(written / out["seconds"]) if written else 0
        out["bare_rows_per_s"] = round(len(rows) / out["bare_seconds"])
    return out


def _import_file(rows: int, fields) -> bytes:
    """A valid template-shaped file: new ID numbers and mobiles, real provinces and cities."""
    import random

    import xlsxwriter
    from sqlalchemy import select
    from stdnum.cn import ric

    from app.extensions import db
    from bench.generate import GIVEN, SURNAMES
    from models.org import Org

    rng = random.Random(2026)
    cities = db.session.execute(
        select(Org.name, Org.code, Org.province_id).where(Org.kind == "city").order_by(Org.code)
    ).all()
    provinces = dict(
        db.session.execute(select(Org.id, Org.name).where(Org.kind == "province")).all()
    )
    late_days = [
        d for d in (date(1962, 1, 1) + timedelta(days=n) for n in range(35 * 365)) if d.day >= 29
    ]
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "strings_to_numbers": False})
    ws = book.add_worksheet()
    for c, field in enumerate(fields):
        ws.write_string(0, c, field[1])
    for r in range(1, rows + 1):
        city, _code, province_id = cities[rng.randrange(len(cities))]
        # Unique in the file and absent from the pool: born on a 29th-31st (the generator's
        # trainers are born on the 1st-28th), one (date, sequence) pair per row.
        born = late_days[r % len(late_days)].strftime("%Y%m%d")
        body = f"110105{born}{r // len(late_days):03d}"
        id_number = body + ric.calc_check_digit(body + "0")
        values = {
            "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
            "gender": "",
            "birth_year": "",
            "id_number": id_number,
            "mobile": f"199{r:08d}",
            "email": "",
            "province": provinces[province_id],
            "city": city,
            "employer": "创业学院",
            "level": "讲师",
            "certificate_no": f"B{r:06d}",
            "certificate_date": "2024-05-01",
            "certificate_expiry": "2029-05-01",
            "course_types": "GYB、SYB",
            "languages": "普通话",
            "years_experience": "5",
            "biography": "从事创业培训。",
        }
        for c, field in enumerate(fields):
            ws.write_string(r, c, values.get(field[0], ""))
    book.close()
    return buffer.getvalue()


# ---------------------------------------------------------------- B5 helper


def cmd_login_cookie(args) -> dict:
    """Sign in over HTTP (a running server) and return the session cookie for the load tool."""
    import http.cookiejar
    import re
    import urllib.parse
    import urllib.request

    from bench.generate import BENCH_PASSWORD
    from bench.pages import LOAD_PAGES, PAGES

    app = make_app(args.url, args.files)
    with app.app_context():
        _prepare_users([args.username])
        urls = [
            _url(app, p) for p in PAGES if p.name in LOAD_PAGES and p.endpoint in app.view_functions
        ]
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(f"{args.base}/login/", timeout=30).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    body = urllib.parse.urlencode(
        {"username": args.username, "password": BENCH_PASSWORD, "csrf_token": token}
    ).encode()
    opener.open(f"{args.base}/login/", data=body, timeout=30).read()
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    check = opener.open(f"{args.base}/notices/", timeout=30)
    return {"cookie": cookie, "status": check.status, "final_url": check.geturl(), "urls": urls}


def spawn(command: str, url: str, files, **extra) -> dict:
    """Run ``command`` in a fresh ``python -m bench.worker`` process; returns its JSON result."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = fh.name
    args = [
        sys.executable,
        "-m",
        "bench.worker",
        command,
        "--url",
        url,
        "--files",
        str(files),
        "--out",
        out,
    ] + [f"--{k}={v}" for k, v in extra.items()]
    subprocess.run(
        args, cwd=Path(__file__).resolve().parent.parent, check=True, stdout=subprocess.DEVNULL
    )
    with open(out) as fh:
        result = json.load(fh)
    os.unlink(out)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    parser.add_argument("command", choices=["prepare", "pages", "export", "import", "login-cookie"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--files", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--which", default="audit")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--base", default="")
    parser.add_argument("--username", default="")
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pages", default="")
    args = parser.parse_args(argv)
    os.environ.setdefault("DATABASE_URL", args.url)
    command = {
        "prepare": cmd_prepare,
        "pages": cmd_pages,
        "export": cmd_export,
        "import": cmd_import,
        "login-cookie": cmd_login_cookie,
    }
    result = command[args.command](args)
    with open(args.out, "w") as fh:
        json.dump(result, fh, ensure_ascii=False, indent=1, default=str)


if __name__ == "__main__":
    main()
