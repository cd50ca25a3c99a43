"""Named, append-only schema migrations, applied on open.

Rules: never edit or reorder a migration that has shipped; add a new one at the
end and bump `leadctl.db.SCHEMA_VERSION` (a test checks the two agree). Every
migration is listed in CHANGELOG.md.

Importing this module imports sqlite_utils (~150 ms), so `leadctl.db` imports it
only when a database actually has pending migrations.
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("leadctl")


def _run(db: Database, statements: list[str]) -> None:
    # executescript() would COMMIT behind the migration's transaction, so each
    # statement goes through execute() inside the transaction Migrations opened.
    for sql in statements:
        db.execute(sql)


@migrations(name="0001_initial")
def m0001_initial(db: Database) -> None:
    _run(
        db,
        [
            # Key/value settings for this database: currency, default phone
            # region, time zone, scoring and urgency coefficients (JSON values).
            """CREATE TABLE settings (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL
            )""",
            # The pipeline. `kind` gives a stage its meaning for rules and reports
            # (open / won / lost / disqualified / inactive), so stages can be renamed.
            """CREATE TABLE stages (
                name TEXT PRIMARY KEY,
                position INTEGER NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('open','won','lost','disqualified','inactive')),
                probability INTEGER NOT NULL CHECK (probability BETWEEN 0 AND 100),
                rot_days INTEGER,
                requires_reason INTEGER NOT NULL DEFAULT 0
            )""",
            """CREATE TABLE team_members (
                handle TEXT PRIMARY KEY,
                name TEXT,
                email TEXT,
                phone TEXT,
                capacity INTEGER,
                capacity_window_days INTEGER,
                filters TEXT NOT NULL DEFAULT '{}',
                active INTEGER NOT NULL DEFAULT 1,
                rr_order INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )""",
            """CREATE TABLE imports (
                id INTEGER PRIMARY KEY,
                file_name TEXT,
                file_hash TEXT,
                status TEXT NOT NULL DEFAULT 'running',
                options TEXT NOT NULL DEFAULT '{}',
                last_line INTEGER NOT NULL DEFAULT 0,
                rows_read INTEGER NOT NULL DEFAULT 0,
                inserted INTEGER NOT NULL DEFAULT 0,
                updated INTEGER NOT NULL DEFAULT 0,
                skipped INTEGER NOT NULL DEFAULT 0,
                rejected INTEGER NOT NULL DEFAULT 0,
                started_at TEXT NOT NULL,
                finished_at TEXT
            )""",
            "CREATE INDEX idx_imports_hash ON imports(file_hash)",
            # Money is INTEGER minor units of `currency`; timestamps are
            # ISO-8601 UTC text ('YYYY-MM-DDTHH:MM:SSZ') so they sort as text.
            """CREATE TABLE leads (
                id INTEGER PRIMARY KEY,
                name TEXT,
                email TEXT,
                phone TEXT,
                external_id TEXT,
                company TEXT,
                source TEXT,
                campaign TEXT,
                product TEXT,
                segment TEXT,
                city TEXT,
                value INTEGER,
                currency TEXT NOT NULL,
                stage TEXT NOT NULL REFERENCES stages(name) ON UPDATE CASCADE,
                owner TEXT,
                captured_by TEXT,
                tags TEXT NOT NULL DEFAULT '[]',
                fields TEXT NOT NULL DEFAULT '{}',
                do_not_contact INTEGER NOT NULL DEFAULT 0,
                qualified INTEGER NOT NULL DEFAULT 0,
                score INTEGER,
                score_updated_at TEXT,
                probability_auto REAL,
                probability_manual REAL,
                expected_close TEXT,
                lost_reason TEXT,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                stage_entered_at TEXT NOT NULL,
                closed_at TEXT,
                last_touch_at TEXT,
                import_id INTEGER REFERENCES imports(id)
            )""",
            # Duplicate keys: looked up on every add and every imported row.
            "CREATE INDEX idx_leads_email ON leads(email) WHERE email IS NOT NULL",
            "CREATE INDEX idx_leads_phone ON leads(phone) WHERE phone IS NOT NULL",
            "CREATE INDEX idx_leads_external_id ON leads(external_id) WHERE external_id IS NOT NULL",
            "CREATE INDEX idx_leads_stage_owner ON leads(stage, owner)",
            "CREATE INDEX idx_leads_owner ON leads(owner)",
            "CREATE INDEX idx_leads_created ON leads(created_at)",
            "CREATE INDEX idx_leads_closed ON leads(closed_at) WHERE closed_at IS NOT NULL",
            # Append-only history: every call, message, stage change, edit,
            # assignment, import. Corrections are new rows, never updates.
            """CREATE TABLE activities (
                id INTEGER PRIMARY KEY,
                lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
                kind TEXT NOT NULL,
                at TEXT NOT NULL,
                actor TEXT,
                note TEXT,
                outcome TEXT,
                direction TEXT CHECK (direction IN ('in','out') OR direction IS NULL),
                attachment TEXT,
                amount INTEGER,
                product TEXT,
                data TEXT,
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX idx_activities_lead_at ON activities(lead_id, at)",
            "CREATE INDEX idx_activities_kind_at ON activities(kind, at)",
            "CREATE INDEX idx_activities_actor_at ON activities(actor, at)",
            # Stage history with durations stored when a stage is left, so
            # time-in-stage is a plain aggregate instead of a window over
            # millions of activity rows.
            """CREATE TABLE stage_history (
                id INTEGER PRIMARY KEY,
                lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
                stage TEXT NOT NULL,
                entered_at TEXT NOT NULL,
                left_at TEXT,
                seconds INTEGER,
                activity_id INTEGER REFERENCES activities(id)
            )""",
            "CREATE INDEX idx_stage_history_lead ON stage_history(lead_id, entered_at)",
            "CREATE INDEX idx_stage_history_stage ON stage_history(stage, entered_at)",
            """CREATE TABLE followups (
                id INTEGER PRIMARY KEY,
                lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
                due_at TEXT NOT NULL,
                kind TEXT NOT NULL DEFAULT 'call',
                note TEXT,
                owner TEXT,
                status TEXT NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open','done','cancelled')),
                enrollment_id INTEGER REFERENCES sequence_enrollments(id),
                step INTEGER,
                template TEXT,
                snoozed INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL,
                closed_at TEXT
            )""",
            "CREATE INDEX idx_followups_open_due ON followups(status, due_at)",
            "CREATE INDEX idx_followups_lead ON followups(lead_id, status)",
            # Qualification criteria (default BANT) and the latest answer per lead;
            # every answer is also an activity.
            """CREATE TABLE criteria (
                key TEXT PRIMARY KEY,
                label TEXT NOT NULL,
                type TEXT NOT NULL CHECK (type IN ('yesno','choice','number','date','text')),
                choices TEXT,
                required INTEGER NOT NULL DEFAULT 1,
                position INTEGER NOT NULL
            )""",
            """CREATE TABLE qualification_answers (
                lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
                criterion TEXT NOT NULL REFERENCES criteria(key) ON UPDATE CASCADE,
                value TEXT,
                answered_at TEXT NOT NULL,
                PRIMARY KEY (lead_id, criterion)
            )""",
            """CREATE TABLE score_rules (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                field TEXT NOT NULL,
                operator TEXT NOT NULL,
                value TEXT,
                points REAL NOT NULL,
                grp TEXT NOT NULL,
                active INTEGER NOT NULL DEFAULT 1
            )""",
            """CREATE TABLE score_groups (
                name TEXT PRIMARY KEY,
                cap REAL
            )""",
            """CREATE TABLE score_history (
                id INTEGER PRIMARY KEY,
                lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
                at TEXT NOT NULL,
                old_score INTEGER,
                new_score INTEGER
            )""",
            "CREATE INDEX idx_score_history_lead ON score_history(lead_id, at)",
            # Learned models (naive Bayes frequencies) as JSON, one row per model.
            """CREATE TABLE models (
                name TEXT PRIMARY KEY,
                trained_at TEXT NOT NULL,
                data TEXT NOT NULL
            )""",
            """CREATE TABLE templates (
                name TEXT PRIMARY KEY,
                channel TEXT NOT NULL DEFAULT 'any',
                subject TEXT,
                body TEXT NOT NULL,
                builtin INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )""",
            """CREATE TABLE sequences (
                name TEXT PRIMARY KEY,
                stop_on_reply INTEGER NOT NULL DEFAULT 1,
                created_at TEXT NOT NULL
            )""",
            """CREATE TABLE sequence_steps (
                sequence TEXT NOT NULL REFERENCES sequences(name)
                    ON DELETE CASCADE ON UPDATE CASCADE,
                position INTEGER NOT NULL,
                delay_days INTEGER NOT NULL,
                kind TEXT NOT NULL,
                template TEXT,
                note TEXT,
                PRIMARY KEY (sequence, position)
            )""",
            """CREATE TABLE sequence_enrollments (
                id INTEGER PRIMARY KEY,
                lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
                sequence TEXT NOT NULL REFERENCES sequences(name) ON UPDATE CASCADE,
                current_step INTEGER NOT NULL DEFAULT 0,
                status TEXT NOT NULL DEFAULT 'active'
                    CHECK (status IN ('active','completed','stopped')),
                stop_reason TEXT,
                enrolled_at TEXT NOT NULL,
                ended_at TEXT
            )""",
            "CREATE INDEX idx_enrollments_lead ON sequence_enrollments(lead_id, status)",
            """CREATE TABLE targets (
                id INTEGER PRIMARY KEY,
                period TEXT NOT NULL CHECK (period IN ('day','week','month','quarter','year')),
                metric TEXT NOT NULL,
                owner TEXT NOT NULL DEFAULT '',
                value INTEGER NOT NULL,
                created_at TEXT NOT NULL,
                UNIQUE (period, metric, owner)
            )""",
            """CREATE TABLE source_costs (
                source TEXT NOT NULL,
                month TEXT NOT NULL,
                amount INTEGER NOT NULL,
                PRIMARY KEY (source, month)
            )""",
        ],
    )


