"""The permission matrix (第七条 + 等保 separation of duties), as data.

Resources are the ``class_permission_name`` of our views and APIs; actions are the FAB
permissions their methods map to (see `views.base.METHOD_PERMISSIONS`). Menu access is derived:
a role sees a menu entry exactly when it may read the resource behind it. `flask malan
sync-roles` makes the database equal to this table; a test checks that it does.
"""

from models.user import (
    AUDITOR,
    CENTER,
    CITY,
    INSTITUTION,
    PROVINCE,
    SECADMIN,
    SYSADMIN,
    TRAINEE,
    TRAINER,
)

# Actions
READ, WRITE, DELETE, EXPORT, MANAGE = "can_read", "can_write", "can_delete", "can_export", "can_manage"
MENU = "menu_access"

# Resources
ORG = "Org"  # 组织机构
USER = "User"  # 用户账号 (create, disable, unlock, reset password)
ROLE = "Role"  # 角色与权限 (the matrix page; granting administrator roles)
AUDIT = "AuditLog"  # 审计日志

# Menu entries (FAB menu names): name -> (category, resource whose READ shows the entry).
MENU_ITEMS = {
    "Orgs": ("Organisation", ORG),
    "Users": ("System", USER),
    "Roles": ("System", ROLE),
    "Audit log": ("System", AUDIT),
}

ROLE_MATRIX: dict[str, list[tuple[str, str]]] = {
    # 部中心: every business function; accounts are allocated by the center (第十二条).
    CENTER: [(READ, ORG), (WRITE, ORG), (READ, USER), (WRITE, USER), (MANAGE, USER)],
    PROVINCE: [(READ, ORG), (READ, USER)],
    CITY: [(READ, ORG), (READ, USER)],
    INSTITUTION: [(READ, ORG)],
    TRAINER: [],
    TRAINEE: [],
    # The three separated administrators: none can do another's job.
    SYSADMIN: [(READ, ORG), (WRITE, ORG), (READ, USER), (WRITE, USER), (MANAGE, USER)],
    SECADMIN: [(READ, USER), (READ, ROLE), (WRITE, ROLE)],
    AUDITOR: [(READ, AUDIT), (EXPORT, AUDIT)],
}

PUBLIC_ROLE = "Public"


def expanded_matrix() -> dict[str, set[tuple[str, str]]]:
    """Every role's full permission set, menu access included (what the database must hold)."""
    full = {}
    for role, grants in ROLE_MATRIX.items():
        perms = set(grants)
        for menu, (category, resource) in MENU_ITEMS.items():
            if (READ, resource) in perms:
                perms |= {(MENU, menu), (MENU, category)}
        full[role] = perms
    full[PUBLIC_ROLE] = set()
    return full
