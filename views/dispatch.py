"""派遣 (Annex 1 rows 8–11): trainers' calendars, a class's dispatch page, a trainer's request.

Thin: each POST parses the form and calls one function of `app.services.availability` or
`app.services.dispatch` through `perform`; who may act is decided there. Every page reads its
record through a scoped datamodel, so a guessed id of another region answers 404.
"""

from __future__ import annotations

from datetime import date

from flask import abort, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.services import availability, vocabulary
from app.services import dispatch as svc
from app.services import dispatch_notices as notices
from app.services import recommendation_runs as runs
from app.services.errors import InvalidValue
from app.services.recommendation import REGION_LABELS, criteria_words
from models.dispatch import (
    DRAFT,
    OBJECTED,
    OPEN_SEATS,
    PROPOSED,
    REQUESTED,
    REQUESTING,
    STAFFED,
    Dispatch,
    DispatchSeat,
)
from models.faculty import FACULTY_STATUSES, GENDERS, FacultyProfile
from models.user import CENTER, INSTITUTION
from models.vocabulary import COURSE_TYPE, TRAINER_LEVEL
from security import permissions
from security.scope import ScopedSQLAInterface
from views.base import ScopedModelView, perform
from views.list_export import ListExportMixin

LABELS = {
    "name": _l("Full name"),
    "org": _l("Organisation"),
    "level": _l("Trainer level"),
    "service_status": _l("Standing"),
    "training_class": _l("Class"),
    "status": _l("Status"),
    "wanted": _l("Trainers wanted"),
    "profile": _l("Trainer"),
    "lead": _l("Lead trainer"),
    "requested_at": _l("Requested at"),
    "answered_at": _l("Answered at"),
}


CALENDARS = 20  # the center's list: inline calendars for its first rows (the rest: a link)


def _status(value) -> str:
    return str(svc.STATUS_LABELS.get(value, value))


def _day(text: str | None, field: str) -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise InvalidValue(_("Enter a date as YYYY-MM-DD."), field=field) from None


def _ids(name: str) -> list[int]:
    return [int(v) for v in request.form.getlist(name) if v.strip().isdigit()]


class AvailabilityView(ListExportMixin, ScopedModelView):
    """授课档期: the trainers' calendars (center all, province/city their region); a trainer its
    own, which it marks."""

    datamodel = ScopedSQLAInterface(FacultyProfile, eager=("org",))
    class_permission_name = permissions.AVAILABILITY
    method_permission_name = {"list": "read", "show": "read", "mine": "read", "mark": "write"}
    base_permissions = ["can_read", "can_write"]
    include_route_methods = {"list", "show", "mine", "mark"}
    list_title = show_title = add_title = edit_title = _l("Trainer availability")
    label_columns = LABELS
    # No add/edit pages (include_route_methods): the calendar is written by `mark`.
    list_columns = show_columns = add_columns = edit_columns = [
        "name",
        "org",
        "level",
        "service_status",
    ]
    search_columns = ["name"]
    base_order = ("id", "asc")
    formatters_columns = {
        "level": lambda v: vocabulary.labels(TRAINER_LEVEL).get(v, v or ""),
        "service_status": lambda v: str(FACULTY_STATUSES.get(v, v)),
    }

    @expose("/mine")
    @has_access
    def mine(self):
        own = db.session.scalar(
            select(FacultyProfile.id).where(FacultyProfile.user_id == g.user.id)
        )
        if own is None:
            return self.render_template(
                "dispatch/calendar.html", profile=None, title=_("My availability")
            )
        return redirect(url_for(f"{self.endpoint}.show", pk=own))

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        profile = self.datamodel.get(pk)
        if profile is None:
            abort(404)
        today = clock.now().date()
        shown = availability.months_shown(today)
        year, month = shown[0]
        wanted = request.args.get("month", "")
        for y, m in shown:
            if wanted == f"{y:04d}-{m:02d}":
                year, month = y, m
        return self.render_template(
            "dispatch/calendar.html",
            profile=profile,
            weeks=availability.month(profile, year, month, today),
            year=year,
            month=month,
            months=shown,
            window=availability.window(today),
            editable=profile.user_id == g.user.id,
            title=_("Availability of %(name)s", name=profile.name),
        )

    @expose("/mark/<pk>", methods=["POST"])
    @has_access
    def mark(self, pk):
        profile = self.datamodel.get(pk)
        if profile is None:
            abort(404)
        now = clock.now()
        form = request.form

        def call():
            if form.get("toggle"):  # one tapped day: "mark:2026-03-05" or "clear:2026-03-05"
                op, _sep, text = form["toggle"].partition(":")
                days, mark = [_day(text, "days")], op == "mark"
            else:  # a range, weekdays only or every day
                days = availability.days_between(
                    _day(form.get("start"), "start"),
                    _day(form.get("end"), "end"),
                    form.get("every") != "day",
                )
                mark = form.get("op") != "clear"
            availability.set_days(profile, g.user, days, mark, now)

        perform(call, success=_l("Availability saved."))
        month = form.get("month", "")
        return redirect(url_for(f"{self.endpoint}.show", pk=pk, month=month or None))