@migrations(name="0002_default_pipeline")
def m0002_default_pipeline(db: Database) -> None:
    # The default pipeline of DESIGN.md §2; the owner changes it with `leadctl stages`.
    stages: list[tuple[Any, ...]] = [
        ("new", 1, "open", 10, 3, 0),
        ("contacted", 2, "open", 20, 7, 0),
        ("nurturing", 3, "open", 20, 30, 0),
        ("qualified", 4, "open", 50, 14, 0),
        ("negotiation", 5, "open", 75, 10, 0),
        ("won", 6, "won", 100, None, 0),
        ("lost", 7, "lost", 0, None, 1),
        ("disqualified", 8, "disqualified", 0, None, 0),
        ("inactive", 9, "inactive", 0, None, 0),
    ]
    for row in stages:
        db.execute(
            "INSERT INTO stages (name, position, kind, probability, rot_days, requires_reason)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            list(row),
        )
    settings = {
        "currency": '"IDR"',
        "region": '"ID"',
        "timezone": "null",
    }
    for key, value in settings.items():
        db.execute("INSERT INTO settings (key, value) VALUES (?, ?)", [key, value])
    # BANT, the default qualification criteria (DESIGN.md §2).
    criteria: list[tuple[Any, ...]] = [
        ("budget", "Budget: can they pay?", "yesno", None, 1, 1),
        ("authority", "Authority: is this the decision maker?", "yesno", None, 1, 2),
        ("need", "Need: what problem do they need solved?", "text", None, 1, 3),
        ("timeline", "Timeline: when do they want to buy?", "date", None, 1, 4),
    ]
    for row in criteria:
        db.execute(
            "INSERT INTO criteria (key, label, type, choices, required, position)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            list(row),
        )


