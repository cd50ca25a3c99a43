"""Normalisers for what people type and what CSV exports contain.

Each is idempotent (normalising a normalised value returns it unchanged) and
raises only ValidationError; Hypothesis tests hold them to that.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from leadctl.errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from decimal import Decimal

# ISO 4217 minor-unit exponents, with one deliberate exception: IDR is kept at
# 0 because sen are not used in practice, so an IDR value is whole rupiah.
CURRENCY_EXPONENTS = {
    "IDR": 0, "JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0,
    "USD": 2, "EUR": 2, "GBP": 2, "SGD": 2, "MYR": 2, "AUD": 2, "CAD": 2,
    "CHF": 2, "CNY": 2, "HKD": 2, "INR": 2, "NZD": 2, "PHP": 2, "THB": 2,
    "BHD": 3, "KWD": 3, "OMR": 3,
}  # fmt: skip
# What may mark an amount's currency (matched in lower case): a symbol, a
# dollar sign with its country's letters, or three letters, which are a mark
# when they are an ISO code or the database's own currency (_without_marks):
# 'mio' and 'mil' are multipliers, not codes.
_CURRENCY_MARKS = re.compile(
    r"rp\.?|€|£|¥|(?<![a-z])(?:us|s|a|hk|nz|ca)?\$|(?<![a-z])[a-z]{3}(?![a-z])"
)
# The currencies each symbol names. '$' alone is accepted for any currency
# that writes its amounts with a bare '$': every dollar and the pesos that use
# it (a '$' amount in a USD database and one in an SGD database are both
# fine; in an IDR or EUR database it is refused). A country's letters make it
# one currency: US$, S$ (Singapore), A$, HK$, NZ$, CA$.
_DOLLAR_SIGN = frozenset(
    "USD USN SGD AUD CAD HKD NZD TWD BBD BMD BND BSD BZD FJD GYD JMD KYD LRD NAD SBD SRD TTD "  # noqa: SIM905
    "XCD ZWL MXN ARS CLP COP CUP DOP UYU".split()
)
# mark -> (the currencies it names, its name in a message, the code a hint suggests)
_SYMBOLS: dict[str, tuple[frozenset[str], str, str]] = {
    "rp": (frozenset({"IDR"}), "IDR", "IDR"),
    "€": (frozenset({"EUR"}), "EUR", "EUR"),
    "£": (frozenset({"GBP"}), "GBP", "GBP"),
    "¥": (frozenset({"JPY", "CNY"}), "JPY or CNY", "JPY"),
    "$": (_DOLLAR_SIGN, "dollars", "USD"),
    "us$": (frozenset({"USD"}), "USD", "USD"),
    "s$": (frozenset({"SGD"}), "SGD", "SGD"),
    "a$": (frozenset({"AUD"}), "AUD", "AUD"),
    "hk$": (frozenset({"HKD"}), "HKD", "HKD"),
    "nz$": (frozenset({"NZD"}), "NZD", "NZD"),
    "ca$": (frozenset({"CAD"}), "CAD", "CAD"),
}
# Multipliers people write after an amount. A bare 'm' is refused: it means
# million in English but miliar (10^9) in Indonesian.
_MULTIPLIERS = {
    "k": 10**3, "rb": 10**3, "ribu": 10**3, "thousand": 10**3,
    "jt": 10**6, "juta": 10**6, "mio": 10**6, "mn": 10**6, "million": 10**6,
    "mil": 10**6,
    "miliar": 10**9, "milyar": 10**9, "bn": 10**9, "billion": 10**9, "b": 10**9,
}  # fmt: skip
_MONEY_RE = re.compile(r"^([0-9][0-9.,' ]*)\s*([a-z]*)$")
_EMAIL_LOCAL_RE = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_DOMAIN_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# A custom field's name: what `add/edit --field NAME=VALUE`, rules
# (`field:NAME`) and templates (`{field:NAME}`) take. Spaces inside are fine
# (an import keeps a column's header as its name: "Lead Profile"); no '='
# (it ends the name), no braces (they end a placeholder), no control
# characters, no space at either end; at most 200 characters.
FIELD_KEY_MAX = 200
FIELD_KEY_RE = re.compile(rf"^(?=\S)[^\x00-\x1f\x7f={{}}]{{1,{FIELD_KEY_MAX}}}(?<=\S)$")
_TRUE = {"yes", "y", "true", "t", "1", "ya", "iya", "on", "x", "✓"}
_FALSE = {"no", "n", "false", "f", "0", "tidak", "tdk", "ga", "gak", "off", ""}


# Longest free text a field may hold: far beyond any real name or note, short
# enough that a pasted file or a runaway script is refused, not stored.
MAX_TEXT = 10_000


def check_text(label: str, value: str, max_len: int = MAX_TEXT) -> str:
    """Refuse text SQLite or a person cannot use: NUL bytes, bytes that were
    not valid UTF-8 (lone surrogates from argv or a file), and huge values.
    The message names the field, never the value."""
    if "\x00" in value:
        raise ValidationError(f"The {label} contains a NUL byte", "Remove it and try again.")
    if len(value) > max_len:
        raise ValidationError(
            f"The {label} is longer than {max_len} characters", "Shorten it and try again."
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"The {label} is not valid UTF-8 text", "Re-type it or convert the file to UTF-8."
        ) from exc
    return value


def currency_exponent(currency: str) -> int:
    return CURRENCY_EXPONENTS.get(currency.upper(), 2)


# ISO 4217's active currency codes (without the metals, the bond-market units
# and the test codes).
ISO_CURRENCIES = frozenset(  # a table of codes reads better than 168 quoted strings
    """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV
BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK
DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL
HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT
LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR
MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND
TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD
XCG XOF XPF YER ZAR ZMW ZWG ZWL
""".split()  # noqa: SIM905
)


def normalize_currency(text: str, known: tuple[str, ...] = ()) -> str:
    """An ISO 4217 code, or one of `known` (a database's own currency, which an
    older version let be any three letters: HRK until 2023)."""
    code = text.strip().upper()
    if code not in ISO_CURRENCIES and code not in known:
        raise ValidationError(
            f"{text!r} is not a currency code", "Use a three-letter ISO code such as IDR or USD."
        )
    return code


def normalize_email(text: str) -> str:
    """Lower-case and validate an e-mail address."""
    email = text.strip().lower()
    if email.startswith("mailto:"):
        email = email[len("mailto:") :]

    # A function, not an instance kept in a local: the raised error's
    # traceback would hold this frame, and the frame the error (a cycle that
    # keeps every rejected row's caller alive until the collector runs).
    def bad() -> ValidationError:
        return ValidationError(
            f"{text.strip()!r} is not a valid e-mail address", "Example: budi@example.co.id"
        )

    if len(email) > 254 or email.count("@") != 1:
        raise bad()
    local, domain = email.split("@")
    if not local or len(local) > 64 or not _EMAIL_LOCAL_RE.match(local):
        raise bad()
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise bad()
    labels = domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL_RE.match(label) for label in labels):
        raise bad()
    tld = labels[-1]
    if not (tld.isalpha() and len(tld) >= 2) and not tld.startswith("xn--"):
        raise bad()
    return email


def normalize_phone(text: str, region: str = "ID") -> str:
    """Normalise a phone number to E.164 ('+6281234567890').

    Local numbers (0812-...) are read in `region`. Numbers that are not valid
    in their country's numbering plan are refused.
    """
    import phonenumbers

    raw = text.strip()

    def bad(shown: str = raw) -> ValidationError:  # see normalize_email
        return ValidationError(
            f"{shown!r} is not a valid phone number",
            f"Example: 0812-3456-7890 (read as region {region}) or +62 812 3456 7890.",
        )

    if not raw or len(raw) > 40:
        raise bad()
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        number = phonenumbers.parse(raw, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise bad() from exc
    if not phonenumbers.is_valid_number(number):
        raise bad()
    if number.extension:
        # E.164 has no extension: dropping it would lose how to reach the
        # person, and keeping it in the number would break wa.me links and
        # the duplicate check. Refused, saying where it can go.
        main = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        ext = number.extension
        raise ValidationError(
            f"{raw!r} has an extension ({ext}): leadctl stores phone numbers without one",
            f"Give the number alone ({main}) and keep the extension in a custom field,"
            f" e.g. phone_ext={ext}.",
        )
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def parse_money(text: str | int, currency: str = "IDR") -> int:
    """An amount as people type it -> integer minor units of `currency`.

    Accepted: 15000000, 15,000,000, 15.000.000, Rp 15.000.000, Rp15.000.000,00,
    $1,054.50, 1.5jt, 1,5 juta, 250rb, 15k, 2 miliar. A separator used more
    than once, or once followed by exactly three digits, groups thousands;
    otherwise it is the decimal mark. So 'Rp 7.500.000' is 7,500,000 and
    '1.5jt' is 1,500,000. Negative amounts are refused. A currency mark
    (Rp, $, €, USD, ...) must name `currency`: 'USD 10' is refused for IDR,
    never read as Rp 10.
    """
    # decimal is imported here, not at start-up: listing leads never needs it.
    from decimal import Decimal

    if isinstance(text, int) and not isinstance(text, bool):
        amount = Decimal(text)
        return _to_minor(amount, currency, str(text))
    raw = str(text)
    example = "Examples: 15000000, 15.000.000, Rp 15.000.000, 1.5jt, 250rb"

    def bad() -> ValidationError:  # see normalize_email
        return ValidationError(f"{raw.strip()!r} is not an amount of money", example)

    s = _without_marks(raw.strip(), currency).strip()
    if s.startswith("-") or s.startswith("("):
        raise ValidationError(f"{raw.strip()!r} is negative", "A deal value is 0 or more.")
    m = _MONEY_RE.match(s)
    if not m:
        raise bad()
    number, suffix = m.group(1).replace(" ", "").replace("'", ""), m.group(2)
    multiplier = 1
    if suffix:
        if suffix == "m":
            raise ValidationError(
                f"{raw.strip()!r} is ambiguous ('m' is million or miliar)",
                "Write 1.5jt or 1.5 million, or 2 miliar.",
            )
        if suffix not in _MULTIPLIERS:
            raise bad()
        multiplier = _MULTIPLIERS[suffix]
    digits = _decimal_from_grouped(
        number, has_multiplier=multiplier != 1, mils=CURRENCY_EXPONENTS.get(currency.upper()) == 3
    )
    if digits is None:
        raise bad()
    return _to_minor(digits * multiplier, currency, raw.strip())


def _without_marks(text: str, currency: str) -> str:
    """`text` in lower case, with its currency marks blanked out; a mark that
    names another currency than `currency` is refused."""
    code = currency.upper()

    def blank(m: re.Match[str]) -> str:
        mark = m.group()
        symbol = _SYMBOLS.get(mark.rstrip("."))
        if symbol is not None:
            allowed, name, other = symbol
        elif mark.upper() in ISO_CURRENCIES or mark.upper() == code:
            allowed, name, other = frozenset({mark.upper()}), mark.upper(), mark.upper()
        else:
            return mark  # three letters that are no currency: the parser decides
        if code not in allowed:
            raise ValidationError(
                f"{text!r} is in {name}, not {code}",
                f"Give the amount in {code}, or set the currency "
                f"(add --currency {other}; import: a Currency column or --currency).",
            )
        return " "

    return _CURRENCY_MARKS.sub(blank, text.lower().replace("\u00a0", " "))


def _decimal_from_grouped(number: str, *, has_multiplier: bool, mils: bool) -> Decimal | None:
    """mils: a three-decimal currency (KWD, BHD, OMR), where 'KWD 1.500' is
    one and a half dinars, so a lone '.' before three digits is decimal."""
    from decimal import Decimal, InvalidOperation

    if not number or not number[0].isdigit() or not number[-1].isdigit():
        return None
    dots, commas = number.count("."), number.count(",")
    if dots and commas:
        # Both marks: whichever comes last is the decimal mark.
        dec, group = (".", ",") if number.rfind(".") > number.rfind(",") else (",", ".")
        if number.count(dec) > 1:
            return None
        intpart, frac = number.split(dec)
        if not _grouped_ok(intpart, group):
            return None
        text = intpart.replace(group, "") + "." + frac
    elif dots or commas:
        mark = "." if dots else ","
        parts = number.split(mark)
        lone_decimal = has_multiplier or (mils and mark == ".")
        if len(parts) > 2 or (len(parts) == 2 and len(parts[1]) == 3 and not lone_decimal):
            if not _grouped_ok(number, mark):
                return None
            text = number.replace(mark, "")
        else:
            text = parts[0] + "." + parts[1]
    else:
        text = number
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _grouped_ok(number: str, group: str) -> bool:
    parts = number.split(group)
    if len(parts) == 1:
        return parts[0].isdigit()
    return (
        1 <= len(parts[0]) <= 3
        and parts[0].isdigit()
        and all(len(p) == 3 and p.isdigit() for p in parts[1:])
    )


def _to_minor(amount: Decimal, currency: str, shown: str) -> int:
    exponent = currency_exponent(currency)
    minor = amount.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise ValidationError(
            f"{shown!r} has more decimals than {currency.upper()} allows",
            f"{currency.upper()} amounts have {exponent} decimal places.",
        )
    if minor < 0:
        raise ValidationError(f"{shown!r} is negative", "A deal value is 0 or more.")
    if minor > MAX_MINOR:
        raise ValidationError(
            f"{shown!r} is too large",
            f"Amounts are at most {MAX_MINOR:,} in the currency's smallest unit.",
        )
    return int(minor)


# The largest amount (minor units): the sums the reports make over thousands
# of leads stay inside SQLite's 64-bit integers (9.2e18 / 1e15 = 9,223 leads
# at this value; 10 trillion rupiah or dollars each).
MAX_MINOR = 10**15 - 1


def format_money(minor: int | None, currency: str) -> str:
    """Integer minor units -> 'Rp 15.000.000' / 'USD 1,054.50' for people."""
    if minor is None:
        return ""
    exponent = currency_exponent(currency)
    code = currency.upper()
    if exponent == 0:
        whole = f"{minor:,}"
        if code == "IDR":
            return "Rp " + whole.replace(",", ".")
        return f"{code} {whole}"
    major, cents = divmod(minor, 10**exponent)
    return f"{code} {major:,}.{cents:0{exponent}d}"


def minor_to_major(minor: int, currency: str) -> Decimal:
    from decimal import Decimal

    return Decimal(minor).scaleb(-currency_exponent(currency))


def parse_tags(text: str | Sequence[str | None] | None) -> list[str]:
    """'hot; B2B, hot' -> ['hot', 'b2b']: lower-cased, de-duplicated, in order.
    A list's items are split the same way (--tag 'a;b' is two tags: the CSV
    export joins tags with ';')."""
    if text is None:
        return []
    if not isinstance(text, str):
        # A JSON list's null is no tag (str(None) would make it 'none').
        text = ";".join(str(item) for item in text if item is not None)
    items = re.split(r"[;,]", text)
    tags: list[str] = []
    for item in items:
        tag = tag_text(item)
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def tag_text(item: str) -> str:
    """One tag as stored (spaces collapsed, lower case), not split: a tag
    stored with ; or , before --tag items were split is still found whole."""
    return " ".join(str(item).split()).lower()


def parse_field(text: str) -> tuple[str, str]:
    """'birthday=1990-04-02' -> ('birthday', '1990-04-02')."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not FIELD_KEY_RE.match(key):
        raise ValidationError(
            f"{text!r} is not a field assignment",
            "Use NAME=VALUE, e.g. --field birthday=1990-04-02 (no = or braces in NAME).",
        )
    return key, value


def parse_bool(text: str) -> bool:
    """yes/no columns: yes, y, true, 1, ya / no, n, false, 0, tidak, empty."""
    s = text.strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValidationError(f"{text!r} is not yes or no", "Use yes/no, y/n, true/false or 1/0.")


def parse_probability(text: str | float) -> float:
    """'35' or '35%' -> 35.0: a percentage, 0-100."""
    s = str(text).strip().rstrip("%").strip()
    try:
        value = float(s)
    except ValueError as exc:
        raise ValidationError(
            f"{text!r} is not a probability", "Use 0-100, e.g. 35 or 35%."
        ) from exc
    if value != value or not 0 <= value <= 100:
        raise ValidationError(f"{text!r} is not between 0 and 100", "Use 0-100, e.g. 35 or 35%.")
    return value
