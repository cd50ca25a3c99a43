"""Fast paths for the values of a million-row import, agreeing exactly with `normalize`.

Each function handles the common shapes itself and hands everything else to
the `leadctl.normalize` function `add` uses, so import and `add` store the same
value (tests/test_import_values.py holds the fast paths to that with
Hypothesis). Why: phonenumbers.parse costs ~50 µs a number and dateutil
~180 µs a date, which alone would take minutes on a million rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

from leadctl import normalize
from leadctl.errors import ValidationError

UTC = timezone.utc


class LinePattern:
    """A pattern matched in full against each text of a column, in one pass.

    `misfits` joins the column with line breaks and finds the lines the
    pattern does not match with one MULTILINE search: a C-level scan instead
    of a fullmatch call per text (measured on 300k cells: phones 1.6 ->
    0.2 µs a cell; e-mails, lower-cased on the way, 2.9 -> 0.9). The pattern
    must not match a line break; a column whose cells hold one is tested a
    text at a time.
    """

    def __init__(self, pattern: str) -> None:
        self.one = re.compile(pattern)
        self._lines = re.compile(rf"^(?!(?:{pattern})?$)", re.MULTILINE)

    def fullmatch(self, text: str) -> bool:
        return self.one.fullmatch(text) is not None

    def misfits(self, texts: list[str], joined: str | None = None) -> list[int]:
        """The indexes of the non-empty texts the pattern does not match in
        full, in order (`joined`: "\\n".join(texts), when the caller has it)."""
        if joined is None:
            joined = "\n".join(texts)
        if joined.count("\n") != len(texts) - 1:
            match = self.one.fullmatch
            return [k for k, t in enumerate(texts) if t and match(t) is None]
        out = []
        line = at = 0
        for m in self._lines.finditer(joined):
            line += joined.count("\n", at, m.start())
            at = m.start()
            out.append(line)
        return out


# A strict subset of what normalize_email accepts: if this matches the
# lower-cased text, normalize_email would return that same text (the
# lookaheads: at most 64 characters before the "@" and 254 in all).
EMAIL_FAST = LinePattern(
    r"(?=[^@\n]{1,64}@)(?=[^\n]{1,254}$)"
    r"[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)
_PHONE_FAST = LinePattern(r"\+?[0-9][0-9 ().-]{5,30}")
_ANY = re.compile("")
_NEVER = re.compile("(?!)")


def _digits(text: str) -> str:
    """text without the separators ' ().-' (str.translate takes ~1 us a number)."""
    return text.replace(" ", "").replace("-", "").replace(".", "").replace("(", "").replace(")", "")


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_STORED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_ISO_LOCAL = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?")
# A spreadsheet's day: D/M/YYYY or M/D/YYYY, maybe with HH:MM[:SS].
_SLASH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?: (\d{2}:\d{2}(?::\d{2})?))?", re.ASCII)


def email(text: str) -> str:
    s = text.strip().lower()
    if EMAIL_FAST.fullmatch(s):
        return s
    return normalize.normalize_email(text)


class PhoneNormalizer:
    """normalize_phone with a fast path for '+CC...' and trunk-'0' national numbers.

    The fast path only skips phonenumbers.parse (the slow part), never the
    validity check: it builds the PhoneNumber from the digits and asks
    phonenumbers.is_valid_number. It applies only where parse would do exactly
    the same split: regions whose national prefix is a plain '0' (no carrier
    codes or transform rules) and national numbers not starting with 0.
    Anything else, and every number the fast path finds invalid, goes through
    normalize_phone, which decides.
    """

    def __init__(self, region: str) -> None:
        import phonenumbers
        from phonenumbers import PhoneMetadata

        self.region = region.upper()
        self._pn = phonenumbers
        self._codes = phonenumbers.COUNTRY_CODE_TO_REGION_CODE
        self._simple: dict[int, bool] = {}
        self._codes_by_prefix: dict[str, tuple[int | None, int]] = {}
        self._rx: dict[int, list[str] | None] = {}  # calling code -> its regions (_valid)
        self._region_checks: dict[tuple[str, int], tuple[Any, Any, Any]] = {}
        md = PhoneMetadata.metadata_for_region(self.region)
        # The trunk-'0' path needs a region whose national prefix IS '0' (SG has
        # none: there a leading 0 is part of the number).
        trunk = md is not None and self._is_simple(md) and md.national_prefix == "0"
        self.region_cc = md.country_code if trunk and md is not None else None
        # Digits that start with the region's calling code but no '+'
        # ('6281234567890' read as ID): parse takes the code off when the
        # whole is not a national number and the rest is, or the whole is too
        # long. The same test, with phonenumbers' own helpers.
        self._region_md = md if trunk else None
        self._idd = (
            re.compile(md.international_prefix)
            if trunk and md and md.international_prefix
            else None
        )
        self._npp: dict[int, Any] = {}  # calling code -> prefix pattern, or False
        self._region: Any = None  # see _region_rx: not built yet
        self._region_mark = ""

    @staticmethod
    def _is_simple(md: Any) -> bool:
        return (
            md.national_prefix_for_parsing in (None, "0")
            and md.national_prefix_transform_rule is None
            and md.national_prefix in (None, "0")
        )

    def _strips_prefix(self, cc: int, national: str) -> bool:
        """Whether parse would try to strip a national prefix off `national`
        (a '+CC' number: parse uses the metadata of the code's main region)."""
        rx = self._npp.get(cc)
        if rx is None:
            regions = self._codes.get(cc, ())
            md = (
                self._pn.PhoneMetadata.metadata_for_region_or_calling_code(cc, regions[0])
                if regions
                else None
            )
            npp = md.national_prefix_for_parsing if md is not None else None
            # No metadata: an empty pattern "always strips", i.e. the slow path.
            rx = re.compile(npp or "") if npp or md is None else None
            self._npp[cc] = rx if rx is not None else False
        return rx is not None and rx is not False and rx.match(national) is not None

    def _code_from_digits(self, digits: str) -> str | None:
        """The national number parse finds in '62...' digits typed without '+'
        (region ID), or None where parse would not take the code off."""
        md = self._region_md
        code = str(self.region_cc)
        if md is None or not digits.startswith(code) or (self._idd and self._idd.match(digits)):
            return None
        from phonenumbers.phonenumberutil import (
            ValidationResult,
            _match_national_number,
            _test_number_length,
        )

        national = digits[len(code) :]
        if not national or national[0] == "0":
            return None  # parse would strip the trunk 0 too: leave it to parse
        general = md.general_desc
        if (
            not _match_national_number(digits, general, False)
            and _match_national_number(national, general, False)
        ) or _test_number_length(digits, md) == ValidationResult.TOO_LONG:
            return national
        return None

    def _simple_cc(self, cc: int) -> bool:
        ok = self._simple.get(cc)
        if ok is None:
            regions = self._codes.get(cc, ())
            mds = [self._pn.PhoneMetadata.metadata_for_region(r) for r in regions]
            ok = bool(mds) and all(md is not None and self._is_simple(md) for md in mds)
            self._simple[cc] = ok
        return ok

    def _valid(self, cc: int, national: str) -> bool:
        """phonenumbers.is_valid_number, with its per-type patterns combined.

        is_valid_number picks the number's region, then asks whether the
        number is of a known type there: it matches the region's general
        description and at least one number-type description (premium rate,
        ..., fixed line, mobile), where a description matches if the length
        is one of its possible lengths (when it lists any) and its pattern
        matches in full. A calling code with one region is that region; for
        a shared one (+1, +7, +44, ...) the region is the first, in the
        code's order, whose leading digits start the number or, when it
        lists none, where the number is of a known type. The same tests, with
        one compiled alternation per (region, length): ~1 µs instead of ~20
        (~30 for a +1 number).
        """
        if cc in self._rx:
            regions = self._rx[cc]
        else:
            regions = self._rx[cc] = self._regions(cc)
        if regions is None:
            number = self._pn.PhoneNumber(country_code=cc, national_number=int(national))
            return bool(self._pn.is_valid_number(number))
        length = len(national)
        for region in regions:
            check = self._region_checks.get((region, length))
            if check is None:
                check = self._check(region, length, len(regions) == 1)
                self._region_checks[region, length] = check
            leading, general, types = check
            if leading is not None and leading.match(national) is None:
                continue  # another region's number
            known = (
                general is not None
                and types is not None
                and general.fullmatch(national) is not None
                and types.fullmatch(national) is not None
            )
            if known or leading is not None:
                return known
        return False

    def _regions(self, cc: int) -> list[str] | None:
        """For `_valid`: the regions of a calling code, in phonenumbers' order,
        or None: ask phonenumbers."""
        regions = self._codes.get(cc, ())
        if not regions or "001" in regions:
            return None
        if len(regions) == 1 and self._pn.PhoneMetadata.metadata_for_region(regions[0]) is None:
            return None
        return list(regions)

    def _check(self, region: str, length: int, alone: bool) -> tuple[Any, Any, Any]:
        """For `_valid`, built when a number first reaches the region (a +1
        number is most often a US one: the other 24 regions' patterns are
        then never compiled): (leading digits, general, types) of its
        numbers of `length` digits. Leading digits: a pattern, or None where
        the region lists none; the region of a code alone is the code's
        whatever the digits (a pattern matching anything); a region without
        metadata is skipped (a pattern matching nothing), as phonenumbers
        skips it."""
        md = self._pn.PhoneMetadata.metadata_for_region(region)
        if md is None:
            return _NEVER, None, None
        leading: re.Pattern[str] | None
        if alone:
            leading = _ANY
        else:
            leading = re.compile(md.leading_digits) if md.leading_digits is not None else None
        return (leading, *self._patterns(md, length))

    @staticmethod
    def _patterns(md: Any, length: int) -> tuple[Any, Any]:
        """(general description, the number types as one alternation) of a
        region's numbers of `length` digits: compiled, or None."""

        def pattern(desc: Any) -> str | None:
            if desc is None or not desc.national_number_pattern:
                return None
            if desc.possible_length and length not in desc.possible_length:
                return None
            return str(desc.national_number_pattern)

        general = pattern(md.general_desc)
        # Mobile first: the alternation matches the same numbers in any
        # order, and most numbers in a lead list are mobile numbers.
        descs = [] if md.same_mobile_and_fixed_line_pattern else [md.mobile]
        descs += [
            md.fixed_line, md.premium_rate, md.toll_free, md.shared_cost, md.voip,
            md.personal_number, md.pager, md.uan, md.voicemail,
        ]  # fmt: skip
        pats = [p for p in map(pattern, descs) if p]
        return (
            re.compile(general) if general else None,
            re.compile("|".join(f"(?:{p})" for p in pats)) if pats else None,
        )

    def __call__(self, text: str) -> str:
        s = text.strip()
        if _PHONE_FAST.fullmatch(s):
            digits = _digits(s)
            cc = national = None
            if digits.startswith("+"):
                d = digits[1:]
                # No calling code starts with 0 ('+020...' is not Egypt's 20).
                for n in (1, 2, 3) if d[:1] != "0" else ():
                    if int(d[:n]) in self._codes:
                        cc, national = int(d[:n]), d[n:]
                        break
                if cc is not None and national and self._strips_prefix(cc, national):
                    cc = None
            elif digits.startswith("0") and self.region_cc is not None and "+" not in digits:
                cc, national = self.region_cc, digits[1:]
            elif self.region_cc is not None and "+" not in digits:
                national = self._code_from_digits(digits)
                if national is not None:
                    cc = self.region_cc
            if (
                cc is not None
                and national
                and national.isascii()
                and national.isdigit()
                and national[0] != "0"
                and 2 <= len(national) <= 17
            ) and self._valid(cc, national):
                return f"+{cc}{national}"
        return normalize.normalize_phone(text, self.region)

    def many(self, texts: list[str]) -> list[str | None]:
        """[self(t) for t in texts] for stripped texts, with "" for "" and None
        where self(t) raises: a column at a time.

        The region's own numbers ('0812...' and '+62 812...') are checked in
        one regular-expression pass over the joined column (`_region_rx`, the
        same test as `_valid`); the other '+CC' numbers are split with the
        same rules one at a time; every other text, and every number found
        invalid, goes through `self` (which decides, as for one value).
        """
        joined = "\n".join(texts)
        matched = [True] * len(texts)
        for k in _PHONE_FAST.misfits(texts, joined):
            matched[k] = False
        out: list[str | None] = [None] * len(texts)
        region = self._region_rx()
        if region is not None and joined.count("\n") == len(texts) - 1:
            marked = region.sub(self._region_mark, _digits(joined)).split("\n")
            out = [
                s[1:] if m and s[:1] == "\x02" else (None if t else "")
                for s, m, t in zip(marked, matched, texts, strict=True)
            ]  # fmt: skip
        region_cc = self.region_cc
        codes = self._codes_by_prefix
        valid = self._valid
        for k in [k for k, v in enumerate(out) if v is None]:
            text = texts[k]
            d = _digits(text) if matched[k] else ""
            cc = None
            if d[:1] == "0":
                if region_cc is not None:
                    cc, national = region_cc, d[1:]
            elif d[:1] == "+":
                hit = codes.get(d[1:4])
                if hit is None:
                    hit = self._code_of(d[1:4])
                cc, n = hit
                national = d[1 + n :]
                if cc is not None and national and self._strips_prefix(cc, national):
                    cc = None
            if (
                cc is not None
                and 2 <= len(national) <= 17
                and national[0] != "0"
                and valid(cc, national)
            ):
                out[k] = f"+{cc}{national}"
            elif not text:
                out[k] = ""
            else:
                try:
                    out[k] = self(text)
                except ValidationError:
                    out[k] = None
        return out

    def _region_rx(self) -> Any:
        """A MULTILINE pattern over lines of digits whose match is the prefix
        of a line that `self` would store as '+CC' + the rest (CC the
        region's code): '0', '+CC', or 'CC' typed without '+' where
        `_code_from_digits` takes it off. `many` replaces the prefix with
        `_region_mark`. The same tests as `_valid` (for every length at once)
        and `_code_from_digits`. None where that cannot hold: no trunk-'0'
        region, a code shared by several regions or not prefix-free."""
        if self._region is not None:
            return self._region or None
        self._region = False
        cc, md = self.region_cc, self._region_md
        if (
            cc is None
            or md is None
            or any(self._code_of(f"{cc}{x}"[:3]) != (cc, len(str(cc))) for x in range(10))
        ):
            return None
        alts = []
        regions = self._regions(cc)
        if regions is None or len(regions) != 1:
            return None
        for length in range(2, 18):
            _, general, types = self._check(regions[0], length, True)
            if general is not None and types is not None:
                alts.append(f"(?=[0-9]{{{length}}}$)(?=(?:{general.pattern})$)(?:{types.pattern})$")
        if not alts:
            return None
        prefixes = ["0", rf"\+{cc}"]
        bare = self._bare_code(cc, md)
        if bare:
            prefixes.append(bare)
        # Only the prefix is replaced, and by a plain text: a group reference
        # in the replacement costs ~2 us a match in Python 3.11.
        self._region = re.compile(rf"(?m)^(?:{'|'.join(prefixes)})(?=[1-9])(?={'|'.join(alts)})")
        self._region_mark = f"\x02+{cc}"
        return self._region

    def _bare_code(self, cc: int, md: Any) -> str | None:
        """`_code_from_digits` as a pattern: the code at the start of digits
        (no '+', no international prefix) when the whole is not a national
        number and the rest is, or the whole is too long."""
        general = md.general_desc
        pattern = general.national_number_pattern if general is not None else None
        lengths = list(general.possible_length) if general is not None else []
        if not pattern or not lengths or lengths[0] == -1:
            return None
        local = [n for n in general.possible_length_local_only if n > lengths[-1]]
        too_long = f"(?=[0-9]{{{lengths[-1] + 1},}}$)" + "".join(
            f"(?![0-9]{{{n}}}$)" for n in local
        )
        idd = f"(?!{md.international_prefix})" if md.international_prefix else ""
        return rf"{idd}(?:(?!(?:{pattern})$)(?={cc}(?:{pattern})$)|{too_long}){cc}"

    def _code_of(self, head: str) -> tuple[int | None, int]:
        """The calling code `__call__` finds at the start of '+' digits (by
        their first three): (code, its length), or (None, 0)."""
        hit: tuple[int | None, int] = (None, 0)
        for n in (1, 2, 3) if head[:1] != "0" else ():  # no code starts with 0
            if head[:n] and int(head[:n]) in self._codes:
                hit = (int(head[:n]), n)
                break
        self._codes_by_prefix[head] = hit
        return hit


class _Failed:
    __slots__ = ("hint", "message")

    def __init__(self, message: str, hint: str | None) -> None:
        self.message = message
        self.hint = hint


class Memo:
    """A bounded memo for values that repeat a lot in a file (dates, amounts)."""

    def __init__(self, fn: Callable[..., Any], size: int = 10_000) -> None:
        self.fn = fn
        self.size = size
        self.cache: dict[Any, Any] = {}

    def __call__(self, *key: Any) -> Any:
        try:
            hit = self.cache[key]
        except KeyError:
            try:
                hit = self.fn(*key)
            except ValidationError as exc:
                hit = _Failed(exc.message, exc.hint)
            if len(self.cache) >= self.size:
                self.cache.clear()
            self.cache[key] = hit
        if isinstance(hit, _Failed):
            # A fresh exception each time: re-raising one instance would grow
            # its traceback with every bad row.
            raise ValidationError(hit.message, hit.hint)
        return hit


def money(text: str, currency: str) -> int:
    s = text.strip()
    if s.isascii() and s.isdigit() and len(s) <= 15:
        minor = int(s) * int(10 ** normalize.currency_exponent(currency))
        if minor <= normalize.MAX_MINOR:
            return minor
    return normalize.parse_money(text, currency)  # (which refuses a larger one)


class LocalTimes:
    """'YYYY-MM-DD HH:MM[:SS]' (or T for the space) read in zone `tz`, and our
    stored 'YYYY-MM-DDTHH:MM:SSZ', -> stored UTC text, by slicing and integer
    arithmetic: ~1.2 us a value in UTC, ~3 in another zone, against 3.7-5.9
    for fromisoformat, replace and astimezone, and without the memo's miss
    (a million-row file of timestamps has ~100k distinct ones).

    A day's UTC offset is looked up once (memo) and used only where it is the
    same at 00:00, 12:00 and 23:59:59 local time; a day with a DST change, an
    impossible date or time, or any other shape gives None: the caller's
    general path decides (tests/test_import_core.py holds the two equal).
    """

    _SHAPE = re.compile(r"(\d{4}-\d{2}-\d{2})([T ])(\d{2}):(\d{2})(?::(\d{2}))?(Z?)", re.ASCII)

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        # day -> (offset in seconds or None, the day before, the day after);
        # None for a text that is no date.
        self.days: dict[str, tuple[int | None, str, str] | None] = {}

    def _day(self, day: str) -> tuple[int | None, str, str] | None:
        try:
            d = date.fromisoformat(day)
            before = (d - timedelta(days=1)).isoformat()
            after = (d + timedelta(days=1)).isoformat()
            offsets = {
                datetime.combine(d, t, self.tz).utcoffset()
                for t in (time(0), time(12), time(23, 59, 59))
            }
        except (ValueError, OverflowError):
            return None
        found = offsets.pop() if len(offsets) == 1 else None
        return (None if found is None else int(found.total_seconds()), before, after)

    def __call__(self, s: str) -> str | None:
        m = self._SHAPE.fullmatch(s)
        if m is None:
            return None
        day, sep, hh, mm, ss, zulu = m.groups()
        if day not in self.days:
            if len(self.days) >= 10_000:
                self.days.clear()
            self.days[day] = self._day(day)
        info = self.days[day]
        if info is None or hh > "23" or mm > "59" or (ss is not None and ss > "59"):
            return None
        if zulu:
            # Our stored form exactly (T and seconds); other shapes with Z go
            # the general way.
            return s if sep == "T" and ss is not None else None
        offset, before, after = info
        if offset is None:
            return None
        if offset == 0:
            return f"{day}T{hh}:{mm}:{ss or '00'}Z"
        if offset % 60 == 0:
            t = int(hh) * 60 + int(mm) - offset // 60
            if t < 0:
                day, t = before, t + 1440
            elif t >= 1440:
                day, t = after, t - 1440
            return f"{day}T{_HH_MM[t]}:{ss or '00'}Z"
        t = int(hh) * 3600 + int(mm) * 60 + int(ss or 0) - offset
        if t < 0:
            day, t = before, t + 86_400
        elif t >= 86_400:
            day, t = after, t - 86_400
        return f"{day}T{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}Z"


_HH_MM = [f"{h:02d}:{m:02d}" for h in range(24) for m in range(60)]


def make_date_parser(now: datetime, tz: tzinfo, dayfirst: bool) -> Callable[[str], str]:
    """text -> stored UTC text; ISO dates and our stored format without dateutil."""
    from leadctl.dates import MAX_YEAR, MIN_YEAR, parse_when, to_store

    local_times = LocalTimes(tz)

    def fast(s: str) -> str | None:
        hit = local_times(s)
        if hit is not None:
            return hit
        if _STORED.fullmatch(s):
            try:
                datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")  # validates the calendar
            except ValueError:
                return None
            return s
        if _ISO_DAY.fullmatch(s):
            # parse_when's ISO path: a bad calendar date is an error there too.
            return to_store(datetime.combine(date.fromisoformat(s), time(0), tz))
        if _ISO_LOCAL.fullmatch(s):
            # parse_when's ISO path for a time without a zone.
            try:
                local = datetime.fromisoformat(s)
            except ValueError:
                return None
            return to_store(local.replace(tzinfo=tz))
        slash = _SLASH_DATE.fullmatch(s)
        if slash is not None:
            return slash_date(*slash.groups())
        return None

    def slash_date(first: str, second: str, year: str, clock: str | None) -> str | None:
        """dateutil's reading of two numbers and a four-digit year
        (dateutil.parser._ymd.resolve_ymd): the first is the day when it is
        over 12, or with --dayfirst when the second is 12 or less; else the
        month. ~2 µs instead of ~180 (an export with a time in every cell
        would take dateutil minutes). None (dateutil decides) for a number
        out of 1-31 or a day not in the calendar."""
        a, b = int(first), int(second)
        if not (1 <= a <= 31 and 1 <= b <= 31):
            return None
        day, month = (a, b) if a > 12 or (dayfirst and b <= 12) else (b, a)
        try:
            d = date(int(year), month, day)
        except ValueError:
            return None
        if clock is None:
            return to_store(datetime.combine(d, time(0), tz))
        return local_times(f"{d.isoformat()} {clock}")

    def parse(text: str) -> str:
        s = text.strip()
        try:
            hit = fast(s)
        except (ValueError, OverflowError) as exc:
            raise ValidationError(f"Cannot read {s!r} as a date", "Example: 2026-12-01") from exc
        if hit is not None and not MIN_YEAR <= int(hit[:4]) <= MAX_YEAR:
            hit = None  # parse_when refuses it, with its message
        return hit if hit is not None else to_store(parse_when(s, now, tz, dayfirst=dayfirst))

    memo = Memo(parse)

    def parse_memo(text: str) -> str:
        hit = local_times(text)  # the common case: cheaper than the memo
        if hit is not None and MIN_YEAR <= int(hit[:4]) <= MAX_YEAR:
            return hit
        return str(memo(text))

    return parse_memo
