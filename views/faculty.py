"""STUB (owned by a helper): see /work/notes/LIBRARIES.md."""


def register(appbuilder) -> None:
    pass
