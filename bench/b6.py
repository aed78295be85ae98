"""B6: the end of a class day (issue 13 point 6) — N trainees signed in, each submitting its
daily form once, at the same moment, from their phones.

- **Setup** (`build`, `prepare_sessions`): on an empty database, the tree, the roles, an
  institution, two trainers and one class running today with N trainees (rows from the bulk
  builders of `bench.generate_classes`: accounts through the services would cost a scrypt hash
  each). Each trainee then signs in through the real login form (in process, Flask test client,
  same SECRET_KEY as the server) and opens its form: the session cookie, the form's CSRF token
  and the answers it will post are one line of the request file. Sign-in is not measured.
- **Run** (`run_b6`): gunicorn (2 workers) on PostgreSQL; wrk with `bench/b6.lua` gives every
  request a different trainee (each thread owns every k-th line; a connection takes the next
  free trainee of its thread), so each trainee posts exactly once; a thread whose trainees are
  all answered writes a marker and the run stops there (SIGINT: wrk prints its figures).
- **Verification** (`verify`, `verify_db`): after the run, in the database: every trainee has
  exactly one submitted daily form for today with all its answers; a duplicate, a missing, a
  draft or an unexpected submission fails the run. Errors are wrk's socket errors plus every
  answer that is not the redirect back to the submitted form.
- **Bare** (`bench/b6_bare.py`): a tiny Flask app under the same gunicorn settings inserting the
  same rows (submission + answers, one transaction) through the same pool; the ratio app/bare
  is the figure (target ≥ 0.3).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from bench import generate_classes as rows_of

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "b6.lua"
USER_AGENT = "malan-bench-b6 (375px phone)"
# Sign-in is setup, not the measurement: the bench trainees' one shared hash is a cheap one (the
# production method stays scrypt for every real account; the server never checks it in the run).
SETUP_HASH = "pbkdf2:sha256:1000"
FORM_PATH = "/evaluation/{class_id}/daily/{day}"
BARE_PATH = "/b6/{trainee_id}"
TRAINERS = 2


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- setup


def build(n: int, now: datetime, seed: int = 6) -> dict:
    """The world of B6 in an empty database whose tables exist (app context). Returns what the
    run and the verification need: the class, the day, the trainees and the questions."""
    from flask import current_app
    from sqlalchemy import insert, select
    from werkzeug.security import generate_password_hash

    from app.extensions import db
    from app.services import accounts, applications, classroom, evaluations, tree, vocabulary
    from models.application import ClassApplication
    from models.classroom import ClassTrainee
    from models.org import INSTITUTION, Org
    from models.user import CENTER, TRAINEE, TRAINER, MalanUser
    from security.sync import sync_roles

    rng = random.Random(seed)
    sync_roles(current_app.appbuilder.sm)
    vocabulary.seed_defaults()
    tree.load_tree()
    evaluations.seed_defaults(now - timedelta(days=30))
    db.session.flush()
    city = db.session.scalar(select(Org).where(Org.code == "110101"))
    center_org = db.session.scalar(select(Org).where(Org.kind == "center"))
    inst = Org(kind=INSTITUTION, name="北京东城创业培训学校（B6）", contact_name="联系人")
    inst.parent = city
    inst.code = tree.next_institution_code(city)
    db.session.add(inst)
    db.session.flush()
    center, _pw = accounts.create_account(
        name="张中心", role_kind=CENTER, org=center_org, now=now, password="Malan@bench2026"
    )
    trainers = [
        accounts.create_account(
            name=f"讲师{k}", role_kind=TRAINER, org=city, now=now, password="Malan@bench2026"
        )[0]
        for k in range(1, TRAINERS + 1)
    ]
    db.session.flush()
    today = now.date()
    start, end = today - timedelta(days=1), today + timedelta(days=2)
    application = ClassApplication(
        org_id=inst.id,
        course_type="SYB",
        start_date=start,
        end_date=end,
        venue="东城创业大厦",
        expected_trainees=n,
        contact_name="联系人",
        contact_phone="010-12345678",
        status="approved",
    )
    db.session.add(application)
    db.session.flush()
    klass = applications.create_class(application, now - timedelta(days=20))
    application.class_id = klass.id
    for k, trainer in enumerate(trainers):
        classroom.assign_trainer(
            klass, center, now - timedelta(days=10), user=trainer, is_lead=k == 0
        )
    db.session.commit()

    from flask_appbuilder.security.sqla.models import Role, assoc_user_role

    role_id = db.session.scalar(select(Role.id).where(Role.name == TRAINEE))
    password_hash = generate_password_hash("Malan@bench2026", method=SETUP_HASH)
    users = db.session.execute(
        insert(MalanUser.__table__).returning(
            MalanUser.__table__.c.id, sort_by_parameter_order=True
        ),
        [
            rows_of.trainee_account(
                None,
                f"xyb6{k:05d}",
                f"学员{k:05d}",
                inst.id,
                f"177{k:08d}",
                password_hash,
                now,
                start,
                end,
            )
            for k in range(n)
        ],
    ).scalars()
    user_ids = list(users)
    db.session.execute(
        insert(assoc_user_role), [{"user_id": u, "role_id": role_id} for u in user_ids]
    )
    klass_row = {"id": klass.id, "org_id": inst.id, "start_date": start}
    trainee_rows = [
        rows_of.class_trainee(
            None, klass_row, uid, f"学员{k:05d}", f"1101011990{k:08d}", f"177{k:08d}", rng, now
        )
        for k, uid in enumerate(user_ids)
    ]
    for row in trainee_rows:
        del row["id"]
    trainee_ids = db.session.execute(
        insert(ClassTrainee.__table__).returning(
            ClassTrainee.__table__.c.id, sort_by_parameter_order=True
        ),
        trainee_rows,
    ).scalars()
    trainees = [
        {"trainee_id": t, "user_id": u, "username": f"xyb6{k:05d}"}
        for k, (t, u) in enumerate(zip(trainee_ids, user_ids, strict=True))
    ]
    db.session.commit()
    questionnaire = evaluations.version_for(klass, "daily")
    return {
        "class_id": klass.id,
        "org_id": inst.id,
        "day": today.isoformat(),
        "questionnaire_id": questionnaire.id,
        "questions": evaluations.questions(questionnaire),
        "trainer_ids": [t.id for t in trainers],
        "trainees": trainees,
    }


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    if not found:
        raise RuntimeError("no CSRF token on the page")
    return found.group(1)


def prepare_sessions(app, world: dict, out: Path, seed: int = 6) -> int:
    """Sign every trainee in (the real login form) and open its form; write one request line
    per trainee: ``form path \\t bare path \\t cookie \\t body``. Returns the lines written."""
    rng = random.Random(seed)
    headers = {"User-Agent": USER_AGENT}
    cookie_name = app.config.get("SESSION_COOKIE_NAME", "session")
    path = FORM_PATH.format(class_id=world["class_id"], day=world["day"])
    lines = []
    for trainee in world["trainees"]:
        client = app.test_client()
        token = _token(client.get("/login/", headers=headers).get_data(as_text=True))
        signed = client.post(
            "/login/",
            data={
                "username": trainee["username"],
                "password": "Malan@bench2026",
                "csrf_token": token,
            },
            headers=headers,
        )
        if signed.status_code != 302 or "/login" in signed.headers.get("Location", ""):
            raise RuntimeError(f"B6: {trainee['username']} could not sign in")
        page = client.get(path, headers=headers)
        if page.status_code != 200:
            raise RuntimeError(f"B6: the form answered {page.status_code} to a trainee")
        fields = rows_of.form_body(world["questions"], world["trainer_ids"], rng)
        body = urlencode(
            [*fields, ("action", "submit"), ("csrf_token", _token(page.get_data(as_text=True)))]
        )
        cookie = client.get_cookie(cookie_name)
        bare = BARE_PATH.format(trainee_id=trainee["trainee_id"])
        lines.append(f"{path}\t{bare}\t{cookie_name}={cookie.value}\t{body}")
    out.write_text("\n".join(lines) + "\n")
    return len(lines)


# ---------------------------------------------------------------- verification


def verify(expected_user_ids, submissions, answers_expected: int | None = None) -> dict:
    """The post-run check. ``submissions``: (user id, status, answer count) of every daily form
    of the class for the day. Every expected trainee exactly once, submitted, with its answers;
    nothing else. ``ok`` is False on any duplicate, missing, draft, short or unexpected row."""
    expected = set(expected_user_ids)
    counts = Counter(user_id for user_id, _status, _answers in submissions)
    duplicates = sorted(u for u, c in counts.items() if c > 1)
    missing = sorted(expected - set(counts))
    unexpected = sorted(set(counts) - expected)
    not_submitted = sorted(u for u, status, _a in submissions if status != "submitted")
    short = sorted(
        u
        for u, _s, answers in submissions
        if answers_expected is not None and answers < answers_expected
    )
    return {
        "expected": len(expected),
        "submissions": len(submissions),
        "duplicates": len(duplicates),
        "lost": len(missing),
        "unexpected": len(unexpected),
        "not_submitted": len(not_submitted),
        "short_answers": len(short),
        "ok": not (duplicates or missing or unexpected or not_submitted or short),
        "examples": {
            k: v[:5]
            for k, v in (
                ("duplicates", duplicates),
                ("lost", missing),
                ("unexpected", unexpected),
                ("not_submitted", not_submitted),
                ("short_answers", short),
            )
            if v
        },
    }


def required_answers(world: dict) -> int:
    """Answers every submission must hold: each required question (per trainer where asked)."""
    trainers = len(world["trainer_ids"])
    return sum(trainers if q["per_trainer"] else 1 for q in world["questions"] if q["required"])


def submission_rows(world: dict) -> list[tuple]:
    from datetime import date

    from sqlalchemy import func, select

    from app.extensions import db
    from models.classroom import EvaluationAnswer, EvaluationSubmission

    s = EvaluationSubmission
    return [
        tuple(r)
        for r in db.session.execute(
            select(s.user_id, s.status, func.count(EvaluationAnswer.id))
            .outerjoin(EvaluationAnswer, EvaluationAnswer.submission_id == s.id)
            .where(
                s.class_id == world["class_id"],
                s.kind == "daily",
                s.day == date.fromisoformat(world["day"]),
            )
            .group_by(s.id, s.user_id, s.status)
        )
    ]


def verify_db(world: dict) -> dict:
    return verify(
        [t["user_id"] for t in world["trainees"]], submission_rows(world), required_answers(world)
    )


def reset(world: dict) -> None:
    """Remove the day's submissions of the class (between the app's run and the bare one)."""
    from datetime import date

    from sqlalchemy import delete, select

    from app.extensions import db
    from models.classroom import EvaluationAnswer, EvaluationSubmission

    s = EvaluationSubmission
    ids = select(s.id).where(
        s.class_id == world["class_id"], s.day == date.fromisoformat(world["day"])
    )
    db.session.execute(delete(EvaluationAnswer).where(EvaluationAnswer.submission_id.in_(ids)))
    db.session.execute(
        delete(s).where(s.class_id == world["class_id"], s.day == date.fromisoformat(world["day"]))
    )
    db.session.commit()


# ---------------------------------------------------------------- the probe: one submission


def probe(app, world: dict, line: str) -> dict:
    """One trainee's submission in process, its SQL statements counted by kind (where the time
    of a submission goes); the row is removed afterwards."""
    from sqlalchemy import event

    from app.extensions import db

    path, _bare, cookie, body = line.rstrip("\n").split("\t")
    name, value = cookie.split("=", 1)
    client = app.test_client()
    client.set_cookie(name, value)
    statements = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    started = time.perf_counter()
    try:
        response = client.post(
            path,
            data=body,
            headers={"User-Agent": USER_AGENT},
            content_type="application/x-www-form-urlencoded",
        )
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    ms = (time.perf_counter() - started) * 1000
    with app.app_context():
        reset(world)
    return {
        "status": response.status_code,
        "ms": round(ms, 1),
        "statements": len(statements),
        "by_kind": dict(Counter(s.split(None, 1)[0].upper() for s in statements)),
        "sql": [" ".join(s.split())[:160] for s in statements],
    }


# ---------------------------------------------------------------- the run


def _serve(target: str, env: dict, port: int, workers: int = 2):
    log_path = Path(tempfile.gettempdir()) / f"malan-bench-b6-{port}.log"
    with open(log_path, "w") as fh:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                str(workers),
                # One request at a time per worker, as the sync worker, but an idle keep-alive
                # connection (a phone between two taps; wrk's finished connections) waits in
                # the worker's poller instead of holding the worker.
                "-k",
                "gthread",
                "--threads",
                "1",
                "-b",
                f"127.0.0.1:{port}",
                "--timeout",
                "120",
                target,
            ],
            cwd=ROOT,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(server) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


def _warm_up(base: str, requests: Path, name: str, rounds: int = 8) -> None:
    """A few reads before the measurement, so that each worker's first request (imports,
    templates, catalogs) is not counted: the app's form page with trainees' sessions (a GET
    writes nothing), the bare app's 404."""
    import urllib.error
    import urllib.request

    lines = requests.read_text().splitlines()[:rounds]
    for line in lines:
        path, _bare, cookie, _body = line.split("\t")
        target = base + (path if name == "app" else "/warm-up")
        req = urllib.request.Request(target, headers={"Cookie": cookie, "User-Agent": USER_AGENT})
        try:
            urllib.request.urlopen(req, timeout=60).read()
        except urllib.error.HTTPError:
            pass