# The message templates that ship with leadctl (issue 5): the four of the
# source material in English, each with an Indonesian variant. Channel 'any'
# with a subject, so each works for WhatsApp and for e-mail. Kept here, frozen
# with the migration, and read again by `leadctl template reset`.
TEMPLATES_DEFAULTS: list[tuple[str, str, str]] = [
    (
        "product-intro",
        "Introducing {product}",
        "Hi {first_name},\n\n"
        "This is {owner_name}. Thank you for your interest in {product}! It is made "
        "for businesses like yours: simple to use, and our team is always happy to help.\n\n"
        "Shall I send you our price list and a few photos? Just reply to this message.\n\n"
        "Thank you and have a great day,\n"
        "{owner_name}",
    ),
    (
        "meeting-request",
        "Can we meet to talk about {product}?",
        "Hi {first_name},\n\n"
        "I hope business is going well at {company}. I would love to show you {product} "
        "in person; it only takes about 30 minutes. Would you have time this week, at your "
        "place or over a video call?\n\n"
        "Please let me know a day and time that suit you, or call me at {owner_phone}.\n\n"
        "Best regards,\n"
        "{owner_name}",
    ),
    (
        "thank-you",
        "Thank you, {first_name}!",
        "Hi {first_name},\n\n"
        "Thank you so much for choosing {product}. Your support means a lot to a small "
        "business like ours.\n\n"
        "If you have any questions or need a hand, message me anytime.\n\n"
        "Warm regards,\n"
        "{owner_name}",
    ),
    (
        "product-launch",
        "Something new for you, {first_name}",
        "Hi {first_name},\n\n"
        "Good news! We have just launched a new product, and because you chose {product}, "
        "we wanted you to be among the first to hear about it. This month there is a special "
        "launch price for our first customers.\n\n"
        "Would you like me to send you the details and photos? Just reply to this message.\n\n"
        "Cheers,\n"
        "{owner_name}",
    ),
    (
        "product-intro-id",
        "Perkenalan {product}",
        "Halo Kak {first_name},\n\n"
        "Salam kenal, saya {owner_name}. Terima kasih sudah tertarik dengan {product}. "
        "Produk ini kami buat untuk usaha seperti punya Kakak: mudah dipakai, dan tim kami "
        "siap membantu kapan saja.\n\n"
        "Boleh saya kirimkan daftar harga dan beberapa foto produknya? Cukup balas pesan ini ya.\n\n"
        "Terima kasih,\n"
        "{owner_name}",
    ),
    (
        "meeting-request-id",
        "Jadwal bertemu untuk {product}",
        "Halo Kak {first_name},\n\n"
        "Semoga usaha di {company} lancar selalu. Saya ingin menunjukkan {product} secara "
        "langsung, cukup sekitar 30 menit. Apakah Kakak ada waktu minggu ini, di tempat Kakak "
        "atau lewat video call?\n\n"
        "Silakan kabari hari dan jam yang cocok, atau hubungi saya di {owner_phone}.\n\n"
        "Salam,\n"
        "{owner_name}",
    ),
    (
        "thank-you-id",
        "Terima kasih, Kak {first_name}!",
        "Halo Kak {first_name},\n\n"
        "Terima kasih banyak sudah memilih {product}. Dukungan Kakak sangat berarti bagi "
        "usaha kecil kami.\n\n"
        "Kalau ada pertanyaan atau butuh bantuan, jangan ragu menghubungi saya kapan saja.\n\n"
        "Salam hangat,\n"
        "{owner_name}",
    ),
    (
        "product-launch-id",
        "Ada yang baru untuk Kak {first_name}",
        "Halo Kak {first_name},\n\n"
        "Ada kabar gembira! Kami baru saja meluncurkan produk baru, dan karena Kakak sudah "
        "memilih {product}, Kakak termasuk yang pertama kami kabari. Khusus bulan ini ada "
        "harga spesial peluncuran untuk pembeli pertama.\n\n"
        "Mau saya kirimkan detail dan fotonya? Balas saja pesan ini ya.\n\n"
        "Salam,\n"
        "{owner_name}",
    ),
]


