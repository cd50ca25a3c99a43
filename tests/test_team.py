"""leadctl team: add/list/show/edit/deactivate/activate, and the team parsers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadctl.errors import ValidationError
from leadctl.team import (
    filter_text,
    normalize_handle,
    parse_capacity,
    parse_filter,
    parse_window,
)


def add_lead(cli: Any, name: str, *args: str) -> int:
    return int(cli("add", name, *args).stdout.strip())


def member(cli: Any, handle: str) -> dict[str, Any]:
    rec: dict[str, Any] = cli.json("team", "show", handle)
    return rec


def assignments(cli: Any, lead_id: int) -> list[dict[str, Any]]:
    acts = cli.json("show", str(lead_id))["activities"]
    return [a for a in acts if a["kind"] == "assignment"]


def test_add_normalises_and_show_returns_everything(cli: Any) -> None:
    cli(
        "team", "add", "Ani", "--name", "Ani Lestari", "--email", "ANI@Example.com",
        "--phone", "0812-3456-7890", "--capacity", "40", "--capacity-window", "30",
        "--products", "Paket Premium", "--segments", "retail",
        "--cities", "Jakarta, bandung,JAKARTA", "--cities", "Bogor", "--sources", "whatsapp",
    )  # fmt: skip
    m = member(cli, "ani")
    assert m["handle"] == "ani"
    assert m["name"] == "Ani Lestari"
    assert m["email"] == "ani@example.com"
    assert m["phone"] == "+6281234567890"
    assert m["capacity"] == 40
    assert m["capacity_window_days"] == 30
    assert m["active"] is True
    assert m["filters"] == {
        "product": ["Paket Premium"],
        "segment": ["retail"],
        "city": ["Jakarta", "bandung", "Bogor"],
        "source": ["whatsapp"],
    }
    assert m["open_leads"] == 0 and m["assigned_in_window"] == 0 and m["remaining"] == 40


def test_add_refuses_bad_input(cli: Any) -> None:
    cli("team", "add", "ani")
    dup = cli("team", "add", "ANI", ok=False)
    assert dup.exit_code == 1 and "already exists" in dup.stderr
    assert cli("team", "add", "bad handle", ok=False).exit_code == 2
    assert cli("team", "add", "none", ok=False).exit_code == 2
    bad_mail = cli("team", "add", "budi", "--email", "not-an-email", ok=False)
    assert bad_mail.exit_code == 2 and "e-mail" in bad_mail.stderr
    assert cli("team", "add", "budi", "--phone", "12", ok=False).exit_code == 2
    assert cli("team", "add", "budi", "--capacity", "lots", ok=False).exit_code == 2
    assert cli("team", "add", "budi", "--capacity", "-1", ok=False).exit_code == 2
    assert [m["handle"] for m in cli.json("team", "list")] == ["ani"]


def test_list_counts_open_leads_and_remaining_capacity(cli: Any) -> None:
    cli("team", "add", "ani", "--capacity", "3")
    cli("team", "add", "budi")
    a = add_lead(cli, "A")
    add_lead(cli, "B")
    closed = add_lead(cli, "C")
    cli("assign", str(a), str(closed), "--to", "ani")
    cli("advance", str(closed), "--to", "won")
    rows = {r["handle"]: r for r in cli.json("team", "list")}
    assert rows["ani"]["open_leads"] == 1
    assert rows["ani"]["remaining"] == 2
    assert rows["ani"]["at_capacity"] is False
    assert rows["budi"]["remaining"] is None  # unlimited
    assert [r["queue_position"] for r in cli.json("team", "list")] == [1, 2]
    # The table and CSV outputs work too (no assertions on the art).
    assert "ani" in cli("team", "list").stdout
    assert cli("team", "list", "--format", "csv").stdout.startswith("handle,")


def test_edit_changes_attributes_and_clears_filters(cli: Any) -> None:
    cli(
        "team", "add", "ani", "--capacity", "5", "--products", "A,B", "--cities", "Jakarta",
        "--sources", "ads",
    )  # fmt: skip
    cli("team", "edit", "ANI", "--capacity", "none", "--products", "C", "--clear", "cities")
    m = member(cli, "ani")
    assert m["capacity"] is None
    assert m["filters"] == {"product": ["C"], "source": ["ads"]}
    cli("team", "edit", "ani", "--sources", "", "--name", "Ani", "--capacity-window", "7")
    m = member(cli, "ani")
    assert m["filters"] == {"product": ["C"]}
    assert m["name"] == "Ani" and m["capacity_window_days"] == 7
    for off in ("0", "none"):  # back to counting open leads (README: Capacity)
        cli("team", "edit", "ani", "--capacity-window", "7")
        cli("team", "edit", "ani", "--capacity-window", off)
        assert member(cli, "ani")["capacity_window_days"] is None
    r = cli("team", "edit", "ani", "--clear", "colour", ok=False)
    assert r.exit_code == 2 and "products, segments, cities, sources" in r.stderr
    r = cli("team", "edit", "ani", "--name", "Ani")
    assert "nothing changed" in r.stderr


def test_unknown_member_lists_the_valid_ones(cli: Any) -> None:
    cli("team", "add", "ani")
    cli("team", "add", "budi")
    r = cli("team", "show", "zed", ok=False)
    assert r.exit_code == 3
    assert "Unknown team member 'zed'" in r.stderr and "ani, budi" in r.stderr
    assert cli("team", "edit", "zed", "--name", "Z", ok=False).exit_code == 3
    assert cli("team", "deactivate", "zed", "--keep", ok=False).exit_code == 3


def test_deactivate_without_terminal_keeps_leads_and_says_how(cli: Any) -> None:
    cli("team", "add", "ani")
    cli("team", "add", "budi")
    lead = add_lead(cli, "A")
    cli("assign", str(lead), "--to", "ani")
    r = cli("team", "deactivate", "ani")  # stdin is not a terminal: no prompt
    assert "--redistribute" in r.stderr
    assert member(cli, "ani")["active"] is False
    assert cli.json("show", str(lead))["owner"] == "ani"
    # An inactive member gets no new leads, by hand or automatically.
    new = add_lead(cli, "B")
    r = cli("assign", str(new), "--to", "ani", ok=False)
    assert r.exit_code == 1 and "inactive" in r.stderr and "budi" in r.stderr
    out = cli.json("assign", "--auto")
    assert [(d["lead_id"], d["to"]) for d in out] == [(new, "budi")]


def test_deactivate_keep_flag(cli: Any) -> None:
    cli("team", "add", "ani")
    cli("team", "add", "budi")
    lead = add_lead(cli, "A")
    cli("assign", str(lead), "--to", "ani")
    out = cli.json("team", "deactivate", "ani", "--keep")
    assert out == []
    assert cli.json("show", str(lead))["owner"] == "ani"


def test_deactivate_redistributes_by_the_same_rules(cli: Any, conn: Any) -> None:
    cli("team", "add", "ani")
    cli("team", "add", "budi", "--cities", "Jakarta")
    cli("team", "add", "cici", "--cities", "Jakarta,Bandung", "--capacity", "1")
    jkt1 = add_lead(cli, "J1", "--city", "Jakarta")
    jkt2 = add_lead(cli, "J2", "--city", "jakarta")
    bdg = add_lead(cli, "B1", "--city", "Bandung")
    medan = add_lead(cli, "M1", "--city", "Medan")
    won = add_lead(cli, "W1", "--city", "Jakarta")
    for lead in (jkt1, jkt2, bdg, medan, won):
        cli("assign", str(lead), "--to", "ani")
    cli("advance", str(won), "--to", "won")
    conn.execute("UPDATE leads SET score = 90 WHERE id = ?", (bdg,))
    out = cli.json("team", "deactivate", "ani", "--redistribute")
    got = {d["lead_id"]: (d["status"], d["to"]) for d in out}
    # Bandung (highest score) can only go to cici, who is then full, so both
    # Jakarta leads go to budi; nobody takes Medan: it becomes unassigned.
    assert got == {
        bdg: ("assigned", "cici"),
        jkt1: ("assigned", "budi"),
        jkt2: ("assigned", "budi"),
        medan: ("unassigned", None),
    }
    assert cli.json("show", str(won))["owner"] == "ani"  # closed leads stay
    assert cli.json("show", str(medan))["owner"] is None
    last = assignments(cli, jkt1)[0]
    assert last["data"]["from"] == "ani" and last["data"]["to"] == "budi"
    assert last["data"]["rule"].startswith("redistributed from ani: round-robin among [budi]")
    assert last["actor"] == "tester"
    gone = assignments(cli, medan)[0]["data"]
    assert gone["from"] == "ani" and gone["to"] is None
    assert "no member accepts city=Medan" in gone["rule"]
    medan_rec = next(d for d in out if d["lead_id"] == medan)
    assert medan_rec["reason"] == "no member accepts city=Medan"


def test_deactivate_yes_redistributes(cli: Any) -> None:
    cli("team", "add", "ani")
    cli("team", "add", "budi")
    lead = add_lead(cli, "A")
    cli("assign", str(lead), "--to", "ani")
    cli("team", "deactivate", "ani", "--yes")
    assert cli.json("show", str(lead))["owner"] == "budi"


def test_activate_joins_the_end_of_the_queue(cli: Any) -> None:
    for h in ("ani", "budi", "cici"):
        cli("team", "add", h)
    cli("team", "deactivate", "ani", "--keep")
    assert member(cli, "ani")["queue_position"] is None
    cli("team", "activate", "ani")
    order = [r["handle"] for r in cli.json("team", "list")]
    assert order == ["budi", "cici", "ani"]
    r = cli("team", "activate", "ani")
    assert "already active" in r.stderr
    cli("team", "deactivate", "budi", "--keep")
    r = cli("team", "deactivate", "budi", "--keep")
    assert "already inactive" in r.stderr and "deactivated" not in r.stderr
    # A typo names every member, the inactive ones marked (activate needs them).
    r = cli("team", "activate", "bdi", ok=False)
    assert r.exit_code == 3 and "budi (inactive)" in r.stderr and "ani" in r.stderr


def test_every_team_command_has_help(cli: Any) -> None:
    for cmd in ("add", "list", "show", "edit", "deactivate", "activate"):
        assert cli("team", cmd, "--help").exit_code == 0
    assert cli("assign", "--help").exit_code == 0


# ---------------------------------------------------------------- parsers


@given(st.text(max_size=60))
def test_parse_filter_is_idempotent_and_raises_only_validation(text: str) -> None:
    try:
        once = parse_filter(text)
    except ValidationError:
        return
    assert parse_filter(filter_text(once)) == once  # written back, read the same
    assert parse_filter([v for v in once if "," not in v and '"' not in v]) == [
        v for v in once if "," not in v and '"' not in v
    ]
    assert all(v and v == " ".join(v.split()) for v in once)
    assert len({v.casefold() for v in once}) == len(once)


@given(st.text(max_size=30))
def test_normalize_handle_is_idempotent_and_raises_only_validation(text: str) -> None:
    try:
        handle = normalize_handle(text)
    except ValidationError:
        return
    assert normalize_handle(handle) == handle
    assert handle == handle.lower()


@given(st.one_of(st.text(max_size=12), st.integers(-5, 10**6)))
def test_parse_capacity_and_window_raise_only_validation(value: Any) -> None:
    for parse in (parse_capacity, parse_window):
        try:
            n = parse(value)
        except ValidationError:
            continue
        assert n is None or (isinstance(n, int) and n >= 0)
        assert parse(n) == n or (parse is parse_window and n == 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("40", 40), ("0", 0), ("none", None), ("Unlimited", None), ("", None), (" 7 ", 7)],
)
def test_parse_capacity_examples(text: str, expected: int | None) -> None:
    assert parse_capacity(text) == expected


@pytest.mark.parametrize(("answer", "owner"), [("y\n", "budi"), ("n\n", "ani"), ("\n", "budi")])
def test_deactivate_asks_on_a_terminal(
    cli: Any, monkeypatch: pytest.MonkeyPatch, answer: str, owner: str
) -> None:
    import leadctl.cli.team as team_cli

    cli("team", "add", "ani")
    cli("team", "add", "budi")
    lead = add_lead(cli, "A")
    cli("assign", str(lead), "--to", "ani")
    monkeypatch.setattr(team_cli, "stdin_is_terminal", lambda: True)
    r = cli("team", "deactivate", "ani", input=answer)
    assert "holds 1 open lead(s)" in r.stdout + r.stderr
    assert cli.json("show", str(lead))["owner"] == owner


def test_edit_clears_contact_and_reads_phone_in_region(cli: Any) -> None:
    cli("team", "add", "ani", "--email", "ani@example.com", "--phone", "+6281234567890")
    cli("team", "edit", "ani", "--email", "", "--phone", "9123 4567", "--region", "SG")
    m = member(cli, "ani")
    assert m["email"] is None and m["phone"] == "+6591234567"


def test_a_filter_value_with_a_comma_is_quoted(cli: Any) -> None:
    """`--products "Paket A, 12 bulan"` is two values; quoted as in a CSV line
    it is one, and a lead with that product is accepted."""
    cli("team", "add", "ani", "--products", '"Paket A, 12 bulan",Paket B')
    assert member(cli, "ani")["filters"] == {"product": ["Paket A, 12 bulan", "Paket B"]}
    assert 'product: "Paket A, 12 bulan", Paket B' in cli("team", "list").stdout
    lead = cli("add", "Budi", "--product", "Paket A, 12 bulan").stdout.strip()
    out = cli.json("assign", lead, "--auto")
    assert [d["to"] for d in out] == ["ani"]
