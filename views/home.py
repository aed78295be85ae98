"""首页: who and where the user is, and what it can do."""

from flask import g, redirect, url_for
from flask_appbuilder import IndexView, expose

from app import clock
from app.services import evaluation_results, evaluations
from models.user import TRAINEE
from views.summaries import dashboard
from views.todo import HOME_TOP, todo_rows
from views.users import role_label


class HomeView(IndexView):
    route_base = ""
    default_view = "index"
    index_template = "home.html"

    @expose("/")
    def index(self):
        user = g.user
        if user is None or not user.is_authenticated:
            return redirect(url_for("MalanAuthDBView.login"))
        entries = []
        for item in self.appbuilder.menu.get_list():
            children = [
                c
                for c in item.childs
                if c.name != "-" and self.appbuilder.sm.has_access("menu_access", c.name)
            ]
            if children and self.appbuilder.sm.has_access("menu_access", item.name):
                entries.append((item, children))
        now = clock.now()
        todo = todo_rows(user, now, limit=HOME_TOP + 1)
        return self.render_template(
            self.index_template,
            user=user,
            role=role_label(user.role_kind),
            org=user.org,
            entries=entries,
            appbuilder=self.appbuilder,
            todo=todo[:HOME_TOP],
            todo_more=len(todo) > HOME_TOP,
            show_todo=self.appbuilder.sm.has_access("can_read", "Todo"),
            # [classroom] a trainee's forms due today
            due_today=evaluations.due_today(user, now) if user.role_kind == TRAINEE else None,
            # [classroom] reminders and responses to the class's feedback, at the top
            notes=evaluation_results.home_notes(user, now) if user.role_kind == TRAINEE else None,
            # [summaries] this year's figures of the user's classes (center to institution)
            dashboard=dashboard(user),
        )