@migrations(name="0003_templates_defaults")
def m0003_templates_defaults(db: Database) -> None:
    # created_at is when this database got them (a migration has no injected clock).
    for name, subject, body in TEMPLATES_DEFAULTS:
        db.execute(
            "INSERT INTO templates (name, channel, subject, body, builtin, created_at, updated_at)"
            " VALUES (?, 'any', ?, ?, 1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'),"
            " strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))"
            " ON CONFLICT(name) DO NOTHING",
            [name, subject, body],
        )


@migrations(name="0004_score_default_rules")
def m0004_score_default_rules(db: Database) -> None:
    # The default rule score (DESIGN.md §3): fit up to 60, engagement up to 40,
    # negative rules down to -50; the owner edits them with `leadctl score rules`.
    groups = [("fit", 60), ("engagement", 40), ("negative", 50)]
    for name, cap in groups:
        db.execute("INSERT INTO score_groups (name, cap) VALUES (?, ?)", [name, cap])
    rules: list[tuple[str, str, str, str | None, int, str]] = [
        # fit: a reachable, complete, qualified lead with a real deal
        ("has_email", "has:email", "eq", "yes", 5, "fit"),
        ("has_phone", "has:phone", "eq", "yes", 5, "fit"),
        ("has_company", "has:company", "eq", "yes", 5, "fit"),
        ("qualified", "qualified", "eq", "yes", 15, "fit"),
        ("budget_yes", "answer:budget", "eq", "yes", 5, "fit"),
        ("authority_yes", "answer:authority", "eq", "yes", 5, "fit"),
        ("need_known", "answer:need", "exists", None, 2, "fit"),
        ("timeline_known", "answer:timeline", "exists", None, 3, "fit"),
        ("deal_medium", "value", "between", "1000000..10000000", 4, "fit"),
        ("deal_large", "value", "gte", "10000000", 8, "fit"),
        ("source_referral", "source", "in", "referral,partner", 5, "fit"),
        # engagement: each activity counts, less as it ages
        ("calls", "activities:call", "each", None, 4, "engagement"),
        ("meetings", "activities:meeting", "each", None, 8, "engagement"),
        ("whatsapp", "activities:whatsapp", "each", None, 2, "engagement"),
        ("emails", "activities:email", "each", None, 2, "engagement"),
        ("inbound_replies", "activities:inbound", "each", None, 5, "engagement"),
        ("touched_this_week", "days_since_touch", "lte", "7", 5, "engagement"),
        # negative: cannot or should not be contacted, or gone quiet
        ("do_not_contact", "do_not_contact", "eq", "yes", -30, "negative"),
        ("no_contact_data", "has:contact", "eq", "no", -10, "negative"),
        ("invalid_contact", "tags", "contains", "invalid-contact", -20, "negative"),
        ("long_silence", "days_since_touch", "gt", "30", -10, "negative"),
    ]
    for rule in rules:
        db.execute(
            "INSERT INTO score_rules (name, field, operator, value, points, grp, active)"
            " VALUES (?, ?, ?, ?, ?, ?, 1)",
            list(rule),
        )


