"""add, list, show, edit, delete."""

from typing import Annotated, Any

import typer

from leadctl.cli.common import (
    CityFilter,
    Format,
    FormatOpt,
    NoNextStepFilter,
    OpenFilter,
    OwnerFilter,
    ProductFilter,
    QualifiedFilter,
    SearchFilter,
    SegmentFilter,
    SortOpt,
    SourceFilter,
    StageFilter,
    StaleFilter,
    State,
    TagFilter,
    fmt_time,
    lead_filter,
    parse_fields,
    state,
)

LIST_COLUMNS_DOC = "id, name, company, phone, stage, owner, value, score, tags"


def lead_columns(st: State) -> list[Any]:
    from leadctl.render import Column

    return [
        Column("id", "ID", justify="right"),
        Column("name", "Name", max_width=28),
        Column("company", "Company", max_width=24),
        Column("phone", "Phone"),
        Column("stage", "Stage"),
        Column("owner", "Owner"),
        Column("value_display", "Value", justify="right"),
        Column("score", "Score", justify="right"),
        Column("tags", "Tags", max_width=20),
    ]


def lead_records(leads: list[Any], table: bool) -> list[dict[str, Any]]:
    """Each lead's JSON object; for a table, with its value as money too."""
    from leadctl.normalize import format_money

    out = []
    for lead in leads:
        d = lead.to_dict()
        if table:
            d["value_display"] = format_money(lead.value, lead.currency)
        out.append(d)
    return out