def drive(base: str, requests: Path, column: int, *, threads=2, connections=32, limit=300) -> dict:
    """wrk over the request file (``column`` 0: the app's path, 1: the bare one), stopped when
    every trainee has its answer (or after ``limit`` seconds). Returns wrk's figures."""
    done_dir = Path(tempfile.mkdtemp(prefix="malan-b6-"))
    env = {
        **os.environ,
        "MALAN_B6_FILE": str(requests),
        "MALAN_B6_COLUMN": str(column),
        "MALAN_B6_THREADS": str(threads),
        "MALAN_B6_DONE": str(done_dir),
        "MALAN_B6_UA": USER_AGENT,
    }
    proc = subprocess.Popen(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{limit}s",
            "--timeout",
            "30s",
            "-s",
            str(LUA),
            base,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + limit + 5
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(done_dir.iterdir())) >= threads:
            proc.send_signal(signal.SIGINT)  # wrk stops and prints its summary
            break
        time.sleep(0.05)
    stdout, stderr = proc.communicate(timeout=60)
    shutil.rmtree(done_dir, ignore_errors=True)
    line = next((ln for ln in stdout.splitlines() if ln.startswith("MALAN_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result: {stdout[-800:]} {stderr[-800:]}")
    return json.loads(line[len("MALAN_JSON ") :])


def run_b6(url: str, files: str, *, n: int = 1000, connections: int = 32, log=log) -> dict:
    """Build the world, run the app then the bare endpoint under wrk, verify both."""
    from flask_appbuilder import Model

    from app import clock
    from app.extensions import db
    from bench.load import _wait, free_port
    from bench.worker import make_app

    if shutil.which("wrk") is None:
        return {"skipped": "wrk is not installed (Debian package wrk; `make bench-deps`)"}
    secret = os.urandom(16).hex()
    app = make_app(url, files)
    app.config["SECRET_KEY"] = secret
    requests = Path(tempfile.gettempdir()) / f"malan-b6-requests-{os.getpid()}.tsv"
    started = time.perf_counter()
    with app.app_context():
        db.session.remove()
        Model.metadata.drop_all(db.engine)
        Model.metadata.create_all(db.engine)
        world = build(n + 1, clock.now())  # one more: the in-process probe
        db.session.remove()
    built = time.perf_counter()
    prepared = prepare_sessions(app, world, requests)
    lines = requests.read_text().splitlines()
    probe_line, lines = lines[0], lines[1:]
    probe_user = world["trainees"][0]
    world["trainees"] = world["trainees"][1:]
    requests.write_text("\n".join(lines) + "\n")
    figures = {
        "trainees": n,
        "build_seconds": round(built - started, 1),
        "sign_in_seconds": round(time.perf_counter() - built, 1),
    }
    figures["probe"] = probe(app, world | {"trainees": [probe_user]}, probe_line)
    log(
        f"  B6 setup: world built in {figures['build_seconds']} s, {prepared} trainees signed "
        f"in in {figures['sign_in_seconds']} s; "
        f"one submission in process: {figures['probe']}"
    )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "FILES_DIR": files,
        "SECRET_KEY": secret,
        "AUTH_RATE_LIMIT": "10000 per minute",
        "TWO_FACTOR_REQUIRED_ROLES": "",
        "B6_WORLD": json.dumps({k: world[k] for k in ("class_id", "org_id", "questionnaire_id")}),
    }
    try:
        for name, target, column in (("app", "run:app", 0), ("bare", "bench.b6_bare:app", 1)):
            port = free_port()
            server = _serve(target, env, port)
            try:
                _wait(port, server)
                _warm_up(f"http://127.0.0.1:{port}", requests, name)
                result = drive(
                    f"http://127.0.0.1:{port}", requests, column, connections=connections
                )
            finally:
                _stop(server)
            with app.app_context():
                result["verification"] = verify_db(world)
                reset(world)
                db.session.remove()
            result["submissions_per_s"] = round(
                result["ok"] / result["duration_s"] if result["duration_s"] else 0, 1
            )
            figures[name] = result
            log(
                f"  B6 {name}: {result['submissions_per_s']} submissions/s, "
                f"p95 {result['p95_ms']:.0f} ms, errors {result['errors']}, "
                f"lost {result['verification']['lost']}, verified {result['verification']['ok']}"
            )
    finally:
        requests.unlink(missing_ok=True)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    bare = figures["bare"]["submissions_per_s"]
    figures["ratio"] = round(figures["app"]["submissions_per_s"] / bare, 2) if bare else None
    figures["connections"] = connections
    figures["workers"] = 2
    return figures


def main(argv=None) -> int:
    """`python -m bench.b6 [--trainees N]`: B6 alone (`make bench-b6`), figures as JSON."""
    import argparse

    from bench.__main__ import DEFAULT_PG, pg_database

    parser = argparse.ArgumentParser(prog="python -m bench.b6", description=__doc__.splitlines()[0])
    parser.add_argument("--trainees", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG) + "_b6")
    args = parser.parse_args(argv)
    error = pg_database(args.pg_url)
    if error:
        print(json.dumps({"skipped": f"PostgreSQL unreachable: {error}"}))
        return 0
    files = tempfile.mkdtemp(prefix="malan-b6-files-")
    try:
        figures = run_b6(args.pg_url, files, n=args.trainees, connections=args.connections)
    finally:
        shutil.rmtree(files, ignore_errors=True)
    print(json.dumps(figures, ensure_ascii=False, indent=1))
    return (
        0
        if figures.get("skipped")
        or all(
            figures[k]["verification"]["ok"] and not figures[k]["errors"] for k in ("app", "bare")
        )
        else 1
    )


