"""[classroom] point 4 (issue 13), Annex 1 row 18: the institution and the class's trainers watch a
class day's forms (who has not responded, numbers per question and per trainer, free text) and
answer them (reminders at the top of a trainee's home, responses the trainees read); trainers
read without names, the institution and the authorities with names; nobody else reads."""

import re
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.services import evaluation_results, evaluations
from models.classroom import ClassTrainee
from models.evaluation_results import EvaluationReminder, EvaluationResponse
from models.user import MalanUser
from security import passwords
from tests.factories import NOW, PASSWORD, assign, enrol, flashes, grant, make_class, post_form

pytestmark = pytest.mark.usefixtures("frozen_clock")

EVENING = time(18, 0)


@pytest.fixture()
def running(world, frozen_clock):
    """A 5-day class of I1 taught by trainer1 (lead) and trainer2, trainees t1–t3 (学员1–3), the
    clock at 18:00 on its first day."""
    klass = make_class(world, days=5)
    assign(world, klass, "trainer1", lead=True)
    assign(world, klass, "trainer2")
    for key, (trainee, _pw) in zip(("t1", "t2", "t3"), enrol(world, klass, [1, 2, 3]), strict=True):
        passwords.set_password(trainee.user, PASSWORD, NOW, must_change=False)
        world["user"][key], world["username"][key] = trainee.user_id, trainee.user.username
    db.session.commit()
    frozen_clock.set(datetime.combine(klass.start_date, EVENING))
    return klass


def user(world, key) -> MalanUser:
    return db.session.get(MalanUser, world["user"][key])


def trainee_id(world, key) -> int:
    return db.session.scalar(
        select(ClassTrainee.id).where(ClassTrainee.user_id == world["user"][key])
    )


def fill(world, klass, key, values, submit=True, kind="daily", day=None):
    """The trainee's form saved through the service, as its phone would."""
    day = day or klass.start_date
    now = datetime.combine(day, EVENING)
    raw = {k: [v] if isinstance(v, str) else v for k, v in values.items()}
    evaluations.save(user(world, key), klass.id, kind, day, raw, now, submit=submit)
    db.session.commit()


def daily(world, t1, t2, q2, q3, q4, q5="", q6=""):
    tr1, tr2 = world["user"]["trainer1"], world["user"]["trainer2"]
    return {f"q1_{tr1}": t1, f"q1_{tr2}": t2, "q2": q2, "q3": q3, "q4": q4, "q5": q5, "q6": q6}


@pytest.fixture()
def answered(world, running):
    """t1 and t2 submitted today's daily form; t3 saved a draft only (it counts for nothing)."""
    fill(world, running, "t1", daily(world, "5", "3", "4", "5", "2", q5="收获很多"))
    fill(
        world, running, "t2", daily(world, "4", "3", "5", "3", "2", q5="案例很好", q6="希望多练习")
    )
    fill(world, running, "t3", daily(world, "1", "1", "1", "1", "1"), submit=False)
    return running


def url(klass, day=None, action=""):
    return f"/evaluation_results/{klass.id}/{(day or klass.start_date).isoformat()}{action}"


def results_of(world, key, klass, day=None, kind="daily"):
    found = evaluation_results.day_results(
        user(world, key),
        klass.id,
        day or klass.start_date,
        datetime.combine(klass.start_date, EVENING),
    )
    return next(f for f in found.forms if f.kind == kind)


def numbers(question):
    return [(r.trainer, r.count, r.mean, r.distribution) for r in question.rows]


# ---------------------------------------------------------------- aggregation


def test_point4_aggregation_per_question_and_per_trainer_hand_checked(world, answered):
    form = results_of(world, "i1", answered)
    q = {r.key: r for r in form.questions}
    assert (form.expected, form.submitted) == (3, 2)
    # q1 is asked per trainer: trainer1 got 5 and 4, trainer2 3 and 3 (t3's draft is not counted).
    assert numbers(q["q1"]) == [
        ("冯讲师", 2, 4.5, [0, 0, 0, 1, 1]),
        ("陈讲师", 2, 3.0, [0, 0, 2, 0, 0]),
    ]
    assert numbers(q["q2"]) == [(None, 2, 4.5, [0, 0, 0, 1, 1])]
    assert numbers(q["q3"]) == [(None, 2, 4.0, [0, 0, 1, 0, 1])]
    assert numbers(q["q4"]) == [(None, 2, None, [0, 2, 0])]  # 偏快 / 适中 / 偏慢
    assert sorted(t for _n, t in q["q5"].texts) == sorted(["收获很多", "案例很好"])
    assert [t for _n, t in q["q6"].texts] == ["希望多练习"]
    assert [(m.trainee.name, m.status) for m in form.missing] == [("学员3", "draft")]


