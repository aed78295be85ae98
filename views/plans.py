"""讲师培训计划 (Annex 1 rows 1–3): plan rounds (center), city plans and their lines (city enters,
province and center review), and the provincial / national summaries with their xlsx exports."""

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.actions import action
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import IntegerField, SelectField
from wtforms.validators import DataRequired, InputRequired, NumberRange

from app import audit, clock
from app.extensions import db
from app.services import plans, review, vocabulary
from app.services.errors import DomainError
from app.services.plans import check_contact, check_new_plan
from app.services.tx import transaction
from models.org import CITY, PROVINCE, Org
from models.plan import LINE_FIELDS, PlanLine, PlanRound, TrainingPlan
from models.vocabulary import COURSE_TYPE
from reports import plans as report
from reports.xlsx import download_name
from security import permissions
from security.scope import ALL, ScopedSQLAInterface, current_scope, in_scope, row_in_scope
from views.base import ScopedModelView, blank, perform, xlsx_download
from views.list_export import ListExportMixin
from views.review import TODO_TARGETS, ReviewableModelView, status_label

MONTH_LABELS = {1: _l("January round"), 6: _l("June round")}
LABELS = {
    "year": _l("Year"),
    "month": _l("Round"),
    "deadline": _l("Deadline"),
    "notice": _l("Notice"),
    "opened_at": _l("Opened at"),
    "round": _l("Plan round"),
    "org": _l("City"),
    "status": _l("Status"),
    "contact_name": _l("Contact person"),
    "contact_phone": _l("Contact phone"),
    "note": _l("Note"),
    "total_classes": _l("Classes"),
    "total_trainees": _l("Trainees"),
    "submitted_at": _l("Submitted at"),
    "plan": _l("Plan"),
    "course_type": _l("Course type"),
    "classes": _l("Number of classes"),
    "trainees_per_class": _l("Trainees per class"),
    "trainees": _l("Trainees"),
    "start_from": _l("Earliest start"),
    "start_to": _l("Latest start"),
    "venue_city": _l("Venue city"),
    "venue_city_id": _l("Venue city"),
    "lines_data": _l("Plan line"),
}


# ---------------------------------------------------------------- rounds (center)


class PlanRoundView(ListExportMixin, ScopedModelView):
    """计划轮次: the center opens the January or June round with a deadline."""

    datamodel = ScopedSQLAInterface(PlanRound)
    class_permission_name = permissions.PLAN_ROUND
    base_permissions = ["can_read", "can_write"]
    method_permission_name = {**ScopedModelView.method_permission_name, "withdraw": "write"}
    list_title = _l("Plan round")
    show_title = _l("Plan round")
    add_title = _l("Open a plan round")
    edit_title = _l("Edit plan round")
    label_columns = LABELS
    list_columns = ["year", "month", "deadline", "opened_at"]
    show_columns = ["year", "month", "deadline", "notice", "opened_at"]
    add_columns = ["year", "month", "deadline", "notice"]
    edit_columns = ["deadline", "notice"]
    order_columns = ["year", "deadline"]
    base_order = ("deadline", "desc")
    formatters_columns = {"month": lambda m: str(MONTH_LABELS.get(m, m)), "notice": blank}
    add_form_extra_fields = {
        "month": SelectField(
            _l("Round"),
            coerce=int,
            validators=[DataRequired()],
            choices=[(m, label) for m, label in MONTH_LABELS.items()],
        )
    }

    def pre_add(self, item):
        plans.open_round(item, g.user, clock.now())

    def pre_update(self, item):
        plans.change_round(item, clock.now())

    @action(
        "withdraw",
        _l("Withdraw round"),
        _l("Withdraw this round? Only a round no city has entered a plan for can be withdrawn."),
        "fa-undo",
        multiple=False,
    )
    def withdraw(self, items):
        """撤回: a round opened by mistake, before any city has entered its plan."""
        for round_ in items if isinstance(items, list) else [items]:
            name = str(round_)
            perform(
                lambda r=round_: plans.withdraw_round(r, g.user, clock.now()),
                success=_l("Round %(round)s withdrawn.", round=name),
            )
        return redirect(url_for(f"{self.endpoint}.list"))


