"""Who counts as an owner when a filter names one (`--owner` on reports and
the follow-up listing). Light on purpose: cron's listing imports it."""

from __future__ import annotations

import sqlite3

from leadctl.errors import NotFoundError


def check_known_owner(conn: sqlite3.Connection, owner: str) -> None:
    """A typo in --owner would report an empty pipeline as if it were real:
    the name must be a team member, a lead's owner, an activity's actor,
    have a target or a follow-up. Raises NotFoundError (exit 3) otherwise."""
    for sql in (
        "SELECT 1 FROM team_members WHERE handle = ?",
        "SELECT 1 FROM leads WHERE owner = ? LIMIT 1",
        "SELECT 1 FROM activities WHERE actor = ? AND kind <> 'import' LIMIT 1",
        "SELECT 1 FROM targets WHERE owner = ? LIMIT 1",
        "SELECT 1 FROM followups WHERE owner = ? LIMIT 1",  # not indexed: asked last
    ):
        if conn.execute(sql, (owner,)).fetchone():
            return
    members = [r[0] for r in conn.execute("SELECT handle FROM team_members ORDER BY handle")]
    raise NotFoundError(
        f"Nobody called {owner!r} owns leads, logged activity or has a target",
        (f"Team: {', '.join(members)}." if members else "See `leadctl team list`.")
        + " Use --owner none for unassigned leads.",
    )
