"""Generate a realistic, messy lead CSV (deterministic: same seed, same bytes).

    python benchmarks/gen_leads.py 1000000 > leads-1m.csv

Indonesian small-business leads as web forms, ad platforms and spreadsheets
export them: Indonesian headers, names in mixed case with stray spaces,
e-mails in upper case, Indonesian phones in every format people type plus
some international ones, money as 15000000 / 15.000.000 / Rp 15.000.000 /
1.5jt / 250rb, ISO dates with some day-first and date-time forms, quoted
fields with commas, ~2% duplicates of an earlier row's e-mail or phone and
~0.5% invalid e-mails or phones (rejected rows).
"""

from __future__ import annotations

import csv
import random
import sys

FIRST = [
    "Budi",
    "Siti",
    "Agus",
    "Dewi",
    "Rina",
    "Andi",
    "Sri",
    "Joko",
    "Putri",
    "Wahyu",
    "Ayu",
    "Eko",
    "Fitri",
    "Hendra",
    "Indah",
    "Rizky",
    "Nur",
    "Dian",
    "Fajar",
    "Lestari",
    "Bayu",
    "Ratna",
    "Yusuf",
    "Maya",
    "Arif",
    "Kartika",
    "Dimas",
    "Wulan",
    "Teguh",
    "Sari",
    "Michael",
    "Sarah",
    "David",
    "Linda",
    "Kevin",
    "Grace",
]
LAST = [
    "Santoso",
    "Rahma",
    "Wijaya",
    "Pratama",
    "Saputra",
    "Hidayat",
    "Kusuma",
    "Nugroho",
    "Setiawan",
    "Lestari",
    "Permana",
    "Gunawan",
    "Siregar",
    "Nasution",
    "Harahap",
    "Simanjuntak",
    "Hutapea",
    "Tan",
    "Lim",
    "Wibowo",
    "Halim",
    "Susanto",
    "Purnomo",
    "Suryadi",
]
COMPANIES = (
    "PT Maju Jaya",
    "CV Sinar Abadi",
    "Toko Berkah",
    "Warung Bu Sri",
    "PT Nusantara Digital",
    "UD Sumber Rejeki",
    "Bengkel Jaya Motor",
    "Kopi Kenangan Senja",
    "Salon Cantik",
    "PT Karya Mandiri, Tbk",
    "Apotek Sehat",
    "Katering Ibu Ani",
    "Laundry Bersih",
)
CITIES = (
    "Jakarta",
    "Surabaya",
    "Bandung",
    "Medan",
    "Semarang",
    "Makassar",
    "Denpasar",
    "Yogyakarta",
    "Malang",
    "Bekasi",
    "Tangerang",
    "Depok",
    "Bogor",
    "Palembang",
)
SOURCES = (
    "whatsapp",
    "instagram",
    "facebook ads",
    "google ads",
    "website",
    "referral",
    "tokopedia",
    "walk-in",
    "tiktok",
)
TAGS = ("hot", "b2b", "retail", "reseller", "follow up", "vip")
DOMAINS = ("gmail.com", "yahoo.co.id", "outlook.com", "maju.co.id", "mail.com")
PREFIXES = ("811", "812", "813", "821", "822", "852", "853", "857", "858", "878", "877", "895")
HEADER = [
    "Nama",
    "E-mail Address",
    "No HP",
    "Perusahaan",
    "Kota",
    "Sumber",
    "Nilai Deal",
    "Tanggal",
    "Tags",
    "Catatan",
    "Produk",
]


def phone(rng: random.Random) -> str:
    pre = rng.choice(PREFIXES)
    rest = "".join(rng.choice("0123456789") for _ in range(rng.choice((7, 8))))
    r = rng.random()
    if r < 0.35:
        return f"0{pre}-{rest[:4]}-{rest[4:]}"
    if r < 0.65:
        return f"0{pre}{rest}"
    if r < 0.85:
        return f"+62 {pre} {rest[:4]} {rest[4:]}"
    if r < 0.90:
        return f"62{pre}{rest}"
    if r < 0.96:
        lead = rng.choice(("81", "82", "83", "84", "85", "86", "87", "88", "91", "92", "93", "94"))
        return f"+65 {lead}" + "".join(rng.choice("0123456789") for _ in range(6))
    return "+1 415 555 " + "".join(rng.choice("0123456789") for _ in range(4))


def money(rng: random.Random) -> str:
    juta = rng.choice((1, 2, 5, 7.5, 10, 15, 25, 50, 120))
    amount = int(juta * 1_000_000)
    r = rng.random()
    if r < 0.25:
        return str(amount)
    if r < 0.45:
        return f"{amount:,}".replace(",", ".")
    if r < 0.60:
        return "Rp " + f"{amount:,}".replace(",", ".")
    if r < 0.70:
        return f"{juta:g}jt"
    if r < 0.75:
        return f"{amount:,}"
    if r < 0.80:
        return "Rp" + f"{amount:,}".replace(",", ".") + ",00"
    return ""


def day(rng: random.Random) -> str:
    y, m, d = rng.choice((2024, 2025, 2026)), rng.randint(1, 12), rng.randint(1, 28)
    r = rng.random()
    if r < 0.85:
        return f"{y}-{m:02d}-{d:02d}"
    if r < 0.95:
        return f"{y}-{m:02d}-{d:02d} {rng.randint(8, 20):02d}:{rng.randint(0, 59):02d}:00"
    return f"{d:02d}/{m:02d}/{y}"


def rows(n: int, seed: int = 42):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    recent: list[tuple[str, str]] = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        name = f"{first} {last}"
        if rng.random() < 0.1:
            name = name.upper()
        elif rng.random() < 0.1:
            name = f"  {name.lower()} "
        email = ""
        if rng.random() < 0.8:
            email = f"{first}.{last}{i}@{rng.choice(DOMAINS)}"
            if rng.random() < 0.2:
                email = email.upper()
        ph = phone(rng) if rng.random() < 0.85 else ""
        if rng.random() < 0.003:
            email = rng.choice(("budi@", "no email", "siti@@mail.com"))
        if rng.random() < 0.002:
            ph = rng.choice(("12345", "0812", "call me"))
        if recent and rng.random() < 0.02:
            email, ph = rng.choice(recent)
        elif email or ph:
            recent.append((email, ph))
            if len(recent) > 1000:
                recent.pop(0)
        yield [
            name, email, ph,
            rng.choice(COMPANIES) if rng.random() < 0.6 else "",
            rng.choice(CITIES), rng.choice(SOURCES), money(rng), day(rng),
            ";".join(rng.sample(TAGS, rng.randint(0, 2))),
            "minta price list, kirim katalog" if rng.random() < 0.05 else "",
            rng.choice(("Paket Basic", "Paket Premium", "Paket Gold", "")),
        ]  # fmt: skip


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Write a messy lead CSV to stdout.")
    parser.add_argument("rows", nargs="?", type=int, default=1000, help="data rows (1000)")
    parser.add_argument("seed", nargs="?", type=int, default=42, help="random seed (42)")
    args = parser.parse_args()
    out = csv.writer(sys.stdout, lineterminator="\r\n")
    out.writerow(HEADER)
    out.writerows(rows(args.rows, args.seed))


if __name__ == "__main__":
    main()
