"""An upload waiting between its preview and its confirmation (`app.services.staging`).

One row per preview: who uploaded it, for which import (``kind``), the file or the checked rows,
when, and whether it was confirmed. No region: only its uploader may read or confirm it.
"""

from sqlalchemy import Column, DateTime, ForeignKey, Integer, LargeBinary, String, Text

from .base import Model


class StagedUpload(Model):
    __tablename__ = "staged_upload"

    id = Column(String(43), primary_key=True)  # secrets.token_urlsafe(32): the page's only key
    kind = Column(String(32), nullable=False)  # which import it is for
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    filename = Column(String(255), nullable=False, default="")
    data = Column(LargeBinary, nullable=False, default=b"")  # the uploaded file (if kept)
    meta = Column(Text, nullable=False, default="{}")  # JSON: the checked rows, the errors…
    created_at = Column(DateTime, nullable=False, index=True)
    consumed_at = Column(DateTime)  # set once, by the one confirm that took it
