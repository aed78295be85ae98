"""The center's vocabularies (讲师级别, 课程类型): a new term's code is unique in its vocabulary
(issue 11 point 2: the refusal says why, in Chinese, and nothing is written)."""

from sqlalchemy import func, select

from app.extensions import db
from models.vocabulary import COURSE_TYPE, Term
from tests.factories import csrf_token


def add_term(client, **values):
    data = {"csrf_token": csrf_token(client, "/password/change"), "position": "9", **values}
    return client.post("/vocabularyview/add", data=data)


def terms():
    db.session.rollback()
    return db.session.execute(select(Term.kind, Term.code, Term.label).order_by(Term.id)).all()


def test_issue11_a_taken_code_is_refused_in_chinese_and_nothing_is_written(client, login, world):
    login("center")
    before = terms()
    response = add_term(client, kind=COURSE_TYPE, code=" SYB ", label="重复的SYB")
    assert response.status_code == 200  # the form again, beside the field, with what was typed
    html = response.get_data(as_text=True)
    assert "代码：SYB 已是该词表的词条。" in html and 'value="重复的SYB"' in html
    assert terms() == before


def test_issue11_a_new_term_is_trimmed_and_saved(client, login, world):
    login("center")
    add_term(client, kind=COURSE_TYPE, code=" NYB ", label=" 网创培训 ")
    db.session.rollback()
    count = db.session.scalar(
        select(func.count()).select_from(Term).where(Term.code == "NYB", Term.label == "网创培训")
    )
    assert count == 1
