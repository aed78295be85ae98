"""Issue 13 point 6: B6's setup and its post-run verification, on the test database at tiny N.

The load itself (gunicorn, wrk, PostgreSQL) is `make bench-b6` (docs/benchmarks.md); here: the
setup signs every trainee in and prepares one request each; posting each request once (what wrk
does) gives exactly one submission per trainee, which the verification accepts; a missing,
duplicated, drafted or unexpected submission makes it fail.
"""

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from flask_appbuilder import Model
from sqlalchemy import delete, select

from app import clock
from app.extensions import db
from app.services import evaluations
from bench import b6
from bench.generate_classes import forms_of
from models.classroom import EvaluationAnswer, EvaluationSubmission

N = 4


@pytest.fixture()
def b6_world(app, tmp_path):
    Model.metadata.drop_all(db.engine)
    Model.metadata.create_all(db.engine)
    world = b6.build(N, clock.now())
    requests = tmp_path / "requests.tsv"
    assert b6.prepare_sessions(app, world, requests) == N
    yield world, requests.read_text().splitlines()
    db.session.remove()


def _post(app, line: str):
    """One line of the request file, posted as wrk posts it (its cookie, its body)."""
    path, _bare, cookie, body = line.split("\t")
    name, value = cookie.split("=", 1)
    client = app.test_client()
    client.set_cookie(name, value)
    return client.post(
        path,
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers={"User-Agent": b6.USER_AGENT},
    )


def test_issue13_point6_each_prepared_trainee_submits_once_and_verification_passes(app, b6_world):
    world, lines = b6_world
    assert len({line.split("\t")[2] for line in lines}) == N  # a session per trainee
    before = b6.verify_db(world)
    assert not before["ok"] and before["lost"] == N

    for line in lines:
        response = _post(app, line)
        assert response.status_code == 302
        assert "/evaluation/" in response.headers["Location"]
    after = b6.verify_db(world)
    assert after["ok"], after
    assert (after["submissions"], after["lost"], after["duplicates"]) == (N, 0, 0)

    # The same request again (a double tap): refused, nothing more written.
    again = _post(app, lines[0])
    assert again.status_code == 400
    assert b6.verify_db(world)["submissions"] == N


def test_issue13_point6_verification_fails_on_a_lost_submission(app, b6_world):
    world, lines = b6_world
    for line in lines:
        _post(app, line)
    lost = world["trainees"][1]["user_id"]
    ids = select(EvaluationSubmission.id).where(EvaluationSubmission.user_id == lost)
    db.session.execute(delete(EvaluationAnswer).where(EvaluationAnswer.submission_id.in_(ids)))
    db.session.execute(delete(EvaluationSubmission).where(EvaluationSubmission.user_id == lost))
    db.session.commit()
    result = b6.verify_db(world)
    assert not result["ok"]
    assert result["lost"] == 1 and result["examples"]["lost"] == [lost]

    b6.reset(world)  # between the app's run and the bare one: every trainee is missing again
    assert b6.verify_db(world)["lost"] == N


def test_issue13_point6_verification_fails_on_duplicates_drafts_and_short_answers():
    expected = [1, 2, 3]
    good = [(1, "submitted", 7), (2, "submitted", 7), (3, "submitted", 7)]
    assert b6.verify(expected, good, 7)["ok"]
    duplicated = b6.verify(expected, [*good, (2, "submitted", 7)], 7)
    assert not duplicated["ok"] and duplicated["duplicates"] == 1
    assert duplicated["examples"]["duplicates"] == [2]
    draft = b6.verify(expected, [*good[:2], (3, "draft", 7)], 7)
    assert not draft["ok"] and draft["not_submitted"] == 1
    short = b6.verify(expected, [*good[:2], (3, "submitted", 2)], 7)
    assert not short["ok"] and short["short_answers"] == 1
    stranger = b6.verify(expected, [*good, (9, "submitted", 7)], 7)
    assert not stranger["ok"] and stranger["unexpected"] == 1


def test_issue13_point7_generated_forms_follow_the_form_rule():
    """The generator's forms of a class are exactly the ones the service asks for each day."""
    start = date(2026, 3, 2)
    klass = SimpleNamespace(start_date=start, end_date=start + timedelta(days=6))
    until = start + timedelta(days=4)
    wanted = [
        (kind, start + timedelta(days=d))
        for d in range(5)
        for kind in evaluations.forms_on(klass, start + timedelta(days=d))
    ]
    assert list(forms_of(klass.start_date, klass.end_date, until)) == wanted
    assert ("midterm", start + timedelta(days=3)) in wanted
    every = list(forms_of(klass.start_date, klass.end_date, klass.end_date))
    assert every[-1] == ("final", klass.end_date)


@pytest.fixture()
def race_app(app, tmp_path):
    """An app whose database two threads share (SQLite: a file of its own; PostgreSQL: the
    test database) holding B6's world of two trainees."""
    from app import create_app
    from app.config import TestConfig

    if db.engine.dialect.name == "sqlite":

        class FileConfig(TestConfig):
            SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'race.db'}"
            SQLALCHEMY_ENGINE_OPTIONS = {"connect_args": {"timeout": 5}}

        target = create_app(FileConfig)
    else:
        target = app
    with target.app_context():
        Model.metadata.drop_all(db.engine)
        Model.metadata.create_all(db.engine)
        world = b6.build(2, clock.now())
        db.session.remove()
    yield target, world
    if target is not app:
        with target.app_context():
            db.engine.dispose()


def test_issue13_point6_two_taps_at_once_make_one_submission(race_app, monkeypatch):
    """A first submission is inserted as submitted: two taps that both found no submission
    write one row; the other tap is told the form was already sent (the unique key decides)."""
    import threading

    from app.services.errors import Conflict
    from models.user import MalanUser

    target, world = race_app
    trainee = world["trainees"][0]
    day = date.fromisoformat(world["day"])
    with target.app_context():
        user = db.session.get(MalanUser, trainee["user_id"])
        form = evaluations.open_form(user, world["class_id"], "daily", day, clock.now())
        raw = {name: ["4"] if q["type"] == "scale" else ["1"] for name, q, _t, _n in form.items()}
        db.session.remove()
    barrier = threading.Barrier(2)
    real = evaluations.open_form

    def open_then_wait(*args, **kwargs):
        found = real(*args, **kwargs)  # both taps see no submission yet…
        barrier.wait(timeout=10)  # …then write at the same moment
        return found

    monkeypatch.setattr(evaluations, "open_form", open_then_wait)
    outcomes = [None, None]

    def tap(i):
        with target.app_context():
            try:
                me = db.session.get(MalanUser, trainee["user_id"])
                evaluations.save(me, world["class_id"], "daily", day, raw, clock.now(), True)
                outcomes[i] = "done"
            except Exception as exc:  # noqa: BLE001  (the loser's refusal, or a failure)
                db.session.rollback()
                outcomes[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=tap, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(o == "done" for o in outcomes) == [False, True], outcomes
    (loser,) = [o for o in outcomes if o != "done"]
    assert isinstance(loser, Conflict) and "已经提交" in str(loser), repr(loser)
    with target.app_context():
        result = b6.verify(
            [trainee["user_id"]],
            [r for r in b6.submission_rows(world) if r[0] == trainee["user_id"]],
            b6.required_answers(world),
        )
        db.session.remove()
    assert result["ok"] and result["submissions"] == 1, result