def cmd_add(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="The person's name.")] = None,
    email: Annotated[str | None, typer.Option(help="E-mail address (stored lower-case).")] = None,
    phone: Annotated[
        str | None, typer.Option(help="Phone; local numbers use the default region.")
    ] = None,
    company: Annotated[str | None, typer.Option(help="Company name.")] = None,
    source: Annotated[
        str | None, typer.Option(help="Where the lead came from, e.g. whatsapp, ads.")
    ] = None,
    campaign: Annotated[str | None, typer.Option(help="Campaign within the source.")] = None,
    product: Annotated[str | None, typer.Option(help="Product of interest.")] = None,
    segment: Annotated[str | None, typer.Option(help="Segment, e.g. retail, b2b.")] = None,
    city: Annotated[str | None, typer.Option(help="City.")] = None,
    value: Annotated[
        str | None, typer.Option(help="Deal value: 15000000, Rp 15.000.000, 1.5jt.")
    ] = None,
    currency: Annotated[
        str | None, typer.Option(help="Currency code (default: the database's).")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeatable).")] = None,
    owner: Annotated[str | None, typer.Option(help="Salesperson who owns the lead.")] = None,
    captured_by: Annotated[str | None, typer.Option(help="Who captured the lead.")] = None,
    external_id: Annotated[
        str | None, typer.Option(help="Id in another system (a duplicate key).")
    ] = None,
    note: Annotated[str | None, typer.Option(help="A first note, logged as an activity.")] = None,
    field: Annotated[
        list[str] | None, typer.Option("--field", help="Custom field NAME=VALUE (repeatable).")
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="Phone region for this number, e.g. ID, SG.")
    ] = None,
    expected_close: Annotated[
        str | None, typer.Option(help="Expected close date, e.g. 2026-12 or +30d.")
    ] = None,
    do_not_contact: Annotated[
        bool, typer.Option("--do-not-contact", help="Mark as do-not-contact.")
    ] = False,
    allow_duplicate: Annotated[
        bool, typer.Option(help="Add even if e-mail/phone/external id exists.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Give the lead to an --owner over capacity.")
    ] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Add a lead. Prints its id (the whole lead with --format json)."""
    from leadctl import leads
    from leadctl.render import emit_object

    st = state(ctx)
    data: dict[str, Any] = {
        "name": name, "email": email, "phone": phone, "company": company, "source": source,
        "campaign": campaign, "product": product, "segment": segment, "city": city,
        "value": value, "currency": currency, "owner": owner, "captured_by": captured_by,
        "external_id": external_id, "tags": tag or [], "fields": parse_fields(field),
        "do_not_contact": do_not_contact,
    }  # fmt: skip
    if expected_close:
        from leadctl.dates import parse_day

        _ = st.conn
        data["expected_close"] = parse_day(expected_close, st.now, st.tz).isoformat()
    lead = leads.add_lead(
        st.conn, data, now=st.now, actor=st.actor, allow_duplicate=allow_duplicate,
        note=note, region=region, force=force,
    )  # fmt: skip
    if fmt is Format.table:
        typer.echo(str(lead.id))
    else:
        emit_object(lead.to_dict(), fmt.value)


def cmd_list(
    ctx: typer.Context,
    stage: StageFilter = None,
    owner: OwnerFilter = None,
    tag: TagFilter = None,
    source: SourceFilter = None,
    product: ProductFilter = None,
    segment: SegmentFilter = None,
    city: CityFilter = None,
    search: SearchFilter = None,
    open_only: OpenFilter = False,
    qualified: QualifiedFilter = None,
    stale: StaleFilter = False,
    no_next_step: NoNextStepFilter = False,
    sort: SortOpt = None,
    limit: Annotated[int | None, typer.Option(help="At most this many leads.")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """List leads, filtered and sorted."""
    from leadctl import leads
    from leadctl.render import emit_records

    st = state(ctx)
    f = lead_filter(
        stage=stage,
        owner=owner,
        tag=tag,
        source=source,
        product=product,
        segment=segment,
        city=city,
        search=search,
        open_only=open_only,
        qualified=qualified,
        stale=stale,
        no_next_step=no_next_step,
    )
    if fmt is Format.csv:  # export's CSV: a spreadsheet's amounts, and it imports back
        import sys

        from leadctl.exporter import export_leads

        export_leads(st.existing_conn, f, "csv", sys.stdout, now=st.now, sort=sort, limit=limit)
        return
    found = leads.list_leads(st.existing_conn, f, now=st.now, sort=sort, limit=limit)
    rows = lead_records(found, table=fmt is Format.table)
    emit_records(rows, lead_columns(st), fmt.value, empty="No leads match.")


def cmd_show(
    ctx: typer.Context,
    lead_id: Annotated[int, typer.Argument(help="Lead id.", metavar="ID")],
    limit: Annotated[int | None, typer.Option(help="Show at most this many activities.")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Every field of a lead and its activity timeline, newest first."""
    from leadctl import activities, leads
    from leadctl.normalize import format_money
    from leadctl.render import Column, emit_object, key_value, message, table

    st = state(ctx)
    lead = leads.get_lead(st.existing_conn, lead_id)
    acts = activities.list_activities(st.conn, lead_id, limit=limit)
    if fmt is not Format.table:
        obj = lead.to_dict()
        obj["activities"] = [a.to_dict() for a in acts]
        emit_object(obj, fmt.value)
        return
    t = fmt_time(st)
    pairs: list[tuple[str, Any]] = [
        ("ID", lead.id), ("Name", lead.name), ("E-mail", lead.email), ("Phone", lead.phone),
        ("Company", lead.company), ("External id", lead.external_id), ("Source", lead.source),
        ("Campaign", lead.campaign), ("Product", lead.product), ("Segment", lead.segment),
        ("City", lead.city), ("Value", format_money(lead.value, lead.currency)),
        ("Stage", lead.stage), ("Owner", lead.owner), ("Captured by", lead.captured_by),
        ("Tags", lead.tags), ("Qualified", lead.qualified), ("Score", lead.score),
        ("Probability", None if lead.probability is None else f"{lead.probability:g}%"),
        ("Expected close", lead.expected_close), ("Lost reason", lead.lost_reason),
        ("Do not contact", lead.do_not_contact), ("Created", t(lead.created_at)),
        ("Updated", t(lead.updated_at)), ("In stage since", t(lead.stage_entered_at)),
        ("Closed", t(lead.closed_at) if lead.closed_at else None),
        ("Last touch", t(lead.last_touch_at) if lead.last_touch_at else None),
    ]  # fmt: skip
    pairs += [(f"field:{k}", v) for k, v in lead.fields.items()]
    key_value([(k, v) for k, v in pairs if v not in (None, "", [])])
    if not acts:
        message("No activities yet.")
        return
    rows = [
        {
            "id": a.id, "at": t(a.at), "kind": a.kind, "actor": a.actor,
            "what": describe_activity(a, lead.currency),
        }
        for a in acts
    ]  # fmt: skip
    typer.echo()
    table(
        rows,
        [Column("at", "When"), Column("kind", "Kind"), Column("actor", "By"),
         Column("what", "What", max_width=70)],
        title="Activity",
    )  # fmt: skip