# ---------------------------------------------------------------- lines


def _venue_choices():
    """Cities of the user's province (the center: every city). Read beside the scope on
    purpose: a city may hold its classes in a neighbouring city of the same province."""
    org = getattr(g.user, "org", None)
    query = select(Org.id, Org.name).where(Org.kind == CITY, Org.active.is_(True))
    if org is None:
        return []
    if org.kind != "center":
        query = query.where(
            Org.province_id == (org.id if org.kind == PROVINCE else org.province_id)
        )
    return [(i, n) for i, n in db.session.execute(query.order_by(Org.code))]


class PlanLineInterface(ScopedSQLAInterface):
    """While a correction of an approved plan is prepared (第十条), line changes go into the
    correction's revision: the approved lines stay in force until the revision is approved."""

    def add(self, item, commit=True):
        if review.is_correction(item.plan):
            return self._stage(item, "add")
        return super().add(item, commit)

    def edit(self, item, commit=True):
        if review.is_correction(item.plan):
            return self._stage(item, "edit")
        return super().edit(item, commit)

    def delete(self, item, commit=True):
        if review.is_correction(item.plan):
            return self._stage(item, "delete")
        return super().delete(item, commit)

    def _stage(self, item, operation):
        with transaction():
            plans.stage_line(item, operation)
        flash(_("Saved in the correction; it takes effect when the revision is approved."), "info")


class PlanLineView(ScopedModelView):
    """A plan's lines, shown on the plan's page; the city adds and edits them there."""

    datamodel = PlanLineInterface(PlanLine)
    class_permission_name = permissions.PLAN
    base_permissions = ["can_read", "can_write", "can_delete"]
    list_title = _l("Plan line")
    show_title = _l("Plan line")
    add_title = _l("Add plan line")
    edit_title = _l("Edit plan line")
    label_columns = LABELS
    list_columns = [
        "course_type",
        "classes",
        "trainees_per_class",
        "trainees",
        "start_from",
        "start_to",
        "venue_city",
        "contact_name",
        "contact_phone",
    ]
    show_columns = ["plan"] + list_columns
    add_columns = ["plan", *LINE_FIELDS]
    edit_columns = add_columns[1:]
    search_columns = ["course_type"]
    formatters_columns = {"venue_city": blank, "contact_name": blank, "contact_phone": blank}
    # Choices are checked by `check_line`, whose messages name the field (WTForms' do not).
    _fields = {
        "course_type": SelectField(
            _l("Course type"),
            validators=[DataRequired()],
            choices=lambda: vocabulary.choices(COURSE_TYPE),  # + the stored one: prefill_form
            validate_choice=False,
        ),
        "classes": IntegerField(
            _l("Number of classes"),
            validators=[
                InputRequired(),
                NumberRange(min=1, message=_l("Number of classes must be at least 1.")),
            ],
        ),
        "trainees_per_class": IntegerField(
            _l("Trainees per class"),
            validators=[
                InputRequired(),
                NumberRange(min=1, message=_l("Trainees per class must be at least 1.")),
            ],
        ),
        "venue_city_id": SelectField(
            _l("Venue city"),
            coerce=int,
            validators=[DataRequired()],
            choices=_venue_choices,
            validate_choice=False,
        ),
    }
    add_form_extra_fields = _fields
    edit_form_extra_fields = _fields

    def prefill_form(self, form, pk):
        """The edit form offers the stored course type too, even a type the center retired."""
        line = self.datamodel.get(pk)
        if line is not None:
            form.course_type.choices = vocabulary.choices(
                COURSE_TYPE, keep=(line.course_type, form.course_type.data)
            )

    def pre_add(self, item):
        plans.check_line_change(item, clock.now().date())

    def pre_update(self, item):
        plans.check_line_change(item, clock.now().date())

    def pre_delete(self, item):
        plans.check_editable(item.plan)


# ---------------------------------------------------------------- plans


