"""The domain services: business rules and transactions; views call them, models are their data.

Importing the package registers every reviewable kind (`app.services.review.KINDS`): each
domain service declares its own kind when it is imported.
"""

from app.services import (  # noqa: F401  (imported for their review-kind registrations)
    account_requests,
    activity_reports,
    applications,
    certificates,
    classroom,
    closed_class,
    courses,
    dispatch,
    dispatch_notices,
    evaluations,
    faculty,
    grades,
    login_applications,
    mentors,
    plans,
    rosters,
    trainer_feedback,
)
