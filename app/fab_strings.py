"""Flask-AppBuilder's own messages that our zh catalog must carry. Imported nowhere on purpose.

FAB 5.3 ships a `zh` catalog from 2014: it lacks the strings below (Add, Edit, Delete, Show, the
delete confirmation, newer filters and messages) or has them only as fuzzy entries, which are not
compiled. Some of its translations are also wrong (``Starts with`` → 以开始, the unique-constraint
error reported as a missing required field). Flask-Babel merges our catalog after FAB's, so a msgid
listed here and translated in ``translations/zh/LC_MESSAGES/messages.po`` fills or overrides FAB's.

This module exists only so that ``pybabel extract`` (``make translations-update``) keeps these
msgids in our catalog; ``tests/unit/test_catalog.py`` checks the list is complete against FAB's
sources. The list is rebuilt by extracting FAB's package into a template and diffing it against
FAB's zh catalog (see that test).
"""

from flask_babel import lazy_gettext as _l

# Missing from FAB's zh catalog, or fuzzy there.
MISSING = (
    # Buttons, links and the delete confirmation on every list and show page.
    _l("Add"),
    _l("Edit"),
    _l("Show"),
    _l("Delete"),
    _l("Are you sure you want to delete this item?"),
    # Flash messages and form errors.
    _l("Database Error"),
    _l("Not a valid choice"),
    _l(
        "Must have at least two capital letters, one special character, two digits, three lower "
        "case letters and a minimal length of 10."
    ),
    # Search filters.
    _l("Contains (insensitive)"),
    _l("Start with"),
    _l("In"),
    _l("Not In"),
    # FAB's security views (not registered by us, translated for completeness).
    _l("Either select a role or a group"),
    _l("List Groups"),
    _l("Show Group"),
    _l("Add Group"),
    _l("Edit Group"),
    _l("Groups"),
    _l("Edit User Information"),
    _l("User information changed"),
    _l("The user's password for authentication"),
    _l("It's not a good policy to remove a user, just make it inactive"),
    _l("User(s) exists in the role, cannot delete"),
    _l("User(s) exists in the group, cannot delete"),
    _l("Sign In with "),
)

# Present in FAB's zh catalog but mistranslated or stiff; ours wins.
CORRECTED = (
    _l("Integrity error, probably unique constraint"),
    _l("Starts with"),
    _l("Not Starts with"),
    _l("Ends with"),
    _l("Not Ends with"),
    _l("Relation"),
    _l("No Relation"),
    _l("Relation as Many"),
    _l("Back"),
    _l("Detail"),
    _l("Record Count"),
    _l("Page size"),
    _l("This field is required."),
    _l("Already exists."),
    _l("Select Value"),
    _l("Invalid login. Please try again."),
    _l("User confirmation needed"),
    _l("Add a new record"),
    _l("Show record"),
    _l("Edit record"),
    _l("Delete record"),
)

# Hard-coded in FAB's confirm.html and alert.html; our overrides of those templates wrap them in _().
HARD_CODED = (
    _l("Cancel"),
    _l("OK"),
)
