#!/bin/sh
# Import the X Education lead-scoring dataset (9,240 leads) with outcomes,
# into the database named by LEADCTL_DB.
#
#   LEADCTL_DB=/tmp/xed.db sh examples/xeducation-import.sh
#
# Run from the repository root (the datasets folder is ../shared/datasets/).
# - "Prospect ID" becomes the external id (the duplicate key; reruns add nothing).
# - "Converted" becomes the stage: 1 -> won, 0 -> lost (lost reason "imported").
# - "Lead Source", "City" and "Tags" fill source, city and tags (recognised
#   headers); every other column is kept as a custom field named by its
#   original header ("Lead Origin", "TotalVisits", "Last Activity", ...).
# - The web form's "Select" placeholder is treated as empty (--null Select).
# The file has no dates: leads are created (and closed) at the import time.
set -e
: "${LEADCTL_DB:?set LEADCTL_DB to the database file to import into}"
export LEADCTL_DB
DATA="${XEDUCATION_CSV:-../shared/datasets/x-education-leads/Leads.csv}"
leadctl import "$DATA" --map external_id="Prospect ID" --map stage=Converted --stage-map "1=won,0=lost" --null Select
