"""Issue 17 point 2 (三员分立, two-person rule): no single administrator obtains a working credential
for an account of the center or a province, or grants such a role; and point 8: the initial
passwords of a roster and the TOTP secrets are sealed at rest."""

import html
import re

import pytest
from sqlalchemy import select, text

from app import clock
from app.extensions import db
from app.services import account_requests, accounts, second_factor
from app.services.errors import DomainError, NotAllowed
from app.services.review import NotYourStep
from models.account_request import (
    CREATE_ACCOUNT,
    GRANT_ROLE,
    RESET_PASSWORD,
    RESET_SECOND_FACTOR,
)
from models.audit import AuditLog
from models.org import Org
from models.roster import RosterEntry
from models.sealed import unseal
from models.user import MalanUser
from security import two_factor
from tests.factories import (
    account_request_of,
    browser,
    csrf_token,
    decide_account_request,
    flashes,
    second_secadmin,
    seed_rosters,
    sign_in,
)


def user(world, key) -> MalanUser:
    db.session.expire_all()
    return db.session.get(MalanUser, world["user"][key])


def shown_password(response) -> str | None:
    found = re.search(
        r'id="allocated-password"><code>(.*?)</code>', response.get_data(as_text=True)
    )
    return html.unescape(found.group(1)) if found else None


def events(name) -> list[AuditLog]:
    db.session.expire_all()
    return db.session.scalars(
        select(AuditLog).where(AuditLog.event == name).order_by(AuditLog.id)
    ).all()


def reset_center(app, world):
    admin = sign_in(app, world["username"]["sysadmin"])
    response = admin.post(
        "/userview/action_post",
        data={
            "action": "reset_password",
            "rowid": [str(world["user"]["center"])],
            "csrf_token": admin.csrf,
        },
    )
    assert response.status_code == 302
    return admin


def test_issue17_point2_a_center_password_reset_waits_for_the_security_administrator(app, world):
    before = user(world, "center").password
    admin = reset_center(app, world)
    page = " ".join(flashes(admin))
    assert world["username"]["center"] in page
    assert not re.search(r"[A-Za-z0-9!@#$%&*]{12}\s*$", page)  # no password to the proposer
    assert user(world, "center").password == before  # nothing changed yet
    record = account_request_of(world["user"]["center"], RESET_PASSWORD)
    assert record.status == "pending"
    # The proposer cannot approve (it lacks the review step), nor can its own page show it.
    assert decide_account_request(admin, record).status_code in (200, 302, 403)
    assert user(world, "center").password == before
    assert not events("password_reset")

    secadmin = sign_in(app, world["username"]["secadmin"])
    response = decide_account_request(secadmin, account_request_of(record.target_id))
    assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]
    password = shown_password(response)
    assert password and user(world, "center").must_change_password
    # Shown once: the record page afterwards does not show it.
    again = secadmin.get(f"/accountrequestview/show/{record.id}").get_data(as_text=True)
    assert password not in html.unescape(again)
    assert [e.username for e in events("password_reset")] == [world["username"]["secadmin"]]
    assert len(events("account_change_proposed")) == len(events("account_change_approved")) == 1

    # The owner signs in with it, must change it, and is told who reset it and who approved.
    owner = browser(app)
    owner.post(
        "/login/",
        data={
            "username": world["username"]["center"],
            "password": password,
            "csrf_token": csrf_token(owner),
        },
    )
    told = " ".join(flashes(owner))
    assert world["username"]["sysadmin"] in told and world["username"]["secadmin"] in told
    assert "/password/change" in owner.get("/orgview/list/").headers["Location"]
    assert user(world, "center").reset_notice is None  # told once
    assert events("reset_notice_shown")


def test_issue17_point2_a_city_password_is_still_reset_at_once(app, world):
    admin = sign_in(app, world["username"]["sysadmin"])
    admin.post(
        "/userview/action_post",
        data={
            "action": "reset_password",
            "rowid": [str(world["user"]["c1"])],
            "csrf_token": admin.csrf,
        },
    )
    assert user(world, "c1").must_change_password
    assert account_request_of(world["user"]["c1"]) is None


def test_issue17_point2_the_service_refuses_a_direct_reset_of_a_provincial_account(world):
    sysadmin, p1 = user(world, "sysadmin"), user(world, "p1")
    with pytest.raises(accounts.AccountNotAllowed):
        accounts.manage(sysadmin, [p1], "reset_password", clock.now())
    with pytest.raises(accounts.AccountNotAllowed):
        accounts.create_account(
            name="新中心",
            role_kind="center",
            org=db.session.get(Org, world["org"]["center"]),
            now=clock.now(),
            actor=sysadmin,
        )
    with pytest.raises(accounts.AccountNotAllowed):
        accounts.change_role(user(world, "secadmin"), user(world, "c1"), "province", clock.now())


