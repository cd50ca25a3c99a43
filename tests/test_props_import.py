"""Property tests over the import/export option parsers (--map, --stage-map,
--key) and the per-value converters an import runs on every cell."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

importer = pytest.importorskip("leadctl.importer")
headers = pytest.importorskip("leadctl.headers")
import_values = pytest.importorskip("leadctl.import_values")

from test_props import JAKARTA, NOW, SETTINGS, date_text, money_text, nasty_text, only_ours  # noqa: E402

field_names = st.sampled_from(
    [*headers.TARGETS, "Name", "E-Mail", "phone ", "nope", "", "field:x", "fields.x"]
)
map_items = st.lists(
    st.tuples(field_names | nasty_text, st.sampled_from(["=", "", "=="]), nasty_text).map("".join),
    max_size=4,
)


@SETTINGS
@given(map_items)
@example(["name=Full Name", "email=E-mail Address"])
@example(["name="])
def test_parse_map(items) -> None:
    result = only_ours(importer.parse_map, items)
    if result is not None:
        assert set(result) <= set(headers.TARGETS)
        again = importer.parse_map([f"{k}={v}" for k, v in result.items()])
        assert again == result


@SETTINGS
@given(nasty_text | st.lists(st.tuples(nasty_text, nasty_text).map("=".join)).map(",".join))
@example("Engaging=contacted,Prospecting=new,Won=won")
@example("=,=")
def test_parse_stage_map(text) -> None:
    result = only_ours(importer.parse_stage_map, text)
    if result is not None:
        again = importer.parse_stage_map(",".join(f"{k}={v}" for k, v in result.items()))
        assert again == result


@SETTINGS
@given(st.lists(nasty_text | st.sampled_from(["email", "phone,email", "ID", "none", "ext"])))
def test_parse_keys(items) -> None:
    result = only_ours(importer.parse_keys, items)
    if result is not None:
        assert importer.parse_keys(list(result) or ["none"]) == result


@SETTINGS
@given(nasty_text)
def test_header_recognition_never_raises(text) -> None:
    key = headers.header_key(text)
    assert headers.header_key(key) == key
    headers.recognise(text)


@SETTINGS
@given(money_text, st.sampled_from(["IDR", "USD"]))
def test_import_money(text, currency) -> None:
    result = only_ours(import_values.money, text, currency)
    if result is not None:
        assert isinstance(result, int) and result >= 0


@SETTINGS
@given(nasty_text | st.emails())
def test_import_email(text) -> None:
    result = only_ours(import_values.email, text)
    if result is not None:
        assert import_values.email(result) == result


@SETTINGS
@given(date_text, st.booleans())
def test_import_dates(text, dayfirst) -> None:
    parse = import_values.make_date_parser(NOW, JAKARTA, dayfirst)
    result = only_ours(parse, text)
    if result is not None:
        assert parse(result) == result