class PlanView(ListExportMixin, ReviewableModelView):
    """培训计划: a city's plan for a round; submitted to the province, then the center."""

    datamodel = ScopedSQLAInterface(TrainingPlan)
    class_permission_name = permissions.PLAN
    method_permission_name = {
        **ReviewableModelView.method_permission_name,
        "submit_summary": "review",
        "add_lines": "write",
        "edit_lines": "write",
    }
    show_template = "plans/plan_show.html"
    NEW_ROWS = 5  # blank rows of the plan page's "add lines" table
    base_permissions = ["can_read", "can_write", "can_delete", "can_review"]
    related_views = [PlanLineView]
    list_title = _l("Plan")
    show_title = _l("Plan")
    add_title = _l("Enter plan")
    edit_title = _l("Edit plan")
    label_columns = LABELS
    list_columns = ["round", "org", "status", "total_classes", "total_trainees", "submitted_at"]
    show_columns = [
        "round",
        "org",
        "status",
        "contact_name",
        "contact_phone",
        "note",
        "total_classes",
        "total_trainees",
        "submitted_at",
    ]
    add_columns = ["round", "contact_name", "contact_phone", "note"]
    edit_columns = ["contact_name", "contact_phone", "note"]
    search_columns = ["round", "org", "status"]
    order_columns = ["submitted_at"]
    base_order = ("id", "desc")
    formatters_columns = {
        "status": status_label,
        "submitted_at": blank,
        "note": blank,
        "contact_name": blank,
        "contact_phone": blank,
    }

    def pre_add(self, item):
        check_new_plan(item, g.user.org, db.session)
        check_contact(item)
        item.org_id = g.user.org_id

    def pre_update(self, item):
        check_contact(item)
        super().pre_update(item)

    def show_extras(self, record) -> dict:
        """The table to add several lines at once, when the user may change the plan's lines."""
        may_add = review.editable(record) and self._may_write(record)
        return {
            "new_lines": self.NEW_ROWS if may_add else 0,
            "existing_lines": plans.editable_lines(record) if may_add else [],
            "line_errors": getattr(g, "line_errors", {}),
            "line_fields": LINE_FIELDS,
            "line_labels": LABELS,
            "course_types": vocabulary.choices(COURSE_TYPE),
            "venue_cities": _venue_choices(),
            "typed_lines": getattr(g, "typed_lines", {}),
        }

    def _may_write(self, record) -> bool:
        return self.appbuilder.sm.has_access(
            "can_write", self.class_permission_name
        ) and row_in_scope(record, current_scope(), for_write=True)

    @expose("/add_lines/<pk>", methods=["POST"])
    @has_access
    def add_lines(self, pk):
        """新增计划明细 (several rows at once) on the plan's page: all rows saved or none."""
        record = self._writable_or_404(pk)
        rows = [
            {f: request.form.get(f"{f}-{i}", "") for f in LINE_FIELDS} for i in range(self.NEW_ROWS)
        ]
        return self._save_lines(
            record,
            lambda: plans.add_lines(record, rows, clock.now().date()),
            _l("Plan lines added."),
        )

    @expose("/edit_lines/<pk>", methods=["POST"])
    @has_access
    def edit_lines(self, pk):
        """修改/删除计划明细 on the plan's page: the existing lines edited (several at once) and
        those ticked removed; all saved or none, a refusal shown beside the row's field."""
        record = self._writable_or_404(pk)
        ids = [int(i) for i in request.form.getlist("line_id") if i.isdigit()]
        rows = {i: {f: request.form.get(f"{f}-e{i}", "") for f in LINE_FIELDS} for i in ids}
        removed = {int(i) for i in request.form.getlist("remove") if i.isdigit()}
        rows = {i: row for i, row in rows.items() if i not in removed}
        return self._save_lines(
            record,
            lambda: plans.edit_lines(record, rows, removed, clock.now().date()),
            _l("Plan lines saved."),
        )

    def _writable_or_404(self, pk):
        record = self._record_or_404(self._deserialize_pk_if_composite(pk))
        if not self._may_write(record):
            abort(404)
        return record

    def _save_lines(self, record, call, success):
        """One transaction; a refusal shows the page again with the rows as typed and the
        message beside the row's field (or above the tables)."""
        try:
            with transaction():
                call()
        except DomainError as exc:
            db.session.rollback()
            g.typed_lines = request.form  # the rows as typed, on the page again
            g.line_errors = {exc.field or "": [str(exc)]}
            record = self._record_or_404(record.id)
            return self._show_page(record.id, record), 400
        flash(str(success), "success")
        return redirect(url_for(".show", pk=record.id))

    @expose("/submit_summary", methods=["POST"])
    @has_access
    def submit_summary(self):
        """汇总报送: the province submits its provincial summary, i.e. approves every city plan
        of the round waiting for it (they go to the center). The summary page's button shows
        what will change; the confirmed post (``confirmed`` and the listed ``rowid``s) applies
        it to exactly those plans, all of them or none, with one opinion."""
        round_id = request.form.get("round_id", type=int)
        round_ = db.session.get(PlanRound, round_id) if round_id else None
        if round_ is None:
            abort(404)
        back = url_for("PlanSummaryView.province", round=round_id)
        if not request.form.get("confirmed"):
            waiting = self._waiting_for_summary(round_id)
            if not waiting:
                flash(_("No city plan of this round is waiting for your review."), "warning")
                return redirect(back)
            return self._summary_page(round_, waiting)
        pks = [self._deserialize_pk_if_composite(pk) for pk in request.form.getlist("rowid")]
        records = [self.datamodel.get(pk) for pk in pks]
        if not records or any(r is None for r in records):
            abort(404)
        if any(r.round_id != round_id for r in records):
            abort(400)
        opinion = request.form.get("opinion", "")[:2000]
        if perform(
            lambda: review.decide_all(
                records, g.user, review.APPROVE, clock.now(), opinion=opinion
            ),
            success=_l(
                "Provincial summary submitted: %(n)d city plan(s) sent to the center.",
                n=len(records),
            ),
        ):
            return redirect(back)
        return self._summary_page(round_, [self.datamodel.get(pk) for pk in pks], opinion, 400)

    def _waiting_for_summary(self, round_id) -> list:
        query = db.session.query(TrainingPlan).filter(TrainingPlan.round_id == round_id)
        query = in_scope(query, TrainingPlan).order_by(TrainingPlan.id)
        return [plan for plan in query if review.may_decide(plan, g.user)]

    def _summary_page(self, round_, records, opinion="", status=200):
        return (
            self.render_template(
                "review/bulk_confirm.html",
                title=str(_l("Confirm: submit the provincial summary")),
                intro=_(
                    "Submitting the provincial summary of %(round)s approves these %(n)d city "
                    "plan(s) and sends them to the center; all of them or none:",
                    round=str(round_),
                    n=len(records),
                ),
                records=records,
                decision=review.APPROVE,
                action_label=_("Submit provincial summary"),
                status_label=status_label,
                opinion=opinion,
                post_url=url_for(".submit_summary"),
                extra_fields={"round_id": round_.id, "confirmed": "1"},
                back_url=url_for("PlanSummaryView.province", round=round_.id),
            ),
            status,
        )


