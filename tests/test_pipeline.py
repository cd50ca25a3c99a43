"""Stage moves, their rules, their history; editing the pipeline."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadctl import activities, leads, pipeline
from leadctl.errors import ConflictError, NotFoundError, UsageError
from tests.conftest import NOW


@pytest.fixture
def lead(conn):  # type: ignore[no-untyped-def]
    return leads.add_lead(conn, {"name": "Budi"}, now=NOW, actor="ani")


def move(conn, lead_id, to=None, hours=1, **kw):  # type: ignore[no-untyped-def]
    return pipeline.move_stage(
        conn, lead_id, to, now=NOW + timedelta(hours=hours), actor="ani", **kw
    )


def test_next_stage_walks_the_main_path(conn, lead) -> None:  # type: ignore[no-untyped-def]
    path = [move(conn, lead.id, hours=h).to_stage for h in range(1, 6)]
    assert path == ["contacted", "nurturing", "qualified", "negotiation", "won"]
    won = leads.get_lead(conn, lead.id)
    assert won.closed_at == "2026-11-22T13:00:00Z" and won.probability == 100
    with pytest.raises(ConflictError, match="closed"):
        move(conn, lead.id, hours=6)


def test_lost_needs_a_reason_and_reopen(conn, lead) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match="needs a reason"):
        move(conn, lead.id, "lost")
    move(conn, lead.id, "lost", reason="too expensive")
    lost = leads.get_lead(conn, lead.id)
    assert lost.lost_reason == "too expensive" and lost.probability == 0
    with pytest.raises(ConflictError, match="add --reopen") as err:
        move(conn, lead.id, "contacted", hours=2)
    assert "Allowed stages: none" in str(err.value)
    move(conn, lead.id, "contacted", hours=2, reopen=True)
    reopened = leads.get_lead(conn, lead.id)
    assert reopened.stage == "contacted" and reopened.closed_at is None


def test_inactive_only_from_won(conn, lead) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConflictError, match="only a won lead") as err:
        move(conn, lead.id, "inactive")
    assert "Allowed stages: contacted" in str(err.value)
    move(conn, lead.id, "won")
    move(conn, lead.id, "inactive", hours=2)  # no --reopen needed for churn
    assert leads.get_lead(conn, lead.id).closed_at == "2026-11-22T09:00:00Z"


def test_unknown_stage_lists_the_stages(conn, lead) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFoundError, match="Stages: new, contacted"):
        move(conn, lead.id, "proposal")


def test_history_has_durations_and_activities(conn, lead) -> None:  # type: ignore[no-untyped-def]
    move(conn, lead.id, "contacted", hours=2)
    move(conn, lead.id, "negotiation", hours=5)
    rows = conn.execute(
        "SELECT stage, entered_at, left_at, seconds FROM stage_history ORDER BY id"
    ).fetchall()
    assert [tuple(r) for r in rows] == [
        ("new", "2026-11-22T08:00:00Z", "2026-11-22T10:00:00Z", 7200),
        ("contacted", "2026-11-22T10:00:00Z", "2026-11-22T13:00:00Z", 10800),
        ("negotiation", "2026-11-22T13:00:00Z", None, None),
    ]
    changes = [
        a.data for a in activities.list_activities(conn, lead.id) if a.kind == "stage_change"
    ]
    assert changes == [
        {"from": "contacted", "to": "negotiation", "reason": None},
        {"from": "new", "to": "contacted", "reason": None},
    ]


def test_backdated_move_cannot_precede_entry(conn, lead) -> None:  # type: ignore[no-untyped-def]
    from leadctl.errors import ValidationError

    with pytest.raises(ValidationError, match="before the lead entered"):
        pipeline.move_stage(conn, lead.id, None, now=NOW, actor=None, at=NOW - timedelta(days=1))


def test_edit_the_pipeline(conn, lead) -> None:  # type: ignore[no-untyped-def]
    pipeline.add_stage(conn, "proposal", probability=60, after="qualified", rot_days=7)
    names = [s.name for s in pipeline.list_stages(conn)]
    assert names.index("proposal") == names.index("qualified") + 1
    pipeline.move_stage_position(conn, "proposal", before="qualified")
    names = [s.name for s in pipeline.list_stages(conn)]
    assert names.index("proposal") == names.index("qualified") - 1
    assert [s.position for s in pipeline.list_stages(conn)] == list(range(1, len(names) + 1))
    pipeline.rename_stage(conn, "new", "fresh")
    assert leads.get_lead(conn, lead.id).stage == "fresh"
    assert conn.execute("SELECT DISTINCT stage FROM stage_history").fetchall()[0][0] == "fresh"
    s = pipeline.update_stage(conn, "fresh", probability=15, rot_days=2)
    assert (s.probability, s.rot_days) == (15, 2)
    assert leads.get_lead(conn, lead.id).probability == 15
    with pytest.raises(ConflictError, match="still holds 1 lead"):
        pipeline.remove_stage(conn, "fresh")
    pipeline.remove_stage(conn, "proposal")
    with pytest.raises(ConflictError, match="only won stage"):
        pipeline.remove_stage(conn, "won")
    with pytest.raises(ConflictError, match="already exists"):
        pipeline.add_stage(conn, "won", probability=1)


def test_probability_override_beats_learned_beats_stage(conn, lead) -> None:  # type: ignore[no-untyped-def]
    conn.execute("UPDATE leads SET probability_auto = 33 WHERE id = ?", (lead.id,))
    assert leads.get_lead(conn, lead.id).probability == 33
    conn.execute("UPDATE leads SET probability_manual = 80 WHERE id = ?", (lead.id,))
    assert leads.get_lead(conn, lead.id).probability == 80
    move(conn, lead.id, "lost", reason="x")
    assert leads.get_lead(conn, lead.id).probability == 0


def test_advance_of_several_leads_is_all_or_nothing(cli) -> None:  # type: ignore[no-untyped-def]
    for name in ("A", "B"):
        cli("add", name)
    r = cli("advance", "1", "999", "2", ok=False)
    assert r.exit_code == 3 and "999" in r.stderr and "→" not in r.stderr
    cli("advance", "2", "--to", "lost", "--reason", "price")
    r = cli("advance", "1", "2", "-f", "json", ok=False)  # lead 2 is closed
    assert r.exit_code != 0 and r.stdout == ""
    assert [x["stage"] for x in cli.json("list", "-f", "json")] == ["new", "lost"]
    moved = cli.json("advance", "1", "2", "--reopen", "--to", "contacted")
    assert [(m["lead_id"], m["from"], m["to"]) for m in moved] == [
        (1, "new", "contacted"), (2, "lost", "contacted")
    ]  # fmt: skip
    assert cli("advance", "1").stderr == "Lead 1: contacted → nurturing\n"
