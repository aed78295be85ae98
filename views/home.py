"""首页: who and where the user is, and what it can do."""

from flask import g, redirect, url_for
from flask_appbuilder import IndexView, expose

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
            children = [c for c in item.childs if c.name != "-" and self.appbuilder.sm.has_access("menu_access", c.name)]
            if children and self.appbuilder.sm.has_access("menu_access", item.name):
                entries.append((item, children))
        return self.render_template(self.index_template, user=user, role=role_label(user.role_kind),
                                    org=user.org, entries=entries, appbuilder=self.appbuilder)