# ---------------------------------------------------------------- summaries


class PlanSummaryView(BaseView):
    """计划汇总: the provincial summary (a province: its own cities) and the national plan."""

    route_base = "/plansummary"
    default_view = "index"
    class_permission_name = permissions.PLAN_SUMMARY
    method_permission_name = {
        "index": "read",
        "province": "read",
        "national": "read",
        "province_xlsx": "export",
        "national_xlsx": "export",
    }

    @expose("/")
    @has_access
    def index(self):
        """The menu's entry: the center's national plan, a province's own summary."""
        args = {"round": request.args.get("round", type=int)}
        if current_scope().mode == ALL:
            return redirect(url_for(".national", **args))
        return redirect(url_for(".province", **args))

    @expose("/province")
    @has_access
    def province(self):
        rounds, chosen = self._rounds()
        province = self._province()
        frame = self._frame(chosen, province) if province is not None else None
        return self.render_template(
            "plans/summary.html",
            mode="province",
            rounds=rounds,
            chosen=chosen,
            province=province,
            provinces=self._provinces(),
            frame=frame,
            report=report,
            cities=report.by_city(frame).to_dict("records") if frame is not None else [],
            can_submit=province is not None and g.user.role_kind == PROVINCE,
        )

    @expose("/national")
    @has_access
    def national(self):
        self._center_only()
        rounds, chosen = self._rounds()
        frame = self._frame(chosen, None)
        return self.render_template(
            "plans/summary.html",
            mode="national",
            rounds=rounds,
            chosen=chosen,
            province=None,
            provinces=[],
            frame=frame,
            report=report,
            rows=report.national(frame) if frame is not None else [],
        )

    @expose("/province.xlsx")
    @has_access
    def province_xlsx(self):
        _rounds, chosen = self._rounds()
        province = self._province()
        if chosen is None or province is None:
            abort(404)
        frame = self._frame(chosen, province)
        title = _(
            "Provincial plan summary: %(province)s, %(round)s",
            province=province.name,
            round=str(chosen),
        )
        return self._download(
            report.provincial_xlsx(frame, title),
            int(frame["line_id"].notna().sum()),
            f"round={chosen.id}; province={province.id}",
            download_name(_("Provincial plan summary"), province.name, repr(chosen)),
        )

    @expose("/national.xlsx")
    @has_access
    def national_xlsx(self):
        self._center_only()
        _rounds, chosen = self._rounds()
        if chosen is None:
            abort(404)
        frame = self._frame(chosen, None)
        title = _("National trainer-training plan: %(round)s", round=str(chosen))
        return self._download(
            report.national_xlsx(frame, title),
            len(report.national(frame)),
            f"round={chosen.id}",
            download_name(_("National plan summary"), repr(chosen)),
        )

    # ------------------------------------------------------------ helpers

    @staticmethod
    def _center_only():
        if current_scope().mode != ALL:
            abort(403)

    @staticmethod
    def _rounds():
        rounds = db.session.scalars(
            select(PlanRound).order_by(PlanRound.year.desc(), PlanRound.month.desc())
        ).all()
        wanted = request.args.get("round", type=int)
        chosen = next((r for r in rounds if r.id == wanted), None) if wanted else None
        if wanted and chosen is None:
            abort(404)
        return rounds, chosen or (rounds[0] if rounds else None)

    @staticmethod
    def _province():
        """A province user: its own (any other id is not found). The center: the one asked for."""
        scope, wanted = current_scope(), request.args.get("province", type=int)
        if scope.mode == ALL:
            org = db.session.get(Org, wanted) if wanted else None
            if wanted and (org is None or org.kind != PROVINCE):
                abort(404)
            return org
        if scope.org_kind != PROVINCE:
            abort(403)
        if wanted and wanted != scope.org_id:
            abort(404)
        return db.session.get(Org, scope.org_id)

    @staticmethod
    def _provinces():
        if current_scope().mode != ALL:
            return []
        return db.session.scalars(select(Org).where(Org.kind == PROVINCE).order_by(Org.code)).all()

    @staticmethod
    def _frame(chosen, province):
        """Lines of the round in the user's scope; ``province`` None: the whole country."""
        if chosen is None:
            return None
        return report.plan_lines(
            db.session,
            chosen.id,
            current_scope(),
            province.id if province else None,
        )

    @staticmethod
    def _download(data, count, filters, filename):
        with transaction():
            audit.record_export(db.session, "PlanSummary", count, filters, now=clock.now())
        return xlsx_download(data, filename)


def _plan_to_enter(task) -> str:
    """A round's to-do item opens the city's plan of the round, or the form to enter it."""
    plan_id = db.session.scalar(
        select(TrainingPlan.id).where(
            TrainingPlan.round_id == task.record_id, TrainingPlan.org_id == task.reviewer_org_id
        )
    )
    if plan_id is not None:
        return url_for("PlanView.show", pk=plan_id)
    return url_for("PlanView.add", _flt_0_round=task.record_id)  # the round chosen, hidden


TODO_TARGETS[plans.ROUND.name] = _plan_to_enter


def register(appbuilder) -> None:
    """What has no menu entry (called by views.register; the menu is security.permissions)."""
    appbuilder.add_view_no_menu(PlanLineView)
