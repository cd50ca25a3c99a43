"""A corpus of hostile and broken input, shared by the hostile-input tests.

ACCEPTED values must be stored exactly (free text fields are stripped of
surrounding whitespace, nothing else), shown without any control byte
reaching the terminal, and exported to CSV formula-safe.
REJECTED values must be refused with one clear line (exit 2) that does not
repeat the value.
"""

from __future__ import annotations

import re

ACCEPTED: dict[str, str] = {
    # Rich markup: must print literally, never style or link anything.
    "rich_markup": "[bold red]x[/]",
    "rich_link": "[link=https://evil.example]click me[/link]",
    "rich_emoji_code": ":warning: :pile_of_poo:",
    # ANSI / OSC escape sequences and raw control bytes.
    "ansi_csi": "\x1b[31mred\x1b[0m",
    "ansi_clear": "\x1b[2J\x1b[H wiped",
    "osc_title": "\x1b]0;pwned title\x07",
    "osc8_link": "\x1b]8;;http://x.example\x1b\\click\x1b]8;;\x1b\\",
    "bel": "ding\x07ding",
    "c1_csi": "c1\x9b31mred",
    "backspace": "paid\x08\x08\x08\x08unpaid",
    "del": "x\x7fy",
    "carriage_return": "safe\rEVIL",
    "newlines": "line one\nline two\r\nline three",
    # Unicode that reorders or hides text.
    "rlo": "invoice\u202efdp.exe",
    "lri_pdi": "\u2066isolated\u2069 text",
    "zero_width": "a\u200bb\u200cc\u200dd\u2060e",
    "bom": "\ufeffbom first",
    "line_separator": "a\u2028b\u2029c",
    "arabic_mark": "x\u061cy",
    # Wide and combining text must survive untouched.
    "wide": "日本語 テスト 🙂 Ünïcödé",
    "combining": "e\u0301 a\u0308",
    # Spreadsheet formulas.
    "formula_hyperlink": '=HYPERLINK("http://x.example","y")',
    "formula_at": "@SUM(A1:A9)",
    "formula_plus": "+1+1",
    "formula_minus": "-2+3",
    "formula_tab": "\t=1+1",
    "formula_cmd": "=cmd|' /C calc'!A0",
    # SQL-looking and path-looking text.
    "sql": "'; DROP TABLE leads; --",
    "sql_quote": 'Robert"); DELETE FROM activities; --',
    "path_up": "../../etc/passwd",
    "path_windows": "C:\\Windows\\system32\\x.exe",
    "path_unc": "\\\\server\\share\\x",
    # Structure injection into CSV and iCalendar output.
    "csv_injection": 'a",=1+1,"b',
    "ics_injection": "x\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:EVIL;x,y",
    # Long but allowed (the cap is 10,000 characters).
    "long_ok": "Panjang " * 1249,
}

REJECTED: dict[str, str] = {
    "nul": "Budi\x00Santoso",
    "too_long": "x" * 100_000,
    "just_over": "y" * 10_001,
}

# Bytes that are not valid UTF-8: only reachable through argv or a file.
INVALID_UTF8: list[bytes] = [b"Bad \xff\xfe name", b"\xc3\x28", b"\xed\xa0\x80 surrogate"]

# Characters that must never reach a terminal raw: C0 controls except
# newline, DEL, C1 controls, bidi overrides and isolates, zero-width and
# invisible formatting characters, line/paragraph separators, BOM.
FORBIDDEN_ON_TERMINAL = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]"
)
# What Rich itself writes for styles (bold headers): SGR sequences only.
RICH_SGR = re.compile("\x1b\\[[0-9;]*m")

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$")
E164 = re.compile(r"^\+\d{6,15}$")


def terminal_leaks(text: str, *, rich: bool = False) -> list[str]:
    """The forbidden characters in `text` (after removing Rich's own styling)."""
    if rich:
        text = RICH_SGR.sub("", text)
    return sorted({f"U+{ord(m.group(0)):04X}" for m in FORBIDDEN_ON_TERMINAL.finditer(text)})


def formula_cells(rows: list[list[str]]) -> list[str]:
    """CSV cells a spreadsheet would run as a formula."""
    bad = []
    for row in rows:
        for cell in row:
            if (
                cell.startswith(FORMULA_START)
                and not PLAIN_NUMBER.match(cell)
                and not E164.match(cell)
            ):
                bad.append(cell)
    return bad