class DispatchView(ListExportMixin, ScopedModelView):
    """派遣: a class's criteria, recommendation and candidates (institution), the center's
    choice and requests, and the seats with their history."""

    datamodel = ScopedSQLAInterface(Dispatch, eager=("training_class", "org"))
    class_permission_name = permissions.DISPATCH
    method_permission_name = {
        "list": "read",
        "show": "read",
        "criteria": "write",
        "relax": "write",
        "recompute": "write",
        "propose": "write",
        "choose": "write",
        "issue": "write",
        "answer": "write",
    }
    base_permissions = ["can_read", "can_write"]
    include_route_methods = {
        "list",
        "show",
        "criteria",
        "relax",
        "recompute",
        "propose",
        "choose",
        "issue",
        "answer",
    }
    list_title = show_title = add_title = edit_title = _l("Trainer dispatch")
    label_columns = LABELS
    # No add/edit pages: opened from the class page, written by its actions.
    list_columns = show_columns = add_columns = edit_columns = [
        "training_class",
        "org",
        "wanted",
        "status",
    ]
    search_columns = ["status"]
    base_order = ("id", "desc")
    formatters_columns = {"status": _status}

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        d = self.get_or_404(pk)
        now = clock.now()
        user = g.user
        klass = d.training_class
        institution = user.role_kind == INSTITUTION and user.org_id == d.org_id
        center = user.role_kind == CENTER
        rec = None
        choosing = center and d.status in (PROPOSED, REQUESTING)
        if (institution and d.status == DRAFT) or choosing:
            # The stored run (whoever computed it): the page never reads the pool.
            rec = runs.stored(d, klass)
        seats = list(d.seats)
        asked = {s.profile_id for s in seats}
        ticked = svc.candidates_of(d)
        candidates = [c for c in ticked if c.profile_id not in asked]
        strips, system = {}, []
        if choosing:
            # The run's rows less the trainers this dispatch already asked (its seats, read
            # anyway): a stored run does not know the requests sent since it was computed.
            system = [r for r in (rec.shown if rec else []) if r.profile_id not in asked]
            # The class month(s) of the candidates and of the run's first CALENDARS rows (one
            # SELECT; every strip is ~30 cells, so the page stays the same size at any pool).
            shown = [c.profile_id for c in candidates] + [r.profile_id for r in system[:CALENDARS]]
            strips = availability.strips(shown, klass.start_date, klass.end_date, now.date())
        return self.render_template(
            "dispatch/show.html",
            d=d,
            klass=klass,
            rec=rec,
            system=system,
            ticked={c.profile_id for c in ticked},
            candidates=candidates,
            strips=strips,
            seats=seats,
            has_lead=any(s.lead and s.status in OPEN_SEATS for s in seats),
            history=svc.history(d),
            words=criteria_words(d),
            may_enter=institution and d.status == DRAFT,
            may_choose=choosing,
            levels=vocabulary.choices(TRAINER_LEVEL),
            regions=REGION_LABELS,
            genders=GENDERS,
            course_types=vocabulary.labels(COURSE_TYPE),
            status_label=_status,
            action_labels=svc.ACTION_LABELS,
            limit=svc.PROPOSAL_FACTOR * d.wanted,
            may_issue=center and d.status == STAFFED,
            may_answer=center and d.status == OBJECTED,
            held=[s for s in seats if s.status in notices.HELD_AFTER_NOTICE],
            notices=notices.documents_of(d),
            notice_label=lambda v: str(notices.KIND_LABELS.get(v, v)),
            title=_("Trainer dispatch: %(code)s", code=klass.code),
        )

    def _back(self, pk):
        return redirect(url_for(f"{self.endpoint}.show", pk=pk))

    @expose("/criteria/<pk>", methods=["POST"])
    @has_access
    def criteria(self, pk):
        d = self.get_or_404(pk)
        values = {f.name: request.form.get(f.name, "") for f in svc.criteria_fields()}
        perform(lambda: svc.save_criteria(d, g.user, values, clock.now()), _l("Criteria saved."))
        return self._back(pk)

    @expose("/relax/<pk>", methods=["POST"])
    @has_access
    def relax(self, pk):
        d = self.get_or_404(pk)
        criterion = request.form.get("criterion", "")
        perform(lambda: svc.relax(d, g.user, criterion, clock.now()), _l("Criteria saved."))
        return self._back(pk)

    @expose("/recompute/<pk>", methods=["POST"])
    @has_access
    def recompute(self, pk):
        d = self.get_or_404(pk)
        perform(lambda: svc.recompute(d, g.user, clock.now()), _l("Recommendation recomputed."))
        return self._back(pk)

    @expose("/propose/<pk>", methods=["POST"])
    @has_access
    def propose(self, pk):
        d = self.get_or_404(pk)
        ids = _ids("candidates")
        perform(
            lambda: svc.propose(d, g.user, ids, clock.now()),
            _l("Candidates submitted to the center."),
        )
        return self._back(pk)

    @expose("/choose/<pk>", methods=["POST"])
    @has_access
    def choose(self, pk):
        d = self.get_or_404(pk)
        ids = list(dict.fromkeys(_ids("trainers")))  # ticked in both columns: once
        lead = request.form.get("lead", "")
        lead_id = int(lead) if lead.isdigit() else None
        perform(
            lambda: svc.send_requests(d, g.user, ids, lead_id, clock.now()),
            _l("Requests sent to the trainers."),
        )
        return self._back(pk)

    @expose("/issue/<pk>", methods=["POST"])
    @has_access
    def issue(self, pk):
        d = self.get_or_404(pk)
        perform(lambda: notices.issue_notices(d, g.user, clock.now()), _l("Notices issued."))
        return self._back(pk)

    @expose("/answer/<pk>", methods=["POST"])
    @has_access
    def answer(self, pk):
        d = self.get_or_404(pk)
        form = request.form
        seat = form.get("seat", "")
        seat_id = int(seat) if seat.isdigit() else None
        perform(
            lambda: notices.answer_objection(
                d, g.user, form.get("decision", ""), seat_id, form.get("answer", ""), clock.now()
            ),
            _l("Objection answered."),
        )
        return self._back(pk)