if __name__ == "__main__":
    sys.exit(main())


# ---------------------------------------------------------------- verdict and table (report.py)

TARGET = "0 errors, 0 lost, each trainee once; submissions/s >= 0.3 x the bare endpoint"


def evaluate(b6: dict) -> dict:
    if not b6 or "app" not in b6 or "bare" not in b6:
        return {"skipped": (b6 or {}).get("skipped") or (b6 or {}).get("failed") or "not run"}
    app, bare = b6["app"], b6["bare"]
    clean = all(
        r["errors"] == 0 and r["verification"]["ok"] and r["verification"]["lost"] == 0
        for r in (app, bare)
    )
    ratio = b6.get("ratio")
    return {"ratio": ratio, "clean": clean, "ok": bool(clean and ratio and ratio >= 0.3)}


def table_lines(b6: dict, verdict: dict) -> list[str]:
    lines = ["", "B6 end of a class day: each trainee submits its daily form once (PostgreSQL)", ""]
    if "app" not in (b6 or {}):
        return lines + [f"skipped: {verdict.get('skipped')}"]
    lines += [
        "| endpoint | trainees | conns | submissions/s | p50 ms | p95 ms | errors | lost "
        "| duplicates | verified |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name in ("app", "bare"):
        r = b6[name]
        v = r["verification"]
        lines.append(
            f"| {name} | {b6['trainees']} | {b6['connections']} | {r['submissions_per_s']} | "
            f"{r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['errors']} | {v['lost']} | "
            f"{v['duplicates']} | {_yes(v['ok'])} |"
        )
    probe = b6.get("probe", {})
    lines.append(
        f"\napp / bare: {verdict.get('ratio')} (≥0.3) — ok: {_yes(verdict.get('ok'))}; one "
        f"submission: {probe.get('statements')} SQL statements {probe.get('by_kind')}"
    )
    return lines


def _yes(flag) -> str:
    return "n/a" if flag is None else "yes" if flag else "**NO**"
