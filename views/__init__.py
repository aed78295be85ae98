"""Registers every view. `register()` is called once by `create_app`.

The menu itself (entries, labels, icons, categories, order) is `security.permissions.MENU_TABLE`;
each domain module's `register()` adds what has no menu entry: sub-pages, downloads, the public
form, the attachment owners and the navbar badges.
"""

from werkzeug.utils import import_string

from security.permissions import MENU_TABLE
from views import (
    after_class,
    classroom,
    courses,
    evaluation_results,
    faculty,
    faculty_import,
    files,
    login_applications,
    mentors,
    messages,
    notices,
    org_picker,
    plans,
    todo,
    two_factor,
    verify,
)
from views.orgs import OrgApi


def menu_view(entry):
    """The view class a menu entry names ("module.Class" under views/)."""
    return import_string(f"views.{entry.view}")


def register(appbuilder) -> None:
    for category in MENU_TABLE:
        for entry in category.entries:
            appbuilder.add_view(
                menu_view(entry),
                entry.name,
                label=entry.label,
                icon=entry.icon,
                category=category.name,
                category_label=category.label,
                category_icon=category.icon,
            )
    for module in (
        todo,  # the to-do badge
        notices,  # the unread badge, attachments
        messages,  # the unread badge, attachments
        files,  # attachment downloads
        plans,  # plan lines
        faculty,  # attachments
        faculty_import,  # the bulk import (a button on the pool)
        mentors,  # the keepers' list
        courses,  # resource preview and download
        login_applications,  # the public form
        two_factor,  # 双因素认证 (user menu) and the secadmin's reset
        classroom,  # a class's trainees, trainers, needs analyses
        verify,  # 查验真伪: the public page of an issued document's QR code
        evaluation_results,  # a class day's evaluation results, reminders, responses
        after_class,  # the activity reports' photos
        org_picker,  # the org pickers' JSON (select2, the audience tree's search)
    ):
        module.register(appbuilder)
    appbuilder.add_api(OrgApi)
