"""统计汇总 (SPEC §8) and the home page's dashboard: the figures of `app.services.statistics`
as a page with a period form, as the summary spreadsheet (reports.summary), and as charts with
their tables on the home page. Both are scoped to the user; the numbers of one come from the
same queries as the other's.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import abort, g, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from wtforms import DateField, SelectField

from app import audit, clock
from app.extensions import db
from app.services import statistics
from app.services.errors import DomainError
from app.services.tx import transaction
from models.org import CENTER, CITY, INSTITUTION, PROVINCE, Org
from reports import summary as report
from reports.xlsx import download_name
from security import permissions
from security.scope import NODE, Scope, current_scope, row_in_scope
from views.base import show_refusal, xlsx_download

ROOT_KINDS = (CENTER, PROVINCE, CITY)  # whose summary a file can be
DASHBOARD_KINDS = (CENTER, PROVINCE, CITY, INSTITUTION)


class PeriodForm(FlaskForm):
    """A GET form (a download link carries it): nothing to protect with a CSRF token."""

    class Meta:
        csrf = False

    start = DateField(_l("Period start"), format="%Y-%m-%d")
    end = DateField(_l("Period end"), format="%Y-%m-%d")
    org = SelectField(_l("Summary of"), coerce=int, validate_choice=False)


class SummaryView(BaseView):
    """统计汇总: the page (a period, the top sheet and the course types) and its spreadsheet."""

    route_base = "/summary"
    default_view = "index"
    class_permission_name = permissions.SUMMARY
    method_permission_name = {"index": "read", "export": "export"}
    base_permissions = ["can_read", "can_export"]

    @expose("/")
    @has_access
    def index(self):
        form, root, period = self._ask()
        context = {"form": form, "root": root, "period": period, "title": _("Statistical summary")}
        if period is not None:
            fig = statistics.figures(db.session, _scope_of(root), period, clock.now())
            level = statistics.CHILD_LEVEL[root.kind]
            rows = statistics.by_level(fig, level, root)
            types = statistics.by_course_type(fig)
            context.update(
                level_label=report.level_label(level),
                rows=rows,
                row_name=lambda r: report.row_name(r, root),
                total=statistics.totals(rows),
                types=types,
                types_total=statistics.totals(types),
                export_url=url_for(
                    ".export",
                    start=period.start.isoformat(),
                    end=period.end.isoformat(),
                    org=root.id,
                ),
            )
        return self.render_template("summaries/index.html", **context)

    @expose("/export")
    @has_access
    def export(self):
        form, root, period = self._ask()
        if period is None:  # the page again, the message at its field
            return self.index()
        now = clock.now()
        fig = statistics.figures(db.session, _scope_of(root), period, now)
        data = report.summary_xlsx(fig, root)
        with transaction() as session:
            audit.record_export(
                session,
                "Summary",
                len(fig.classes),
                f"org={root.id}; {period.start.isoformat()}..{period.end.isoformat()}",
                now=now,
            )
        name = download_name(
            _("Statistical summary"),
            root.name,
            f"{period.start:%Y%m%d}-{period.end:%Y%m%d}",
            when=now,
        )
        return xlsx_download(data, name)

    # ------------------------------------------------------------ helpers

    def _ask(self):
        """The form as typed, the org whose summary is asked (404 outside the user's scope) and
        the period, or None with the message beside its field."""
        roots = _roots()
        form = PeriodForm(request.args)
        form.org.choices = [(o.id, o.name) for o in roots]
        wanted = request.args.get("org", type=int)
        root = _root(wanted, roots)
        if not request.args.get("start") and not request.args.get("end"):
            period = statistics.year_of(clock.now().date())
            form.start.data, form.end.data, form.org.data = period.start, period.end, root.id
            return form, root, period
        try:
            period = statistics.parse_period(request.args.get("start"), request.args.get("end"))
        except DomainError as exc:
            form.start.raw_data = [request.args.get("start", "")]
            form.end.raw_data = [request.args.get("end", "")]
            show_refusal(form, exc)
            return form, root, None
        return form, root, period


def _roots() -> list[Org]:
    """The orgs whose summary the user may make: its own, and for the center and a province
    the provinces and cities below (a few hundred rows at most, one statement)."""
    own = g.user.org
    # by the role and its org both: a trainer's org is a city, yet no city's summary is its own
    if own is None or g.user.role_kind not in ROOT_KINDS or own.kind != g.user.role_kind:
        abort(403)
    query = select(Org).where(Org.kind.in_((PROVINCE, CITY))).order_by(Org.code)
    if own.kind == PROVINCE:
        query = query.where(or_(Org.id == own.id, Org.province_id == own.id))
    elif own.kind == CITY:
        query = query.where(Org.id == own.id)
    below = [o for o in db.session.scalars(query) if o.id != own.id]
    return [own, *below]


def _scope_of(root: Org) -> Scope:
    """The figures of ``root``'s subtree only (``root`` is inside the user's scope: `_root`),
    so that every sheet of its file, the course types' too, counts nothing else."""
    if root.kind == CENTER:
        return current_scope()
    return Scope(NODE, root.id, root.kind, g.user.id)


