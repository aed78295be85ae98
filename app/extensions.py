"""Extension objects, created unbound and bound in `create_app` (Flask's factory pattern)."""

from flask_appbuilder import Model
from flask_appbuilder.models.sqla.base import SQLA
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

# PITFALLS: FAB's Model carries its own metadata; Alembic must see that one.
db = SQLA(model_class=Model)
migrate = Migrate(render_as_batch=True)  # SQLite cannot ALTER most things in place
csrf = CSRFProtect()