def test_point4_multiple_choice_counts_each_option_and_respondents(world, running):
    middle = evaluations.middle_day(running)
    tr1, tr2 = world["user"]["trainer1"], world["user"]["trainer2"]
    base = {f"q1_{tr1}": "5", f"q1_{tr2}": "4", f"q2_{tr1}": "4", f"q2_{tr2}": "2", "q3": "3"}
    fill(world, running, "t1", base | {"q4": ["1", "3"]}, kind="midterm", day=middle)
    fill(world, running, "t2", base | {"q4": ["3"]}, kind="midterm", day=middle)
    form = results_of(world, "center", running, day=middle, kind="midterm")
    q = {r.key: r for r in form.questions}
    assert numbers(q["q4"]) == [(None, 2, None, [1, 0, 2, 0, 0])]
    assert numbers(q["q2"])[1] == ("陈讲师", 2, 2.0, [0, 2, 0, 0, 0])


def test_point4_page_shows_charts_with_their_numbers_as_tables(world, client, login, answered):
    login("i1")
    response = client.get(url(answered))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "vendor/echarts/echarts.common.min.js" in html and "cdn" not in html.lower()
    assert html.count('class="malan-chart"') == 4  # q1–q4; q5, q6 are free text
    # The q1 table: trainer, answers, mean, then the distribution over the five points.
    q1 = html.split('id="result-daily-q1"')[1].split('id="result-daily-q2"')[0]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", q1)
    assert cells[:8] == ["冯讲师", "2", "4.50", "0", "0", "0", "1", "1"]
    assert cells[8:16] == ["陈讲师", "2", "3.00", "0", "0", "2", "0", "0"]
    assert '"data": [0, 0, 0, 1, 1]' in html.replace("&#34;", '"').replace("&quot;", '"')


# ---------------------------------------------------------------- anonymity


def test_point4_trainers_read_without_names_institution_and_authorities_with(
    world, client, login, answered
):
    def free_text(html):
        return html.split('id="result-daily-q5"')[1].split('id="result-daily-q6"')[0]

    login("trainer2")
    html = client.get(url(answered)).get_data(as_text=True)
    assert "收获很多" in html and "案例很好" in html
    assert "学员1" not in html and "学员2" not in html and "results-name" not in html
    assert "没有姓名" in html or "不显示" in html  # the page says so
    assert 'id="individual-daily"' not in html  # nor each form with its trainee
    for who in ("i1", "c1", "p1", "center"):
        login(who)
        html = client.get(url(answered)).get_data(as_text=True)
        assert re.search(r"学员1</strong>：收获很多", free_text(html)), who
        # Every form, with its name: 学员2 gave trainer1 4, trainer2 3, q2 5, q3 3, 适中.
        forms = html.split('id="individual-daily"')[1].split("</table>")[0]
        row = forms.split("<td>学员2</td>")[1].split("</tr>")[0]
        assert re.findall(r"<td>([^<]*)</td>", row)[1:] == [
            "4",
            "3",
            "5",
            "3",
            "适中",
            "案例很好",
            "希望多练习",
        ], who
        assert "学员3" not in forms  # a draft is not a submitted form


def test_point4_the_form_tells_the_trainee_who_sees_its_name(world, client, login, running):
    login("t1")
    html = client.get(f"/evaluation/{running.id}/daily/{running.start_date.isoformat()}").get_data(
        as_text=True
    )
    notice = html.split('id="evaluation-anonymity"')[1].split("</p>")[0]
    assert "培训师" in notice and "姓名" in notice


# ---------------------------------------------------------------- reminders


def home_top(client) -> str:
    html = client.get("/").get_data(as_text=True)
    return html.split('id="malan-who"')[0]  # what comes before the welcome panel


def test_point4_reminder_tops_the_trainee_home_until_it_submits(world, client, login, answered):
    login("t3")
    assert "home-reminder" not in home_top(client)
    login("i1")
    page = client.get(url(answered)).get_data(as_text=True)
    missing = page.split('id="missing-daily"')[1].split("</table>")[0]
    assert "学员3" in missing and "学员1" not in missing and "remind-one" in missing
    response = post_form(
        client, url(answered, action="/remind"), kind="daily", trainee=trainee_id(world, "t3")
    )
    assert response.status_code == 302
    assert any("提醒" in m for m in flashes(client))
    login("t3")
    top = home_top(client)
    assert "home-reminder" in top and "东城创业学校" in top and "每日意见反馈表" in top
    # Submitting the form is what takes the reminder away.
    fill(world, answered, "t3", daily(world, "3", "3", "3", "3", "3"))
    assert "home-reminder" not in home_top(client)
    login("t1")
    assert "home-reminder" not in home_top(client)  # a reminder is for its trainee only