class DispatchSeatView(ListExportMixin, ScopedModelView):
    """派遣请求: one trainer's request (its own only), answered here; the class's authorities
    and institution read it."""

    datamodel = ScopedSQLAInterface(DispatchSeat, eager=("training_class", "profile"))
    class_permission_name = permissions.DISPATCH_REQUEST
    method_permission_name = {"list": "read", "show": "read", "accept": "write", "decline": "write"}
    base_permissions = ["can_read", "can_write"]
    include_route_methods = {"list", "show", "accept", "decline"}
    list_title = show_title = add_title = edit_title = _l("Dispatch request")
    label_columns = LABELS
    # No add/edit pages: made by the center's choice, answered by its actions.
    list_columns = show_columns = add_columns = edit_columns = [
        "training_class",
        "profile",
        "lead",
        "status",
        "requested_at",
    ]
    search_columns = ["status"]
    base_order = ("id", "desc")
    formatters_columns = {"status": _status, "lead": lambda v: _("Yes") if v else ""}

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        seat = self.get_or_404(pk)
        d = db.session.get(Dispatch, seat.dispatch_id)
        return self.render_template(
            "dispatch/seat.html",
            seat=seat,
            klass=seat.training_class,
            history=svc.history(d, seat.id),
            may_answer=seat.trainer_user_id == g.user.id and seat.status == REQUESTED,
            notice=notices.notice_of_seat(seat),
            course_types=vocabulary.labels(COURSE_TYPE),
            status_label=_status,
            action_labels=svc.ACTION_LABELS,
            title=_("Dispatch request: %(code)s", code=seat.training_class.code),
        )

    @expose("/accept/<pk>", methods=["POST"])
    @has_access
    def accept(self, pk):
        seat = self.get_or_404(pk)
        perform(lambda: svc.accept(seat, g.user, clock.now()), _l("Request accepted."))
        return redirect(url_for(f"{self.endpoint}.show", pk=pk))

    @expose("/decline/<pk>", methods=["POST"])
    @has_access
    def decline(self, pk):
        seat = self.get_or_404(pk)
        reason = request.form.get("reason", "")
        perform(lambda: svc.decline(seat, g.user, reason, clock.now()), _l("Request declined."))
        return redirect(url_for(f"{self.endpoint}.show", pk=pk))
