"""team: the members who own leads, their filters and capacity."""

from typing import Annotated, Any

import typer

from leadctl.cli.common import Format, FormatOpt, state

team_app = typer.Typer(
    short_help="The sales team: members, filters, capacity.",
    help="The sales team: members, the leads they accept (filters) and their capacity.",
    no_args_is_help=True,
)

FilterOpt = Annotated[
    list[str] | None,
    typer.Option(help="Comma-separated values (repeatable); '' clears."),
]


def _filters(**given: list[str] | None) -> dict[str, Any]:
    # CLI option (plural) -> filter key; only the options actually given.
    keys = {"products": "product", "segments": "segment", "cities": "city", "sources": "source"}
    return {keys[opt]: values for opt, values in given.items() if values is not None}


def _columns() -> list[Any]:
    from leadctl.render import Column
    from leadctl.team import filter_text

    def filters(value: dict[str, list[str]]) -> str:
        return "; ".join(f"{k}: {filter_text(v)}" for k, v in value.items()) or "any lead"

    return [
        Column("queue_position", "Queue", justify="right"),
        Column("handle", "Handle"),
        Column("name", "Name", max_width=24),
        Column("active", "Active"),
        Column("open_leads", "Open", justify="right"),
        Column("capacity_display", "Capacity", justify="right"),
        Column("remaining", "Left", justify="right"),
        Column("filters", "Accepts", fmt=filters, max_width=50),
    ]


def _display(rec: dict[str, Any]) -> dict[str, Any]:
    cap = rec["capacity"]
    text = "unlimited" if cap is None else str(cap)
    if rec["capacity_window_days"]:
        text += f" / {rec['capacity_window_days']}d"
    return {**rec, "capacity_display": text}


def _record(st: Any, handle: str) -> dict[str, Any]:
    from leadctl import team

    member = team.get_member(st.existing_conn, handle)
    for rec in team.member_records(st.conn, now=st.now):
        if rec["handle"] == member.handle:
            return rec
    raise AssertionError("member vanished")  # pragma: no cover


def _show(rec: dict[str, Any], fmt: Format) -> None:
    from leadctl.render import emit_object, key_value

    if fmt is not Format.table:
        emit_object(rec, fmt.value)
        return
    cap = _display(rec)["capacity_display"]
    pairs: list[tuple[str, Any]] = [
        ("Handle", rec["handle"]), ("Name", rec["name"]), ("E-mail", rec["email"]),
        ("Phone", rec["phone"]), ("Active", rec["active"]), ("Capacity", cap),
        ("Open leads", rec["open_leads"]),
    ]  # fmt: skip
    if rec["capacity_window_days"]:
        pairs.append((f"Assigned in {rec['capacity_window_days']}d", rec["assigned_in_window"]))
    pairs += [("Remaining", rec["remaining"]), ("Queue position", rec["queue_position"])]
    from leadctl.team import filter_text

    for key, values in rec["filters"].items():
        pairs.append((f"Accepts {key}", filter_text(values)))
    if not rec["filters"]:
        pairs.append(("Accepts", "any lead"))
    key_value([(k, v) for k, v in pairs if v is not None])


