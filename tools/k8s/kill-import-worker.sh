#!/usr/bin/env bash
# Kills with SIGKILL the calc container whose worker holds import
# $SMOKE_IMPORT_ID (smoke import runs this once the job is under way): a
# crash, with no shutdown to hand the job back, so the import goes on only
# once its lease expires, in another attempt. The worker's name is the
# pod's hostname, its PID and a number (ingest.data_ingestion_jobs.locked_by).
set -euo pipefail
worker=$(psql "$DB_ADMIN_URL" -Atc "SELECT locked_by FROM ingest.data_ingestion_jobs WHERE id = '$SMOKE_IMPORT_ID'")
pod=$(sed -E 's/-[0-9]+-[0-9]+$//' <<< "$worker")
container=$(kubectl get pod -n "$NAMESPACE" "$pod" -o jsonpath='{.status.containerStatuses[0].containerID}' 2> /dev/null || true)
if [ -z "$worker" ] || [ -z "$container" ]; then
	echo "kill-import-worker: import $SMOKE_IMPORT_ID is held by '$worker', which is no running pod of $NAMESPACE" >&2
	exit 1
fi
ctr --address "$CONTAINERD_ADDRESS" -n k8s.io task kill --signal SIGKILL "${container#containerd://}"
echo "kill-import-worker: killed (SIGKILL) the container of $pod, which held import $SMOKE_IMPORT_ID"
