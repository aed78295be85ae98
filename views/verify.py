"""查验真伪: the public page a document's QR code opens (``/verify/<code>``), no login.

It shows only that the document is genuine, its number, kind, class code, dates and status
(valid / withdrawn) — no names, nothing else of the platform. A certificate (合格讲师证书) adds
what a reader must compare with the paper: the holder's masked name, course type, level and
validity. An unknown or malformed code
answers a Chinese "not found" page with 404. Rate-limited per client IP with the app's limiter
(config ``VERIFY_RATE_LIMIT``), so codes cannot be tried in bulk.
"""

from flask import current_app
from flask_appbuilder import BaseView, expose
from flask_babel import gettext as _

from app.services import certificates, documents, vocabulary
from app.services.masking import mask_name
from models.vocabulary import COURSE_TYPE, TRAINER_LEVEL
from views.documents import kind_label, status_label

DEFAULT_RATE_LIMIT = "30 per minute"


def _rate_limit() -> str:
    return current_app.config.get("VERIFY_RATE_LIMIT", DEFAULT_RATE_LIMIT)


class VerifyView(BaseView):
    route_base = "/verify"
    default_view = "verify"

    @expose("/<code>")
    def verify(self, code):
        doc = documents.by_code(code)
        if doc is None:
            page = self.render_template("documents/verify.html", doc=None, title=_("Not found"))
            return page, 404
        cert = certificates.holder_of(doc)
        facts = None
        if cert is not None:
            facts = {
                "holder": mask_name(cert.trainee.name),
                "course": vocabulary.labels(COURSE_TYPE).get(cert.course_type, cert.course_type),
                "level": vocabulary.labels(TRAINER_LEVEL).get(cert.level, cert.level),
            }
        return self.render_template(
            "documents/verify.html",
            doc=doc,
            cert=facts,
            kind_label=kind_label,
            status_label=status_label,
            title=_("Document verification"),
        )


def register(appbuilder) -> None:
    """The public page (no menu entry), rate-limited per client IP."""
    view = appbuilder.add_view_no_menu(VerifyView())
    appbuilder.sm.limiter.limit(_rate_limit)(view.blueprint)
