"""What every scoped model declares: where its region and its owner live."""

from dataclasses import dataclass

from flask_appbuilder import Model  # noqa: F401  (re-exported: one Model for all tables)


@dataclass(frozen=True)
class ScopeColumns:
    """Declared once per model as ``__scope__``; read by `security.scope`.

    org:   attribute holding the id of the Org the row belongs to (its node of the tree).
    owner: attribute holding the id of the user who owns the row (trainers, trainees).
    write_below_only: the row may only be written by users strictly above it (Org itself:
        a city may keep its institutions, not rename itself).
    """

    org: str | None = None
    owner: str | None = None
    write_below_only: bool = False
