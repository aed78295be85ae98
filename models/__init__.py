"""All tables, imported here so Alembic and the app see one metadata."""

from .audit import AuditLog  # noqa: F401
from .org import Org  # noqa: F401
from .user import LoginSession, MalanUser, PasswordHistory  # noqa: F401
