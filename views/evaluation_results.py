"""评估结果 (Annex 1 row 18): a class day's evaluation results, reminders and responses. Thin: the
rules are in `app.services.evaluation_results`.

`EvaluationResultView`: one page per class day (``/evaluation_results/<class_id>/<day>``) for the
class's institution and trainers and the authorities above it: who has not responded (with a
reminder button), each question's numbers as a chart and a table, the free-text answers, and the
responses to the day's feedback. A class the user does not follow answers 404, as does a day
that is not one of the class's. The class page links here.
"""

from __future__ import annotations

from datetime import date

from flask import abort, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l

from app import clock
from app.extensions import db
from app.services import evaluation_results as results
from app.services.errors import NotAllowed
from security import permissions
from views.base import perform


def _day(text) -> date:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        abort(404)


def _readable(class_id):
    try:
        return results.readable_class(g.user, class_id)
    except NotAllowed:
        abort(404)


class EvaluationResultView(BaseView):
    route_base = "/evaluation_results"
    default_view = "index"
    class_permission_name = permissions.EVALUATION_RESULT
    method_permission_name = {
        "index": "read",
        "show": "read",
        "remind": "write",
        "respond": "write",
    }
    base_permissions = ["can_read", "can_write"]

    @expose("/<int:class_id>")
    @has_access
    def index(self, class_id):
        """The class's results: today's page while it runs, else its first or last day."""
        klass = _readable(class_id)
        today = clock.now().date()
        day = min(max(today, klass.start_date), klass.end_date)
        return redirect(url_for(".show", class_id=klass.id, day=day.isoformat()))

    @expose("/<int:class_id>/<day>")
    @has_access
    def show(self, class_id, day):
        day = _day(day)
        _readable(class_id)
        return self._page(class_id, day)

    def _page(self, class_id, day, typed="", status=200):
        try:
            found = results.day_results(g.user, class_id, day, clock.now())
        except NotAllowed:
            abort(404)  # not a day of the class
        return self.render_template(
            "evaluations/results.html",
            r=found,
            author_of=results.author_of,
            limit=results.RESPONSE_LIMIT,
            typed=typed,
        ), status

    @expose("/<int:class_id>/<day>/remind", methods=["POST"])
    @has_access
    def remind(self, class_id, day):
        day = _day(day)
        klass = _readable(class_id)
        who = request.form.get("trainee", "")
        if who != "all" and not who.isdigit():
            abort(400)
        sent = []
        perform(
            lambda: sent.append(
                results.remind(
                    g.user,
                    klass.id,
                    request.form.get("kind", ""),
                    day,
                    None if who == "all" else [int(who)],
                    clock.now(),
                )
            ),
            success=_l("The reminder was sent: it is at the top of the trainee's home page."),
        )
        return redirect(url_for(".show", class_id=klass.id, day=day.isoformat()))

    @expose("/<int:class_id>/<day>/respond", methods=["POST"])
    @has_access
    def respond(self, class_id, day):
        day = _day(day)
        klass = _readable(class_id)
        text = request.form.get("text", "")
        if perform(
            lambda: results.respond(g.user, klass.id, day, text, clock.now()),
            success=_l("Your response was published to the class's trainees."),
        ):
            return redirect(url_for(".show", class_id=klass.id, day=day.isoformat()) + "#responses")
        db.session.rollback()
        return self._page(klass.id, day, typed=text, status=400)


def register(appbuilder) -> None:
    """Sub-pages without a menu entry (the class page links to them)."""
    appbuilder.add_view_no_menu(EvaluationResultView)
