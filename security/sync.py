"""Make the database's roles and permissions equal to `security.permissions` (and read them back)."""

from security.permissions import expanded_matrix


def sync_roles(sm) -> int:
    """Create missing roles and permissions; give each role exactly its matrix row; delete
    roles the matrix does not know (their grants were clicked together by hand).
    Returns how many roles changed. Run at deploy, once, not by each worker (PITFALLS)."""
    from flask_appbuilder.security.sqla.models import Role

    matrix = expanded_matrix()
    changed = 0
    for role_name, grants in matrix.items():
        role = sm.find_role(role_name) or sm.add_role(role_name)
        wanted = [sm.add_permission_view_menu(perm, view) for perm, view in sorted(grants)]
        if {pv.id for pv in role.permissions} != {pv.id for pv in wanted}:
            role.permissions = wanted
            changed += 1
    for stray in sm.session.query(Role).filter(Role.name.not_in(list(matrix))):
        sm.session.delete(stray)
        changed += 1
    sm.session.commit()
    return changed


def database_matrix(sm) -> dict[str, set[tuple[str, str]]]:
    """What the database grants, in the shape of `expanded_matrix()`."""
    from flask_appbuilder.security.sqla.models import Role

    return {
        role.name: {(pv.permission.name, pv.view_menu.name) for pv in role.permissions}
        for role in sm.session.query(Role)
    }