def describe_activity(a: Any, currency: str) -> str:
    """One readable line for an activity in the timeline (a sale's amount is
    in the lead's `currency`)."""
    from leadctl.models import ACTIVITY_KINDS
    from leadctl.normalize import format_money

    d = a.data or {}
    parts: list[str] = []
    if a.kind == "stage_change":
        parts.append(f"{d.get('from')} → {d.get('to')}")
    elif a.kind == "assignment":
        parts.append(f"owner {d.get('from') or '-'} → {d.get('to') or '-'}")
        if d.get("rule"):
            parts.append(f"({d['rule']})")
    elif a.kind == "field_change":
        for k, (old, new) in (d.get("changes") or {}).items():
            parts.append(f"{k}: {old if old not in (None, '') else '-'} → {new}")
    elif a.kind == "created":
        parts.append(f"created in {d.get('stage')}")
    elif a.kind == "message_sent":
        parts.append(f"template {d.get('template')} via {d.get('channel')}")
    elif d and a.kind not in ("note", *ACTIVITY_KINDS):
        # Other system activities (qualification, import, follow-ups...): their data.
        parts.append(", ".join(f"{k}={v}" for k, v in d.items() if v not in (None, "", [], {})))
    if a.direction == "in":
        parts.append("(inbound)")
    if a.outcome:
        parts.append(f"[{a.outcome}]")
    if a.note:
        parts.append(a.note)
    if a.amount is not None:
        parts.append(f"amount {format_money(a.amount, currency)}")
    if a.product:
        parts.append(f"product {a.product}")
    if a.attachment:
        parts.append(f"attachment {a.attachment}")
    return " ".join(str(p) for p in parts)


