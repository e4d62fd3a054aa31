"""The data model round-trips through JSON, and the committed JSON Schema matches the model."""

from __future__ import annotations

import json

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import appvet
from appvet import model
from appvet.model import Review, from_dict, to_dict, to_json
from appvet.report.schema import packaged_schema, review_schema

# Review's annotations name types imported late (traffic); resolve them so builds() can read every hint.
model._resolve_late_types()

# JSON has no NaN or infinity; the model never produces them.
st.register_type_strategy(float, st.floats(allow_nan=False, allow_infinity=False))

reviews = st.builds(
    Review,
    timings=st.dictionaries(st.text(max_size=5), st.floats(allow_nan=False, allow_infinity=False), max_size=3),
    versions=st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(reviews)
def test_review_round_trips_through_json(review: Review) -> None:
    data = json.loads(json.dumps(to_dict(review)))
    assert from_dict(data) == review


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(reviews)
def test_every_review_validates_against_the_schema(review: Review) -> None:
    jsonschema.validate(json.loads(to_json(review)), packaged_schema())


def test_committed_schema_matches_the_model() -> None:
    assert packaged_schema() == review_schema(), (
        "regenerate: python -m appvet.report.schema > src/appvet/report/review.schema.json"
    )


def test_public_api_is_pinned() -> None:
    assert sorted(appvet.__all__) == ["AppvetError", "Review", "__version__", "load_kb", "review", "to_json"]
    for name in appvet.__all__:
        assert getattr(appvet, name) is not None
