"""Recognise the column headers of CSV exports: which lead field a column holds.

Headers are compared case- and punctuation-insensitively ("E-mail Address",
"email_address" and "EMAIL ADDRESS" are the same), in English and Indonesian.
A header that is not recognised stays a custom field under its original text.
"""

from __future__ import annotations

import re
import unicodedata

# Fields an import can fill, besides custom fields. `first_name`/`last_name`
# are joined into `name`; `note` becomes a note activity.
TARGETS = (
    "name", "first_name", "last_name", "email", "phone", "external_id", "company",
    "source", "campaign", "product", "segment", "city", "value", "currency", "stage",
    "owner", "captured_by", "tags", "note", "created_at", "closed_at", "stage_entered_at",
    "last_touch_at", "lost_reason", "expected_close", "do_not_contact", "qualified",
    "probability_manual",
)  # fmt: skip

# field -> header spellings (already in key form: lower-case letters and digits).
ALIASES: dict[str, tuple[str, ...]] = {
    "name": (
        "name", "fullname", "nama", "namalengkap", "contactname", "customername",
        "leadname", "namapelanggan", "namakontak", "pelanggan", "customer", "yourname",
        "namaanda",
    ),
    "first_name": ("firstname", "givenname", "namadepan", "fname"),
    "last_name": ("lastname", "surname", "familyname", "namabelakang", "lname"),
    "email": (
        "email", "emailaddress", "mail", "emailid", "workemail", "surel", "alamatemail",
        "alamatsurel", "emails", "youremail",
    ),
    "phone": (
        "phone", "phonenumber", "phoneno", "telephone", "tel", "telp", "telepon", "telpon",
        "notelp", "notelepon", "nomortelepon", "nomortelp", "hp", "nohp", "nomorhp", "nohandphone",
        "handphone", "ponsel", "whatsapp", "wa", "nowa", "nomorwa", "nomorwhatsapp",
        "whatsappnumber", "mobile", "mobilephone", "mobilenumber", "cell", "cellphone",
        "contactnumber", "phonewhatsapp", "hpwa", "nohpwa",
    ),
    "external_id": ("externalid", "extid", "crmid", "sourceid", "recordid", "leadid"),
    "company": (
        "company", "companyname", "perusahaan", "namaperusahaan", "organization",
        "organisation", "organisasi", "business", "businessname", "usaha", "namausaha",
        "toko", "namatoko", "instansi", "employer",
    ),
    "source": ("source", "leadsource", "sumber", "sumberlead", "sumberprospek", "channel"),
    "campaign": ("campaign", "campaignname", "kampanye", "utmcampaign", "adcampaign"),
    "product": ("product", "produk", "productinterest", "interest", "minat", "layanan"),
    "segment": ("segment", "segmen", "customersegment"),
    "city": ("city", "kota", "kotakabupaten", "kabupatenkota", "town", "kabupaten"),
    "value": (
        "value", "dealvalue", "amount", "dealamount", "nilai", "nilaideal", "nilaiproyek",
        "nominal", "estimatedvalue", "potentialvalue", "dealsize", "opportunityvalue",
    ),
    "currency": ("currency", "matauang", "currencycode"),
    "stage": ("stage", "dealstage", "pipelinestage", "leadstage", "tahap", "tahapan"),
    "owner": (
        "owner", "leadowner", "dealowner", "salesperson", "salesrep", "assignedto",
        "salesagent", "pemilik", "pic", "penanggungjawab",
    ),
    "captured_by": ("capturedby", "createdby", "inputby", "diinputoleh"),
    "tags": ("tags", "tag", "labels", "label"),
    "note": (
        "note", "notes", "catatan", "keterangan", "comment", "comments", "remarks",
        "message", "pesan",
    ),
    "created_at": (
        "createdat", "created", "createddate", "datecreated", "createdtime", "createdon",
        "tanggal", "tanggaldibuat", "tanggalmasuk", "timestamp", "submittedat", "submitdate",
        "date",
    ),
    "closed_at": ("closedat", "closedate", "closeddate", "tanggalclosing", "tanggaltutup"),
    "stage_entered_at": ("stageenteredat",),
    "last_touch_at": ("lasttouchat", "lastcontacted", "lastcontact", "lastactivitydate"),
    "lost_reason": ("lostreason", "reasonlost", "alasankalah", "alasangagal"),
    "expected_close": ("expectedclose", "expectedclosedate", "targetclosing"),
    "do_not_contact": ("donotcontact", "dnc", "optout", "jangandihubungi"),
    "qualified": ("qualified", "terkualifikasi"),
    "probability_manual": ("probabilitymanual",),
}  # fmt: skip

_BY_KEY: dict[str, str] = {alias: f for f, names in ALIASES.items() for alias in names}
_NON_ALNUM = re.compile(r"[\W_]+", re.UNICODE)

# Columns of a leadctl export that are computed, not data: they are dropped
# when such a file is imported again (recognised by its `stage_kind` column).
EXPORT_COMPUTED = frozenset(
    {"id", "stage_kind", "score", "probability", "probability_auto", "updated_at", "import_id"}
)
# Columns our own rejects file adds; a fixed rejects file imports without them.
REJECT_COLUMNS = ("reject_line", "reject_reason")
FIELD_PREFIX = "field:"


def header_key(header: str) -> str:
    """'E-mail Address ' -> 'emailaddress' (case, accents, punctuation ignored)."""
    text = unicodedata.normalize("NFKD", header)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NON_ALNUM.sub("", text.casefold())


def recognise(header: str) -> str | None:
    """The lead field a header names, or None (then it is a custom field)."""
    if header.startswith(FIELD_PREFIX):
        return None
    key = header_key(header)
    if key in _BY_KEY:
        return _BY_KEY[key]
    # "No. HP / WA", "Nomor HP (WhatsApp)": a phone header decorated with the app.
    for prefix in ("no", "nomor"):
        if key.startswith(prefix) and key[len(prefix) :] in _BY_KEY:
            return _BY_KEY[key[len(prefix) :]]
    return None


def unique_headers(headers: list[str]) -> list[str]:
    """Blank headers get 'column N'; repeated ones get ' (2)', ' (3)', ..."""
    out: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(headers, start=1):
        h = raw.strip() or f"column {i}"
        base, n = h, 1
        while h in seen:
            n += 1
            h = f"{base} ({n})"
        seen.add(h)
        out.append(h)
    return out
