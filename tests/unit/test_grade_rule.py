"""[classroom] point 5: the grade rule kept as data (`GradeScheme`): the 试讲评分表's weighted sum,
the mean of the trainers, the total by the weights, the pass line and the attendance required."""

import json

import pytest

from app.services import grades
from app.services.errors import InvalidValue
from models.grades import GradeScheme


def scheme(**over) -> GradeScheme:
    values = dict(grades.DEFAULT_SCHEME) | over
    values["criteria"] = json.dumps(values["criteria"], ensure_ascii=False)
    return GradeScheme(version=1, **values)


def test_trial_is_the_weighted_sum_of_the_criteria():
    s = scheme()
    scores = {"design": 100, "content": 50, "delivery": 80, "interaction": 70, "timing": 0}
    assert grades.trial_of(s, scores) == 65.0  # 20 + 15 + 16 + 14 + 0
    assert grades.trial_of(s, dict.fromkeys(scores, 100)) == 100.0
    other = scheme(
        criteria=[
            {"key": "a", "label": "A", "weight": 70},
            {"key": "b", "label": "B", "weight": 30},
        ]
    )
    assert grades.trial_of(other, {"a": 90, "b": 60}) == 81.0


def test_trainee_trial_score_is_the_mean_rounded_half_up():
    assert grades.mean_of([80.0, 90.0]) == 85.0
    assert grades.mean_of([80.0, 85.0, 85.5]) == 83.5
    assert grades.mean_of([80.0, 80.5]) == 80.3  # 80.25 rounds up, not to 80.2
    assert grades.mean_of([]) is None


def test_total_by_the_weights_of_the_scheme():
    assert grades.total_of(scheme(), 85, 50) == 71.0  # 85 × 60% + 50 × 40%
    assert grades.total_of(scheme(trial_weight=50, written_weight=50), 85, 50) == 67.5
    assert grades.total_of(scheme(), None, 50) is None
    assert grades.total_of(scheme(), 85, None) is None


def test_pass_line_is_inclusive_and_attendance_counts():
    s = scheme()  # pass line 60, attendance at least 80% of the days
    assert grades.passes(s, 60.0, 5, 5) is True
    assert grades.passes(s, 59.9, 5, 5) is False
    assert grades.passes(s, 95.0, 4, 5) is True  # 80%
    assert grades.passes(s, 95.0, 3, 5) is False  # 60%
    assert grades.passes(scheme(pass_line=75), 71.0, 5, 5) is False
    assert grades.passes(s, None, 5, 5) is None


def test_scores_outside_the_scale_are_refused(app):
    s = scheme()
    assert grades.parse_score(" 85.25 ", s, "x") == 85.3
    assert grades.parse_score("", s, "x") is None
    for bad in ("101", "-0.5", "abc", "NaN", "Infinity", "1e3"):
        with pytest.raises(InvalidValue) as refused:
            grades.parse_score(bad, s, "written_1")
        assert refused.value.field == "written_1"
