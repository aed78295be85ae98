"""Evaluation forms (Annex 1 row 17). Thin: the rules are in `app.services.evaluations`.

- `EvaluationView` (评估表填写): a trainee's forms, one page per form and day, phone first (375 px,
  big touch targets): save a draft, submit once. Another class's form answers 404.
- `QuestionnaireView` (评估问卷): the center's versions of each form; a new version, never an edit.
"""

from __future__ import annotations

from datetime import date

from flask import abort, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l

from app import clock
from app.extensions import db
from app.services import evaluation_results, evaluations
from app.services.errors import NotAllowed
from models.classroom import FORM_KINDS, Questionnaire
from security import permissions
from views.base import perform


def _day(text) -> date:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        abort(404)


class EvaluationView(BaseView):
    route_base = "/evaluation"
    default_view = "mine"
    class_permission_name = permissions.EVALUATION
    method_permission_name = {"mine": "read", "form": "write"}
    base_permissions = ["can_read", "can_write"]

    @expose("/")
    @has_access
    def mine(self):
        now = clock.now()
        return self.render_template(
            "evaluations/mine.html",
            due=evaluations.due_today(g.user, now),
            forms=evaluations.my_forms(g.user, now),
        )

    @expose("/<int:class_id>/<kind>/<day>", methods=["GET", "POST"])
    @has_access
    def form(self, class_id, kind, day):
        day = _day(day)
        if kind not in FORM_KINDS:
            abort(404)
        now = clock.now()
        try:
            form = evaluations.open_form(g.user, class_id, kind, day, now)
        except NotAllowed:
            abort(404)  # another class's form, or no such form that day: nothing to show
        if request.method == "GET":
            return self._page(form)
        raw = request.form.to_dict(flat=False)
        submit = request.form.get("action") == "submit"
        sink = ErrorSink()
        ok = perform(
            lambda: evaluations.save(g.user, class_id, kind, day, raw, now, submit, form=form),
            success=_l("Your answers were submitted. Thank you!") if submit else _l("Draft saved."),
            form=sink,
        )
        if ok:
            return redirect(url_for(".form", class_id=class_id, kind=kind, day=day.isoformat()))
        db.session.rollback()
        form = evaluations.open_form(g.user, class_id, kind, day, now)
        if form.open:
            form.answers = raw  # keep what was typed
        return self._page(form, sink.errors, 400)

    def _page(self, form, errors=None, status=200):
        return self.render_template(
            "evaluations/form.html",
            form=form,
            errors=errors or {},
            limit=evaluations.ANSWER_LIMIT,
            scale=range(1, evaluations.SCALE_POINTS + 1),
            closes=evaluations.closes_at(form.day).strftime("%H:%M"),
            # [classroom] row 18: the institution's and trainers' responses to that day
            responses=evaluation_results.responses_of(form.klass, form.day),
            author_of=evaluation_results.author_of,
        ), status


class ErrorSink:
    """Stands in for a WTForms form: `perform` puts a refusal on the field it names."""

    def __init__(self):
        self.errors = {}

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return _Field(self.errors.setdefault(name, []))


class _Field:
    def __init__(self, bucket):
        self.bucket = bucket

    @property
    def errors(self):
        return self.bucket

    @errors.setter
    def errors(self, value):
        self.bucket[:] = value


class QuestionnaireView(BaseView):
    """评估问卷: the center's versions of the three forms."""

    route_base = "/questionnaires"
    default_view = "list"
    class_permission_name = permissions.QUESTIONNAIRE
    method_permission_name = {"list": "read", "show": "read", "new": "write"}
    base_permissions = ["can_read", "can_write"]

    @expose("/")
    @has_access
    def list(self):
        kinds = [
            (
                kind,
                evaluations.QUESTIONNAIRE_LABELS[kind],
                [(q, evaluations.uses(q)) for q in evaluations.versions(kind)],
            )
            for kind in evaluations.QUESTIONNAIRE_KINDS
        ]
        return self.render_template("evaluations/questionnaires.html", kinds=kinds)

    @expose("/show/<int:pk>")
    @has_access
    def show(self, pk):
        record = db.session.get(Questionnaire, pk)
        if record is None:
            abort(404)
        return self.render_template(
            "evaluations/questionnaire.html",
            record=record,
            label=evaluations.QUESTIONNAIRE_LABELS[record.kind],
            questions=evaluations.questions(record),
            types=evaluations.TYPE_LABELS,
            uses=evaluations.uses(record),
        )

    @expose("/new/<kind>", methods=["GET", "POST"])
    @has_access
    def new(self, kind):
        if kind not in evaluations.QUESTIONNAIRE_KINDS:
            abort(404)
        latest = evaluations.current(kind)
        values = {
            "title": latest.title if latest else "",
            "questions": evaluations.questions_text(evaluations.questions(latest))
            if latest
            else "",
        }
        sink = ErrorSink()
        if request.method == "POST":
            values = {
                "title": request.form.get("title", ""),
                "questions": request.form.get("questions", ""),
            }
            created = []
            if perform(
                lambda: created.append(
                    evaluations.new_version(
                        kind, values["title"], values["questions"], g.user, clock.now()
                    )
                ),
                success=_l("A new version of the form was saved."),
                form=sink,
            ):
                return redirect(url_for(".show", pk=created[0].id))
        return self.render_template(
            "evaluations/questionnaire_new.html",
            kind=kind,
            label=evaluations.QUESTIONNAIRE_LABELS[kind],
            values=values,
            errors=sink.errors,
            latest=latest,
        ), (400 if request.method == "POST" else 200)
