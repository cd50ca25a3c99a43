#!/bin/sh
# The quick start: a throwaway database, a few leads, the daily views.
set -e
LEADCTL_DB="$(mktemp -d)/quickstart.db"
export LEADCTL_DB
echo "Database: $LEADCTL_DB" >&2
leadctl add "Budi Santoso" --email budi@example.co.id --phone 0812-3456-7890 \
  --company "PT Maju Jaya" --source whatsapp --value "Rp 15.000.000" --tag hot >/dev/null
leadctl add "Siti Rahma" --phone "+62 813 9876 5432" --source ads --value 1.5jt >/dev/null
leadctl import "$(dirname "$0")/leads.csv"
leadctl advance 1
leadctl log 1 --kind call --note "asked for a demo"
leadctl list
leadctl stages
