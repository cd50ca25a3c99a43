"""Core: adding, finding, listing and editing leads."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadctl import activities, leads, pipeline
from leadctl.errors import ConflictError, NotFoundError, UsageError, ValidationError
from tests.conftest import NOW


def _add(conn, **data):  # type: ignore[no-untyped-def]
    return leads.add_lead(conn, data, now=NOW, actor="ani")


def test_add_normalises_and_records_history(conn) -> None:  # type: ignore[no-untyped-def]
    lead = _add(
        conn, name=" Budi Santoso ", email="Budi@Example.co.id", phone="0812-3456-7890",
        value="Rp 15.000.000", tags="hot; VIP", fields={"birthday": "1990-04-02"}, owner="Ani",
    )  # fmt: skip
    assert lead.name == "Budi Santoso"
    assert lead.email == "budi@example.co.id"
    assert lead.phone == "+6281234567890"
    assert lead.value == 15_000_000 and lead.currency == "IDR"
    assert lead.tags == ["hot", "vip"]
    assert lead.fields == {"birthday": "1990-04-02"}
    assert lead.owner == "ani"
    assert lead.stage == "new" and lead.probability == 10
    assert lead.created_at == "2026-11-22T08:00:00Z"
    kinds = [a.kind for a in activities.list_activities(conn, lead.id)]
    assert kinds == ["created"]
    hist = conn.execute("SELECT stage, entered_at, left_at FROM stage_history").fetchall()
    assert [tuple(r) for r in hist] == [("new", "2026-11-22T08:00:00Z", None)]


def test_a_lead_needs_an_identity(conn) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match="at least a name"):
        _add(conn, company="PT X", city="Jakarta")


@pytest.mark.parametrize(
    ("first", "second", "key"),
    [
        ({"email": "a@x.id"}, {"email": "A@X.ID"}, "e-mail"),
        ({"phone": "0812-3456-7890"}, {"phone": "+62 812 3456 7890"}, "phone"),
        ({"external_id": "CRM-1"}, {"external_id": "CRM-1"}, "external id"),
    ],
)
def test_duplicates_are_refused_naming_the_lead(conn, first, second, key) -> None:  # type: ignore[no-untyped-def]
    lead = _add(conn, name="One", **first)
    with pytest.raises(ConflictError, match=f"Lead {lead.id} already has this {key}"):
        _add(conn, name="Two", **second)
    dup = leads.add_lead(conn, {"name": "Two", **second}, now=NOW, actor=None, allow_duplicate=True)
    assert dup.id != lead.id


def test_bad_input_changes_nothing(conn) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError):
        _add(conn, name="X", email="not-an-email")
    with pytest.raises(ValidationError):
        _add(conn, name="X", value="lots")
    with pytest.raises(ValidationError, match="NUL"):
        _add(conn, name="X\x00Y")
    assert conn.execute("SELECT count(*) FROM leads").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM activities").fetchone()[0] == 0


def test_unknown_lead_is_not_found(conn) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFoundError, match="No lead with id 42"):
        leads.get_lead(conn, 42)


def test_owner_must_be_a_member_once_a_team_exists(conn) -> None:  # type: ignore[no-untyped-def]
    _add(conn, name="Free text owner ok", owner="whoever")
    conn.execute(
        "INSERT INTO team_members (handle, name, created_at, updated_at) VALUES ('ani','Ani','x','x')"
    )
    with pytest.raises(NotFoundError, match="Unknown team member 'budi'"):
        _add(conn, name="Y", owner="budi")


def test_list_filters_and_sort(conn) -> None:  # type: ignore[no-untyped-def]
    a = _add(conn, name="Ani Co", city="Jakarta", source="ads", value="5jt", tags="hot")
    b = _add(conn, name="Budi", city="Bandung", source="whatsapp", value="1jt", owner="ani")
    c = _add(conn, name="Citra", email="citra@maju.id", city="jakarta", value="9jt")
    pipeline.move_stage(conn, b.id, None, now=NOW, actor=None)

    def ids(**kw):  # type: ignore[no-untyped-def]
        sort = kw.pop("sort", None)
        return [x.id for x in leads.list_leads(conn, leads.LeadFilter(**kw), now=NOW, sort=sort)]

    assert ids(city="JAKARTA") == [a.id, c.id]
    assert ids(stages=["contacted"]) == [b.id]
    assert ids(owner="ani") == [b.id]
    assert ids(owner="none") == [a.id, c.id]
    assert ids(tags=["HOT"]) == [a.id]
    assert ids(source="ads") == [a.id]
    assert ids(search="maju") == [c.id]
    assert ids(search="%") == []
    assert ids(sort="-value") == [c.id, a.id, b.id]
    assert ids(sort="stage,-id") == [c.id, a.id, b.id]
    with pytest.raises(ValidationError, match="Cannot sort by 'bogus'"):
        ids(sort="bogus")
    with pytest.raises(NotFoundError, match="Unknown stage"):
        ids(stages=["nope"])


def test_stale_and_no_next_step(conn) -> None:  # type: ignore[no-untyped-def]
    old = leads.add_lead(conn, {"name": "Old"}, now=NOW - timedelta(days=10), actor=None)
    fresh = _add(conn, name="Fresh")
    conn.execute(
        "INSERT INTO followups (lead_id, due_at, created_at) VALUES (?, ?, ?)",
        (fresh.id, "2026-11-23T08:00:00Z", "2026-11-22T08:00:00Z"),
    )
    stale = leads.list_leads(conn, leads.LeadFilter(stale=True), now=NOW)
    assert [x.id for x in stale] == [old.id]  # 'new' rots after 3 days
    no_next = leads.list_leads(conn, leads.LeadFilter(no_next_step=True), now=NOW)
    assert [x.id for x in no_next] == [old.id]


def test_edit_records_each_change(conn) -> None:  # type: ignore[no-untyped-def]
    lead = _add(conn, name="Budi", phone="0812-3456-7890", tags="hot,b2b")
    later = NOW + timedelta(hours=1)
    edited = leads.edit_lead(
        conn, lead.id, {"phone": "0813-1111-2222", "owner": "ani"}, now=later, actor="boss",
        remove_tags=["hot"], set_fields={"birthday": "1990-04-02"},
    )  # fmt: skip
    assert edited.phone == "+6281311112222"
    assert edited.tags == ["b2b"]
    assert edited.fields == {"birthday": "1990-04-02"}
    acts = activities.list_activities(conn, lead.id)
    assert [a.kind for a in acts][:2] in (
        ["field_change", "assignment"],
        ["assignment", "field_change"],
    )
    change = next(a for a in acts if a.kind == "field_change")
    assert change.data["changes"]["phone"] == ["+6281234567890", "+6281311112222"]
    assert change.data["changes"]["tags"] == [["hot", "b2b"], ["b2b"]]
    assign = next(a for a in acts if a.kind == "assignment")
    assert assign.data == {"from": None, "to": "ani", "rule": "manual"}
    assert edited.updated_at == "2026-11-22T09:00:00Z"


def test_edit_refuses_a_duplicate_key(conn) -> None:  # type: ignore[no-untyped-def]
    a = _add(conn, name="A", email="a@x.id")
    b = _add(conn, name="B")
    with pytest.raises(ConflictError, match=f"Lead {a.id} already"):
        leads.edit_lead(conn, b.id, {"email": "a@x.id"}, now=NOW, actor=None)


def test_delete_removes_history(conn) -> None:  # type: ignore[no-untyped-def]
    lead = _add(conn, name="Gone", phone="0812-3456-7890")
    leads.delete_lead(conn, lead.id)
    assert conn.execute("SELECT count(*) FROM activities").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM stage_history").fetchone()[0] == 0
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_lead_columns_are_selected_in_field_order(conn) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import fields

    from leadctl.models import LEAD_COLUMNS, LEAD_FROM, Lead

    _add(conn, name="Order check")
    cur = conn.execute(f"SELECT {LEAD_COLUMNS} FROM {LEAD_FROM}")
    assert [d[0] for d in cur.description] == [f.name for f in fields(Lead)]


def test_a_value_edit_is_read_in_the_leads_own_currency(cli) -> None:
    """A USD lead in an IDR database: `edit/qualify --value 20.75` are cents
    of its dollars, as `add --currency USD --value 20.50` and `log --amount`."""
    lead = cli.json("add", "US buyer", "--currency", "USD", "--value", "20.50")
    assert (lead["value"], lead["currency"]) == (2050, "USD")
    lid = str(lead["id"])
    assert cli.json("edit", lid, "--value", "20.75")["value"] == 2075
    cli("qualify", lid, "--value", "30.25")
    assert cli.json("show", lid)["value"] == 3025
    assert cli.json("edit", lid, "--value", "1.5")["value"] == 150
    idr = cli.json("add", "Toko", "--value", "Rp 7.500.000")
    r = cli("edit", str(idr["id"]), "--value", "20.75", ok=False)  # IDR has no cents
    assert r.exit_code == 2 and "IDR" in r.stderr


def test_an_empty_custom_field_is_no_field(cli) -> None:
    """As an empty cell of an import (so export -> import gives the same lead)."""
    lead = cli.json("add", "Budi", "--field", "empty=", "--field", "kept=x")
    assert lead["fields"] == {"kept": "x"}
    lid = str(lead["id"])
    assert cli.json("edit", lid, "--field", "kept=")["fields"] == {}