def test_point4_reminder_refusals(world, client, login, answered, frozen_clock):
    login("trainer1")
    # t1 already submitted: nothing to remind.
    response = post_form(
        client, url(answered, action="/remind"), kind="daily", trainee=trainee_id(world, "t1")
    )
    assert response.status_code == 302 and any("已提交" in m for m in flashes(client))
    # Everyone still missing, by the trainer: only t3.
    post_form(client, url(answered, action="/remind"), kind="daily", trainee="all")
    assert db.session.scalars(select(EvaluationReminder.user_id)).all() == [world["user"]["t3"]]
    # Once t3 has submitted too, "remind everyone" has nobody left to remind.
    fill(world, answered, "t3", daily(world, "3", "3", "3", "3", "3"))
    post_form(client, url(answered, action="/remind"), kind="daily", trainee="all")
    assert any("均已提交" in m for m in flashes(client))
    # The next day, yesterday's form is closed: no reminder for it.
    frozen_clock.set(datetime.combine(answered.start_date + timedelta(days=1), time(9)))
    login("i1")
    post_form(
        client, url(answered, action="/remind"), kind="daily", trainee=trainee_id(world, "t3")
    )
    assert any("23:59" in m for m in flashes(client))
    db.session.rollback()
    assert db.session.scalar(select(EvaluationReminder.times)) == 1
    # The city reads the class's results but may not remind (its role has no write).
    login("c1")
    response = post_form(client, url(answered, action="/remind"), kind="daily", trainee="all")
    assert (
        response.status_code in (302, 403)
        and db.session.scalar(select(EvaluationReminder.times)) == 1
    )


# ---------------------------------------------------------------- responses


def test_point4_response_is_read_by_the_class_trainees(world, client, login, answered):
    login("trainer1")
    response = post_form(client, url(answered, action="/respond"), text="明天增加试讲练习时间。")
    assert response.status_code == 302
    login("i1")
    post_form(client, url(answered, action="/respond"), text="午餐时间已调整。")
    for key in ("t1", "t3"):
        login(key)
        home = client.get("/").get_data(as_text=True)
        assert "明天增加试讲练习时间。" in home and "午餐时间已调整。" in home
        assert "冯讲师" in home.split('id="home-responses"')[1]
        form = client.get(
            f"/evaluation/{answered.id}/daily/{answered.start_date.isoformat()}"
        ).get_data(as_text=True)
        assert "明天增加试讲练习时间。" in form.split('id="form-responses"')[1]
    # A trainee of another class does not see them.
    other = make_class(world, org="I2", start=answered.start_date)
    ((stranger, _pw),) = enrol(world, other, [7], actor="i2")
    passwords.set_password(stranger.user, PASSWORD, NOW, must_change=False)
    world["username"]["t7"] = stranger.user.username
    db.session.commit()
    login("t7")
    assert "明天增加试讲练习时间。" not in client.get("/").get_data(as_text=True)


def test_point4_bad_responses_are_refused_and_nothing_written(world, client, login, answered):
    login("i1")
    for text, message in (("", "请填写"), ("长" * 20000, "20000"), ("   ", "请填写")):
        response = post_form(client, url(answered, action="/respond"), text=text)
        html = response.get_data(as_text=True)
        assert response.status_code == 400 and (
            message in html or any(message in m for m in flashes(client))
        ), text
    tomorrow = answered.start_date + timedelta(days=1)
    assert (
        post_form(client, url(answered, tomorrow, "/respond"), text="提前回复").status_code == 400
    )
    login("p1")
    assert post_form(client, url(answered, action="/respond"), text="省厅回复").status_code in (
        302,
        403,
    )
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(EvaluationResponse)) == 0


# ---------------------------------------------------------------- who reads


def test_point4_readers_and_refusals(world, client, login, answered):
    other = make_class(world, org="I1", start=answered.start_date + timedelta(days=30), code="JS-B")
    assign(world, other, "trainer2")
    readers = ("i1", "trainer1", "trainer2", "c1", "p1", "center")
    for who in readers:
        login(who)
        assert client.get(url(answered)).status_code == 200, who
    # Another institution, another city, another province: as if the class did not exist.
    for who in ("i2", "c1b", "c2", "p2", "i1b"):
        login(who)
        assert client.get(url(answered)).status_code == 404, who
    # A trainer not on the class.
    login("trainer1")
    assert client.get(url(other, other.start_date)).status_code == 404
    # A day outside the class, a malformed day.
    login("i1")
    assert client.get(url(answered, answered.end_date + timedelta(days=1))).status_code == 404
    assert client.get(f"/evaluation_results/{answered.id}/2026-13-40").status_code == 404
    # The index opens today's page.
    response = client.get(f"/evaluation_results/{answered.id}")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        answered.start_date.isoformat()
    )


def test_point4_a_trainee_never_reads_results_even_when_granted(
    app, world, client, login, answered
):
    login("t1")
    assert client.get(url(answered)).status_code in (302, 403)  # the shipped table: no access
    grant(app, "trainee", "EvaluationResult", ["can_read", "can_write"])
    login("t1")
    assert client.get(url(answered)).status_code == 404
    assert post_form(client, url(answered, action="/respond"), text="学员回复").status_code == 404
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(EvaluationResponse)) == 0


def test_point4_class_page_links_to_the_results(world, client, login, answered):
    login("i1")
    html = client.get(f"/trainingclassview/show/{answered.id}").get_data(as_text=True)
    assert f"/evaluation_results/{answered.id}" in html
    login("trainer1")
    html = client.get(f"/teaching/class/{answered.id}").get_data(as_text=True)
    assert f"/evaluation_results/{answered.id}" in html