@migrations(name="0005_followups_db_identity")
def m0005_followups_db_identity(db: Database) -> None:
    # A random, permanent identity for this database: calendar events exported
    # with `followups --format ics` use it in their UIDs
    # (followup-<id>@<identity>.leadctl), so re-subscribing updates events
    # instead of duplicating them, and two databases never collide.
    import json
    import uuid

    db.execute(
        "INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)",
        ["db_identity", json.dumps(uuid.uuid4().hex)],
    )


@migrations(name="0006_reports_indexes")
def m0006_reports_indexes(db: Database) -> None:
    _run(
        db,
        [
            # Sales are a small slice of activities: the customers report
            # (lifetime value, repeat, upsell, cross-sell) walks this partial
            # index in lead order instead of every activity of kind 'sale' at
            # random through (kind, at) (measured 14 s -> 2.7 s on 5M rows).
            "CREATE INDEX idx_activities_sales ON activities(lead_id, at, amount, product)"
            " WHERE kind = 'sale'",
            # Covering indexes for the stage-history reports, replacing the two
            # narrower ones (each a prefix of its replacement, so every earlier
            # lookup still has its index): time in stage and churn read
            # (stage, entered_at, seconds, left_at, lead_id) without touching
            # the table; the funnel groups (lead_id, stage) the same way.
            "CREATE INDEX idx_stage_history_stage_time"
            " ON stage_history(stage, entered_at, seconds, left_at, lead_id)",
            "DROP INDEX idx_stage_history_stage",
            "CREATE INDEX idx_stage_history_lead_stage ON stage_history(lead_id, entered_at, stage)",
            "DROP INDEX idx_stage_history_lead",
            # Work done per person per kind in a period (activity and team
            # reports, the activities target) from the index alone.
            "CREATE INDEX idx_activities_kind_at_actor ON activities(kind, at, actor)",
            "DROP INDEX idx_activities_kind_at",
        ],
    )


@migrations(name="0007_activity_indexes_without_imports")
def m0007_activity_indexes_without_imports(db: Database) -> None:
    # Every imported lead carries an `import` activity: after a big import
    # they are most of the table, yet no report counts them (work done is
    # WORK_KINDS, by kind and by person). The per-kind and per-person indexes
    # leave them out: a 1M-row import writes 76 MB less and ~2 s faster.
    # A query must say `kind <> 'import'` to use them (reports.NOT_IMPORT).
    _run(
        db,
        [
            "DROP INDEX idx_activities_actor_at",
            "CREATE INDEX idx_activities_actor_at ON activities(actor, at) WHERE kind <> 'import'",
            "DROP INDEX idx_activities_kind_at_actor",
            "CREATE INDEX idx_activities_kind_at_actor ON activities(kind, at, actor)"
            " WHERE kind <> 'import'",
        ],
    )


@migrations(name="0008_import_keys")
def m0008_import_keys(db: Database) -> None:
    # The keys of an import's rows that matched a lead (a duplicate skipped,
    # a row merged or updated into it): a later row holding one of them is
    # the same person. Kept in the database, with the rows' own commits, so
    # an import resumed after a crash or Ctrl-C matches as the uninterrupted
    # one would; deleted when the import is done.
    _run(
        db,
        [
            "CREATE TABLE import_keys ("
            " import_id INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,"
            " key TEXT NOT NULL, value TEXT NOT NULL, lead_id INTEGER NOT NULL,"
            " PRIMARY KEY (import_id, key, value)) WITHOUT ROWID",
        ],
    )
