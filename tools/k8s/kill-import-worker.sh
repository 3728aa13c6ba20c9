#!/usr/bin/env bash
# Kills, without a grace period, the calc pod whose worker holds import
# $SMOKE_IMPORT_ID (smoke import runs this once the job is under way). The
# worker's name is the pod's hostname, its PID and a number
# (ingest.data_ingestion_jobs.locked_by).
set -euo pipefail
worker=$(psql "$DB_ADMIN_URL" -Atc "SELECT locked_by FROM ingest.data_ingestion_jobs WHERE id = '$SMOKE_IMPORT_ID'")
pod=$(sed -E 's/-[0-9]+-[0-9]+$//' <<< "$worker")
if [ -z "$worker" ] || ! kubectl get pod -n "$NAMESPACE" "$pod" > /dev/null 2>&1; then
	echo "kill-import-worker: import $SMOKE_IMPORT_ID is held by '$worker', which is no pod of $NAMESPACE" >&2
	exit 1
fi
kubectl delete pod -n "$NAMESPACE" "$pod" --grace-period=0 --force > /dev/null 2>&1
echo "kill-import-worker: killed $pod, which held import $SMOKE_IMPORT_ID"
