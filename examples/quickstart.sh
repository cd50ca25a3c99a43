#!/bin/sh
# The quick start, in a throwaway database: import the example leads (a messy
# Indonesian CSV export), set up a two-person team and hand the leads out,
# plan some follow-ups, then show what the owner reads every morning:
# today's follow-ups and the pipeline report.
set -e
here="$(dirname "$0")"
LEADCTL_DB="$(mktemp -d)/quickstart.db"
export LEADCTL_DB
echo "Database: $LEADCTL_DB" >&2

leadctl import "$here/leads.csv"
leadctl team add ani --name "Ani Wijaya" --phone 0812-1111-2222 --capacity 20 >/dev/null
leadctl team add budi --name "Budi Hartono" --phone 0812-3333-4444 --capacity 20 >/dev/null
leadctl assign --auto >/dev/null
leadctl advance 1 2 3
leadctl advance 1 --to negotiation
leadctl log 1 --kind call --note "asked for a demo" --next "now"
leadctl followups add 2 --due yesterday --kind whatsapp --note "send the price list" >/dev/null
leadctl followups add 3 --due "today 16:00" --kind call --note "follow up on the quote" >/dev/null

echo "== Today's follow-ups"
leadctl followups
echo "== Pipeline"
leadctl report pipeline