def cmd_edit(
    ctx: typer.Context,
    lead_id: Annotated[int, typer.Argument(help="Lead id.", metavar="ID")],
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    email: Annotated[str | None, typer.Option(help="New e-mail ('' clears).")] = None,
    phone: Annotated[str | None, typer.Option(help="New phone ('' clears).")] = None,
    company: Annotated[str | None, typer.Option(help="New company ('' clears).")] = None,
    source: Annotated[str | None, typer.Option(help="New source ('' clears).")] = None,
    campaign: Annotated[str | None, typer.Option(help="New campaign ('' clears).")] = None,
    product: Annotated[str | None, typer.Option(help="New product ('' clears).")] = None,
    segment: Annotated[str | None, typer.Option(help="New segment ('' clears).")] = None,
    city: Annotated[str | None, typer.Option(help="New city ('' clears).")] = None,
    value: Annotated[str | None, typer.Option(help="Deal value ('' clears).")] = None,
    owner: Annotated[
        str | None, typer.Option(help="New owner (recorded as an assignment).")
    ] = None,
    captured_by: Annotated[
        str | None, typer.Option(help="Who captured the lead ('' clears).")
    ] = None,
    external_id: Annotated[
        str | None, typer.Option(help="Id in another system ('' clears).")
    ] = None,
    expected_close: Annotated[
        str | None, typer.Option(help="Expected close date, e.g. 2026-12.")
    ] = None,
    do_not_contact: Annotated[bool | None, typer.Option("--do-not-contact/--contact-ok")] = None,
    add_tag: Annotated[
        list[str] | None, typer.Option("--tag", "--add-tag", help="Add a tag (repeatable).")
    ] = None,
    remove_tag: Annotated[
        list[str] | None, typer.Option("--remove-tag", help="Remove a tag (repeatable).")
    ] = None,
    field: Annotated[
        list[str] | None, typer.Option("--field", help="Set custom field NAME=VALUE.")
    ] = None,
    unset_field: Annotated[
        list[str] | None, typer.Option("--unset-field", help="Remove a custom field.")
    ] = None,
    region: Annotated[str | None, typer.Option(help="Phone region for this number.")] = None,
    allow_duplicate: Annotated[
        bool, typer.Option(help="Allow an e-mail/phone another lead has.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Give the lead to an --owner over capacity.")
    ] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Change a lead's fields, tags and custom fields (each change is logged)."""
    from leadctl import leads
    from leadctl.render import emit_object, message

    st = state(ctx)
    given = {
        "name": name, "email": email, "phone": phone, "company": company, "source": source,
        "campaign": campaign, "product": product, "segment": segment, "city": city,
        "value": value, "owner": owner, "captured_by": captured_by, "external_id": external_id,
    }  # fmt: skip
    changes: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if do_not_contact is not None:
        changes["do_not_contact"] = do_not_contact
    if expected_close is not None:
        from leadctl.dates import parse_day

        _ = st.existing_conn
        changes["expected_close"] = (
            parse_day(expected_close, st.now, st.tz).isoformat() if expected_close else None
        )
    before = leads.get_lead(st.existing_conn, lead_id)
    lead = leads.edit_lead(
        st.conn, lead_id, changes, now=st.now, actor=st.actor, add_tags=add_tag,
        remove_tags=remove_tag, set_fields=parse_fields(field), unset_fields=unset_field,
        allow_duplicate=allow_duplicate, region=region, force=force,
    )  # fmt: skip
    if fmt is not Format.table:
        emit_object(lead.to_dict(), fmt.value)
    elif lead == before:
        message(f"Lead {lead_id}: nothing changed.")
    else:
        message(f"Lead {lead_id} updated.")


def cmd_delete(
    ctx: typer.Context,
    lead_id: Annotated[int, typer.Argument(help="Lead id.", metavar="ID")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a lead and its whole history (cannot be undone)."""
    import sys

    from leadctl import leads
    from leadctl.errors import UsageError
    from leadctl.render import message, safe_text

    st = state(ctx)
    lead = leads.get_lead(st.existing_conn, lead_id)
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(f"Deleting lead {lead_id} needs confirmation", "Add --yes.")
        label = safe_text(lead.name or lead.email or lead.phone or lead.external_id)
        typer.confirm(f"Delete lead {lead_id} ({label}) and its history?", abort=True)
    leads.delete_lead(st.conn, lead_id)
    message(f"Lead {lead_id} deleted.")


def cmd_merge(
    ctx: typer.Context,
    keep_id: Annotated[int, typer.Argument(help="The lead to keep.", metavar="KEEP")],
    other_id: Annotated[int, typer.Argument(help="Its duplicate, merged in.", metavar="OTHER")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what the merge would do; change nothing.")
    ] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Merge a duplicate lead into the lead to keep (cannot be undone).

    KEEP's empty fields are filled from OTHER (tags and custom fields
    united); OTHER's activities, follow-ups, sequence enrolments and the
    qualification answers KEEP lacks move to KEEP; then OTHER is deleted with
    its own stage history. KEEP's timeline records the merge.
    """
    import sys

    from leadctl import leads
    from leadctl.errors import UsageError
    from leadctl.merge import merge_leads
    from leadctl.render import emit_object, message, safe_text

    st = state(ctx)
    conn = st.existing_conn
    keep, other = leads.get_lead(conn, keep_id), leads.get_lead(conn, other_id)
    if not yes and not dry_run and keep_id != other_id:
        if not sys.stdin.isatty():
            raise UsageError(
                f"Merging lead {other_id} into {keep_id} needs confirmation", "Add --yes."
            )

        def label(lead: Any) -> str:
            return safe_text(lead.name or lead.email or lead.phone or lead.external_id)

        typer.confirm(
            f"Merge lead {other_id} ({label(other)}) into lead {keep_id} ({label(keep)})"
            f" and delete lead {other_id}?",
            abort=True,
        )
    out = merge_leads(conn, keep_id, other_id, now=st.now, actor=st.actor, dry_run=dry_run)
    if fmt is not Format.table:
        emit_object({**out, "dry_run": dry_run}, fmt.value)
        return
    moved = ", ".join(f"{n} {what}" for what, n in out["moved"].items() if n) or "nothing"
    filled = ", ".join(out["filled"]) or "nothing"
    verb = "Would merge" if dry_run else "Merged"
    message(f"{verb} lead {other_id} into lead {keep_id}: filled {filled}; moved {moved}.")


def register(app: typer.Typer) -> None:
    app.command("add")(cmd_add)
    app.command("list")(cmd_list)
    app.command("show")(cmd_show)
    app.command("edit", short_help="Change a lead's fields, tags and custom fields.")(cmd_edit)
    app.command("delete")(cmd_delete)
    app.command("merge", short_help="Merge a duplicate lead into the lead to keep.")(cmd_merge)