def cmd_add(
    ctx: typer.Context,
    handle: Annotated[str, typer.Argument(help="Short lower-case name, e.g. ani.")],
    name: Annotated[str | None, typer.Option(help="Full name.")] = None,
    email: Annotated[str | None, typer.Option(help="E-mail address.")] = None,
    phone: Annotated[str | None, typer.Option(help="Phone; local numbers use the region.")] = None,
    region: Annotated[str | None, typer.Option(help="Phone region, e.g. ID.")] = None,
    capacity: Annotated[
        str | None,
        typer.Option(help="Most open leads the member may hold (default: unlimited)."),
    ] = None,
    capacity_window: Annotated[
        int | None,
        typer.Option(
            help="Count leads assigned in the last N days instead of open leads (0: open leads)."
        ),
    ] = None,
    products: FilterOpt = None,
    segments: FilterOpt = None,
    cities: FilterOpt = None,
    sources: FilterOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Add a team member. Empty filters accept any lead."""
    from leadctl import team
    from leadctl.render import message

    st = state(ctx)
    data: dict[str, Any] = {
        "name": name, "email": email, "phone": phone, "region": region, "capacity": capacity,
        "capacity_window_days": capacity_window,
        **_filters(products=products, segments=segments, cities=cities, sources=sources),
    }  # fmt: skip
    member = team.add_member(st.conn, handle, data, now=st.now)
    if fmt is Format.table:
        message(f"Team member {member.handle} added.")
    else:
        _show(_record(st, member.handle), fmt)


def cmd_list(
    ctx: typer.Context,
    active_only: Annotated[bool, typer.Option("--active", help="Only active members.")] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Members in round-robin order, with open leads and remaining capacity."""
    from leadctl import team
    from leadctl.render import emit_records

    st = state(ctx)
    records = team.member_records(st.existing_conn, now=st.now)
    if active_only:
        records = [r for r in records if r["active"]]
    emit_records(
        [_display(r) for r in records] if fmt is Format.table else records,
        _columns(),
        fmt.value,
        empty="No team members yet; add one with `leadctl team add HANDLE`.",
        csv_keys=[
            "handle", "name", "email", "phone", "active", "capacity", "capacity_window_days",
            "open_leads", "assigned_in_window", "load", "remaining", "queue_position", "filters",
        ],
    )  # fmt: skip


def cmd_show(
    ctx: typer.Context,
    handle: Annotated[str, typer.Argument(help="Member handle.")],
    fmt: FormatOpt = Format.table,
) -> None:
    """One member: contact, capacity and its use, filters, queue position."""
    _show(_record(state(ctx), handle), fmt)


def cmd_edit(
    ctx: typer.Context,
    handle: Annotated[str, typer.Argument(help="Member handle.")],
    name: Annotated[str | None, typer.Option(help="Full name ('' clears).")] = None,
    email: Annotated[str | None, typer.Option(help="E-mail ('' clears).")] = None,
    phone: Annotated[str | None, typer.Option(help="Phone ('' clears).")] = None,
    region: Annotated[str | None, typer.Option(help="Phone region, e.g. ID.")] = None,
    capacity: Annotated[
        str | None, typer.Option(help="Most open leads; 'none' for unlimited.")
    ] = None,
    capacity_window: Annotated[
        str | None, typer.Option(help="Window in days; 'none' to count open leads.")
    ] = None,
    products: FilterOpt = None,
    segments: FilterOpt = None,
    cities: FilterOpt = None,
    sources: FilterOpt = None,
    clear: Annotated[
        list[str] | None,
        typer.Option(help="Clear a filter: products, segments, cities or sources (repeatable)."),
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Change a member's attributes or filters."""
    from leadctl import team
    from leadctl.errors import ValidationError
    from leadctl.render import message

    st = state(ctx)
    data: dict[str, Any] = {
        k: v
        for k, v in {
            "name": name, "email": email, "phone": phone, "capacity": capacity,
            "capacity_window_days": capacity_window,
        }.items()
        if v is not None
    }  # fmt: skip
    if region:
        data["region"] = region
    data.update(_filters(products=products, segments=segments, cities=cities, sources=sources))
    for item in clear or []:
        key = item.strip().lower()
        by_option = {v: k for k, v in team.FILTER_OPTIONS.items()}
        key = by_option.get(key, key)
        if key not in team.FILTER_KEYS:
            raise ValidationError(
                f"Unknown filter {item!r}", "Use one of: products, segments, cities, sources."
            )
        data[key] = []
    before = team.get_member(st.existing_conn, handle)
    member = team.edit_member(st.conn, handle, data, now=st.now)
    if fmt is not Format.table:
        _show(_record(st, member.handle), fmt)
    elif member == before:
        message(f"Team member {member.handle}: nothing changed.")
    else:
        message(f"Team member {member.handle} updated.")


def _decision_columns() -> list[Any]:
    from leadctl.render import Column

    return [
        Column("lead_id", "Lead", justify="right"),
        Column("name", "Name", max_width=28),
        Column("score", "Score", justify="right"),
        Column("from", "From"),
        Column("to", "To"),
        Column("why", "Rule / reason", max_width=80),
    ]


DECISION_KEYS = ["lead_id", "name", "score", "from", "to", "status", "rule", "reason"]


def emit_decisions(decisions: list[Any], fmt: Format) -> None:
    """Print assignment decisions (shared with `leadctl assign`)."""
    from leadctl.render import emit_records

    records = [d.to_dict() for d in decisions]
    if fmt is Format.table:
        for r in records:
            r["why"] = r["rule"] if r["status"] == "assigned" else f"{r['status']}: {r['reason']}"
    emit_records(records, _decision_columns(), fmt.value, csv_keys=DECISION_KEYS)


def summarize(decisions: list[Any], *, dry_run: bool) -> str:
    counts: dict[str, int] = {}
    for d in decisions:
        counts[d.status] = counts.get(d.status, 0) + 1
    verb = "Would assign" if dry_run else "Assigned"
    text = f"{verb} {counts.get('assigned', 0)} lead(s)"
    if counts.get("unassigned"):
        text += f"; {counts['unassigned']} left unassigned (see the reason per lead)"
    if counts.get("skipped"):
        text += f"; {counts['skipped']} skipped"
    if counts.get("unchanged"):
        text += f"; {counts['unchanged']} already theirs"
    if dry_run:
        text += ". Dry run: nothing was written"
    return text + "."


def stdin_is_terminal() -> bool:
    """Ask questions only when a person can answer (never in cron or a pipe)."""
    import sys

    return sys.stdin.isatty()


def cmd_deactivate(
    ctx: typer.Context,
    handle: Annotated[str, typer.Argument(help="Member handle.")],
    redistribute: Annotated[
        bool | None,
        typer.Option(
            "--redistribute/--keep",
            help="Give their open leads to the other members by the assignment rules, "
            "or keep them with this member.",
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask; redistribute unless --keep.")
    ] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Deactivate a member: they get no new leads. Offers to redistribute their open leads.

    On a terminal it asks; in scripts pass --redistribute or --keep (without
    either, their leads are kept and a message says how to move them later).
    """
    from leadctl import assign, team
    from leadctl.render import message

    st = state(ctx)
    member = team.get_member(st.existing_conn, handle)
    was_active = member.active
    held = assign.open_leads_of(st.conn, member.handle)
    if redistribute is None:
        if not held:
            redistribute = False
        elif yes:
            redistribute = True
        elif stdin_is_terminal():
            redistribute = typer.confirm(
                f"{member.handle} holds {held} open lead(s). Redistribute them to the other "
                "active members?",
                default=True,
                err=True,
            )
        else:
            redistribute = False
            message(
                f"Not a terminal, so not asking: {member.handle} keeps {held} open lead(s). "
                f"Move them with `leadctl team deactivate {member.handle} --redistribute`."
            )
    member, decisions = assign.deactivate(
        st.conn, member.handle, now=st.now, actor=st.actor, redistribute_leads=redistribute
    )
    message(
        f"Team member {member.handle} " + ("deactivated." if was_active else "is already inactive.")
    )
    if decisions or fmt is not Format.table:
        emit_decisions(decisions, fmt)
    if decisions:
        message(summarize(decisions, dry_run=False))
    elif held and not redistribute:
        message(f"{member.handle} keeps {held} open lead(s).")


def cmd_activate(
    ctx: typer.Context,
    handle: Annotated[str, typer.Argument(help="Member handle.")],
) -> None:
    """Activate a member again; they join the end of the round-robin queue."""
    from leadctl import team
    from leadctl.render import message

    st = state(ctx)
    was = team.get_member(st.existing_conn, handle)
    member = team.set_active(st.conn, handle, True, now=st.now)
    if was.active:
        message(f"Team member {member.handle} is already active.")
    else:
        message(f"Team member {member.handle} activated.")


team_app.command("add")(cmd_add)
team_app.command("list", short_help="Members in round-robin order, with their load.")(cmd_list)
team_app.command("show", short_help="One member: contact, capacity, filters, queue.")(cmd_show)
team_app.command("edit")(cmd_edit)
team_app.command("deactivate")(cmd_deactivate)
team_app.command("activate", short_help="Activate a member again (end of the queue).")(cmd_activate)


def register(app: typer.Typer) -> None:
    app.add_typer(team_app, name="team")
