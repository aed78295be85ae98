"""All tables, imported here so Alembic and the app see one metadata."""

from . import (  # noqa: F401,E402
    account_request,
    after_class,
    application,
    attachment,
    certificate,
    classroom,
    course,
    dispatch,
    document,
    evaluation_results,
    faculty,
    grades,
    login_application,
    mentor,
    message,
    notice,
    roster,
    staging,
    vocabulary,
)
from .audit import AuditChainHead, AuditLog  # noqa: F401
from .org import Org  # noqa: F401
from .plan import PlanLine, PlanRound, TrainingPlan  # noqa: F401
from .review import ReviewEvent, ReviewRevision, ReviewTask  # noqa: F401
from .user import LoginSession, MalanUser, PasswordHistory, RecoveryCode  # noqa: F401
