"""B6's floor: a bare Flask endpoint that inserts the same rows as a trainee's submission (the
submission, submitted, and one row per answer, in one transaction) through the same pool
(Flask-SQLAlchemy with the app's engine options), run under the same gunicorn settings:
``DATABASE_URL=… B6_WORLD='{"class_id": …}' gunicorn -w 2 bench.b6_bare:app``.

No session, no CSRF, no permission, no scope, no form check, no audit: what is left is parsing
the posted form and writing its rows — what the ratio app/bare is measured against.
"""

from __future__ import annotations

import json
import os
import re

from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, Table, insert, select

from app import clock
from app.config import Config

WORLD = json.loads(os.environ.get("B6_WORLD", "{}"))
NAME = re.compile(r"^(q\d+)(?:_(\d+))?$")

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
app.config["SQLALCHEMY_ENGINE_OPTIONS"] = getattr(Config, "SQLALCHEMY_ENGINE_OPTIONS", {})
db = SQLAlchemy(app)

with app.app_context():
    meta = MetaData()
    submission = Table("evaluation_submission", meta, autoload_with=db.engine)
    answer = Table("evaluation_answer", meta, autoload_with=db.engine)
    trainee = Table("class_trainee", meta, autoload_with=db.engine)
    questionnaire = Table("questionnaire", meta, autoload_with=db.engine)
    TYPES = {
        q["key"]: q["type"]
        for q in json.loads(
            db.session.scalar(
                select(questionnaire.c.questions).where(
                    questionnaire.c.id == WORLD.get("questionnaire_id")
                )
            )
            or "[]"
        )
    }
    users = dict(
        db.session.execute(
            select(trainee.c.id, trainee.c.user_id).where(
                trainee.c.class_id == WORLD.get("class_id")
            )
        ).all()
    )
    db.session.remove()


@app.post("/b6/<int:trainee_id>")
def submit(trainee_id):
    now = clock.now()
    rows = {}
    for name, values in request.form.lists():
        found = NAME.match(name)
        if not found:
            continue
        value = ";".join(values)
        row = {"question": found.group(1), "trainer_id": None, "score": None}
        row |= {"choice": None, "text": None}
        if found.group(2):
            row["trainer_id"] = int(found.group(2))
        kind = TYPES.get(found.group(1))
        if kind == "scale":
            row["score"] = int(value)
        elif kind in ("single", "multiple"):
            row["choice"] = value
        else:
            row["text"] = value
        rows[name] = row
    sid = db.session.execute(
        insert(submission)
        .values(
            class_id=WORLD["class_id"],
            org_id=WORLD["org_id"],
            user_id=users[trainee_id],
            trainee_id=trainee_id,
            questionnaire_id=WORLD["questionnaire_id"],
            kind="daily",
            day=now.date(),
            status="submitted",
            saved_at=now,
            submitted_at=now,
        )
        .returning(submission.c.id)
    ).scalar_one()
    db.session.execute(insert(answer), [{"submission_id": sid} | r for r in rows.values()])
    db.session.commit()
    return "", 201
