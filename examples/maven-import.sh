#!/bin/sh
# Import the Maven Analytics CRM sample (8,800 B2B opportunities, 2016-2017)
# with its full history, into the database named by LEADCTL_DB.
#
#   LEADCTL_DB=/tmp/maven.db sh examples/maven-import.sh
#
# Run from the repository root; the datasets folder sits next to the repo
# (../shared/datasets/). Values are USD, stored in cents. Stages map
# Prospecting -> new, Engaging -> contacted, Won -> won, Lost -> lost; each
# lead gets the history new@engage_date -> stage@close_date (Engaging: entered
# contacted at engage_date). Prospecting rows have no dates: they are created
# at the time of the import. Lost rows have no reason in the data: "imported".
# Rerunning it adds nothing (duplicate key: opportunity_id as external id).
set -e
: "${LEADCTL_DB:?set LEADCTL_DB to the database file to import into}"
export LEADCTL_DB
DATA="${MAVEN_CSV:-../shared/datasets/maven-crm/sales_pipeline.csv}"
leadctl settings set currency USD
leadctl import "$DATA" --map external_id=opportunity_id --map owner=sales_agent --map company=account --map stage=deal_stage --map created_at=engage_date --map closed_at=close_date --map value=close_value --stage-map "Prospecting=new,Engaging=contacted,Won=won,Lost=lost"
