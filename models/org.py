"""The administrative tree: 部中心 → 省 → 市 → 培训机构."""

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, event
from sqlalchemy.orm import relationship, validates

from .base import Model, ScopeColumns

CENTER, PROVINCE, CITY, INSTITUTION = "center", "province", "city", "institution"
ORG_KINDS = (CENTER, PROVINCE, CITY, INSTITUTION)
PARENT_KIND = {PROVINCE: CENTER, CITY: PROVINCE, INSTITUTION: CITY}


class Org(Model):
    """A node of the tree. ``province_id``/``city_id`` are its strict ancestors, a fixed-depth
    materialised path: "this node and everything below" is one indexed equality
    (``id = X OR province_id = X`` / ``OR city_id = X``)."""

    __tablename__ = "org"
    __scope__ = ScopeColumns(org="id", write_below_only=True)

    id = Column(Integer, primary_key=True)
    kind = Column(String(16), nullable=False)
    code = Column(
        String(32), nullable=False, unique=True
    )  # GB/T 2260 code; institutions: city code + seq
    name = Column(String(128), nullable=False)
    parent_id = Column(Integer, ForeignKey("org.id"), index=True)
    province_id = Column(Integer, ForeignKey("org.id"), index=True)
    city_id = Column(Integer, ForeignKey("org.id"), index=True)
    credit_code = Column(String(18), unique=True)  # 统一社会信用代码 (rule: app.services.orgs)
    address = Column(String(255))
    contact_name = Column(String(64))
    contact_phone = Column(String(32))
    active = Column(Boolean, nullable=False, default=True)

    parent = relationship("Org", remote_side=[id], foreign_keys=[parent_id])
    province = relationship("Org", remote_side=[id], foreign_keys=[province_id], viewonly=True)
    city = relationship("Org", remote_side=[id], foreign_keys=[city_id], viewonly=True)

    __table_args__ = (Index("ix_org_kind_name", "kind", "name"),)

    @validates("parent")
    def _place_under(self, _key, parent):
        """Keep the materialised ancestors in step with the parent, whoever sets it."""
        if parent is not None:
            self._copy_ancestors(parent)
        return parent

    def _copy_ancestors(self, parent):
        self.province_id = parent.id if parent.kind == PROVINCE else parent.province_id
        self.city_id = parent.id if parent.kind == CITY else parent.city_id

    def __repr__(self):
        return self.name


@event.listens_for(Org, "before_insert")
def _ancestors_of_new_org(_mapper, _connection, org):
    """A parent added in the same flush has no id when `parent` is set; the flush inserts it
    first, so its id is known here."""
    if org.parent is not None:
        org._copy_ancestors(org.parent)