def _root(wanted: int | None, roots: list[Org]) -> Org:
    if wanted is None:
        return roots[0]
    root = next((o for o in roots if o.id == wanted), None)
    if root is None or not row_in_scope(root, current_scope()):
        abort(404)  # another region's org, or one that does not exist: nothing to say
    return root


# ---------------------------------------------------------------- the dashboard


def _classes_url(period, **filters) -> str:
    """The classes list filtered as the dashboard counted (FAB's filter args: on a date column
    1 is "greater than", 2 "smaller than"; on a text column 3 is "equal to")."""
    args = {"_flt_1_start_date": (period.start - timedelta(days=1)).isoformat()}
    args.update(filters)
    return url_for("TrainingClassView.list", **args)


def status_urls(period, today: date) -> dict[str, str]:
    """The class list behind each status of the period's classes (status read on ``today``)."""
    after = (period.end + timedelta(days=1)).isoformat()
    return {
        statistics.UPCOMING: _classes_url(
            period,
            _flt_1_start_date=max(today, period.start - timedelta(days=1)).isoformat(),
            _flt_2_start_date=after,
        ),
        statistics.RUNNING: _classes_url(
            period,
            _flt_2_start_date=min(today, period.end) + timedelta(days=1),
            _flt_1_end_date=(today - timedelta(days=1)).isoformat(),
        ),
        statistics.ENDED: _classes_url(
            period, _flt_2_start_date=after, _flt_2_end_date=today.isoformat()
        ),
    }


def dashboard(user) -> dict | None:
    """The home page's charts for the current year, scoped to the user (None: not its role)."""
    if user.role_kind not in DASHBOARD_KINDS or user.org is None:
        return None
    if user.org.kind != user.role_kind:  # a misplaced account sees no one's figures
        return None
    now = clock.now()
    period = statistics.year_of(now.date())
    fig = statistics.figures(db.session, current_scope(), period, now)
    root = user.org
    level = statistics.CHILD_LEVEL[root.kind]
    regions = [r for r in statistics.by_level(fig, level, root) if r["classes"]]
    statuses = statistics.by_status(fig)
    urls = status_urls(period, now.date())
    types = statistics.by_course_type(fig)
    overdue = [
        r for r in statistics.by_level(fig, level, root) if r["overdue_open"] or r["done_late"]
    ]
    names = {id(r): report.row_name(r, root) for r in regions + overdue}
    return {
        "period": period,
        "total": statistics.totals(regions),
        "statuses": [s | {"url": urls[s["status"]]} for s in statuses],
        "regions": regions,
        "level_label": report.level_label(level),
        "name": lambda r: names[id(r)],
        "types": [
            t
            | {
                "url": _classes_url(
                    period, _flt_2_start_date=_after(period), _flt_3_course_type=t["course_type"]
                )
            }
            for t in types
        ],
        "overdue": overdue,
        "classes_url": _classes_url(period, _flt_2_start_date=_after(period)),
        "charts": {
            "status": _chart(
                [s["label"] for s in statuses], [(_("Classes"), [s["classes"] for s in statuses])]
            ),
            "trainees": _chart(
                [names[id(r)] for r in regions],
                [
                    (_("Trainees"), [r["trainees"] for r in regions]),
                    (_("Passed"), [r["passed"] for r in regions]),
                ],
            ),
            "scores": _chart(
                [t["label"] for t in types],
                [(_("Mean evaluation score"), [t["mean_score"] or 0 for t in types])],
            ),
            "overdue": _chart(
                [names[id(r)] for r in overdue],
                [
                    (_("Overdue steps still open"), [r["overdue_open"] for r in overdue]),
                    (_("Steps done late"), [r["done_late"] for r in overdue]),
                ],
            ),
        },
    }


def _after(period) -> str:
    return (period.end + timedelta(days=1)).isoformat()


def _chart(labels, series) -> dict:
    """What static/charts.js draws: bars over ``labels``, one series per (name, numbers)."""
    return {"labels": labels, "series": [{"name": str(n), "data": d} for n, d in series]}
