"""选择机构: the JSON behind every org picker (select2 ajax, the audience tree's search).

``GET /orgs/pick/?purpose=account|notice|message&role=…&q=…&page=N`` answers
``{"results": [{"id", "text", "path", "kind"}], "pagination": {"more": bool}}`` — select2's
shape. Rows come from `app.services.org_picker`, which applies the same rule as the save (and
the data scope): a foreign org is never listed, whatever the query.
"""

from __future__ import annotations

from flask import g, jsonify, request
from flask_appbuilder import BaseView, expose
from flask_login import login_required

from app.services import org_picker


def choices_json(choices, more=False):
    return {
        "results": [
            {"id": c.id, "text": c.path, "path": c.path, "name": c.name, "kind": c.kind}
            for c in choices
        ],
        "pagination": {"more": more},
    }


class OrgPickerView(BaseView):
    route_base = "/orgs/pick"

    @expose("/", methods=["GET"])
    @login_required
    def pick(self):
        choices, more = org_picker.search(
            g.user,
            request.args.get("purpose", ""),
            q=request.args.get("q", ""),
            role=request.args.get("role") or None,
            page=request.args.get("page", 1, type=int) or 1,
            under=request.args.get("under", type=int),
        )
        response = jsonify(choices_json(choices, more))
        response.headers["Cache-Control"] = "no-store"
        return response


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(OrgPickerView())