def test_issue17_point2_a_new_center_account_is_proposed_then_created_on_approval(app, world):
    admin = sign_in(app, world["username"]["sysadmin"])
    refused = admin.post(
        "/userview/add",
        data={
            "first_name": "新中心",
            "role_kind": "center",
            "org": world["org"]["center"],
            "mobile": "13900001111",
            "csrf_token": admin.csrf,
        },
    )
    assert refused.status_code in (200, 302)
    assert db.session.scalar(select(MalanUser).filter_by(mobile="13900001111")) is None
    assert admin.get("/accountrequestview/propose-account").status_code == 200
    response = admin.post(
        "/accountrequestview/propose-account",
        data={
            "name": "新中心",
            "role_kind": "center",
            "org_id": world["org"]["center"],
            "mobile": "13900001111",
            "csrf_token": admin.csrf,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert db.session.scalar(select(MalanUser).filter_by(mobile="13900001111")) is None
    record = account_request_of(operation=CREATE_ACCOUNT)
    secadmin = sign_in(app, world["username"]["secadmin"])
    assert "新中心" in secadmin.get("/accountrequestview/list/").get_data(as_text=True)
    page = secadmin.get(f"/accountrequestview/show/{record.id}").get_data(as_text=True)
    assert 'value="approve"' in page
    own = admin.get(f"/accountrequestview/show/{record.id}").get_data(as_text=True)
    assert 'value="approve"' not in own  # the proposer gets no approve button
    response = decide_account_request(secadmin, record)
    password = shown_password(response)
    created = db.session.scalar(select(MalanUser).filter_by(mobile="13900001111"))
    assert password and created.role_kind == "center" and created.must_change_password
    assert account_request_of(operation=CREATE_ACCOUNT).target_id == created.id


def test_issue17_point2_a_rejected_proposal_changes_nothing(app, world):
    before = user(world, "p1").password
    sysadmin = user(world, "sysadmin")
    record = account_requests.propose(
        sysadmin, RESET_PASSWORD, clock.now(), target=user(world, "p1")
    )
    secadmin = sign_in(app, world["username"]["secadmin"])
    decide_account_request(secadmin, record, "reject", opinion="未核实身份")
    assert account_request_of(record.target_id).status == "rejected"
    assert user(world, "p1").password == before


def test_issue17_point2_a_role_grant_needs_another_security_administrator(app, world):
    other = second_secadmin(world)
    secadmin = sign_in(app, world["username"]["secadmin"])
    secadmin.post(
        "/roles/assign",
        data={
            "username": world["username"]["center"],
            "role_kind": "sysadmin",
            "csrf_token": secadmin.csrf,
        },
    )
    assert user(world, "center").role_kind == "center", flashes(secadmin)
    record = account_request_of(world["user"]["center"], GRANT_ROLE)
    assert record is not None and record.role_kind == "sysadmin"
    # Its own proposal: refused.
    with pytest.raises(NotYourStep):
        from app.services import review

        review.decide(record, user(world, "secadmin"), "approve", clock.now())
    db.session.rollback()
    assert user(world, "center").role_kind == "center"
    approver = sign_in(app, other["username"])
    assert (
        decide_account_request(approver, account_request_of(world["user"]["center"])).status_code
        == 302
    )
    assert user(world, "center").role_kind == "sysadmin"
    [change] = events("role_change")
    assert change.username == other["username"]


def test_issue17_point2_a_second_factor_reset_is_proposed_and_approved(app, world):
    center = user(world, "center")
    two_factor.pending_secret(center)
    center.totp_enabled_at = clock.now()
    db.session.commit()
    other = second_secadmin(world)
    secadmin = sign_in(app, world["username"]["secadmin"])
    secadmin.post(
        f"/two-factor/reset/{world['user']['center']}", data={"csrf_token": secadmin.csrf}
    )
    assert user(world, "center").totp_secret  # not yet
    record = account_request_of(world["user"]["center"], RESET_SECOND_FACTOR)
    # A direct call of the reset, even by a security administrator, is refused.
    with pytest.raises(NotAllowed):
        second_factor.reset_second_factor(center, user(world, "secadmin"), clock.now())
    db.session.rollback()
    approver = sign_in(app, other["username"])
    decide_account_request(approver, record)
    assert not flashes(approver) or "danger" not in str(flashes(approver)), flashes(approver)
    assert user(world, "center").totp_secret is None, flashes(approver)
    [row] = events("second_factor_reset")
    assert row.username == other["username"]


def test_issue17_point2_one_pending_proposal_per_change(world):
    sysadmin, p1 = user(world, "sysadmin"), user(world, "p1")
    account_requests.propose(sysadmin, RESET_PASSWORD, clock.now(), target=p1)
    with pytest.raises(DomainError):
        account_requests.propose(sysadmin, RESET_PASSWORD, clock.now(), target=user(world, "p1"))
    db.session.rollback()
    with pytest.raises(NotAllowed):  # the system administrator does not grant roles
        account_requests.propose(
            sysadmin, GRANT_ROLE, clock.now(), target=user(world, "c1"), role_kind="province"
        )


# ---------------------------------------------------------------- point 8: sealed at rest


def test_issue17_point8_totp_secret_is_sealed_at_rest(world):
    center = user(world, "center")
    secret = two_factor.pending_secret(center)
    db.session.commit()
    raw = db.session.execute(
        text("SELECT totp_secret FROM ab_user WHERE id = :id"), {"id": center.id}
    ).scalar()
    assert raw and secret not in raw and unseal(raw, "totp-secret") == secret
    assert user(world, "center").totp_secret == secret


def test_issue17_point8_roster_initial_password_is_sealed_at_rest(world):
    seed_rosters(world)
    entry = db.session.scalar(select(RosterEntry).order_by(RosterEntry.id).limit(1))
    entry.initial_password = "Initial#Pass1"
    db.session.commit()
    raw = db.session.execute(
        text("SELECT initial_password FROM roster_entry WHERE id = :id"), {"id": entry.id}
    ).scalar()
    assert "Initial#Pass1" not in raw
    assert unseal(raw, "roster-initial-password") == "Initial#Pass1"
    assert unseal(raw, "totp-secret") is None  # one key per kind of secret
    db.session.expire_all()
    assert db.session.get(RosterEntry, entry.id).initial_password == "Initial#Pass1"
