#!/usr/bin/env bash
# README's first command (for now): installs and builds the release preset, starts mysfits-table
# for us-west-2 in the background, creates and seeds the workshop's MysfitsTable (with its two
# GSIs) idempotently through the real AWS CLI, and prints the endpoint.
# Environment (optional): MYSFITS_TABLE_LISTEN (default 127.0.0.1:8000), MYSFITS_TABLE_BIN (use
# this binary and skip the build), MYSFITS_STATE_DIR (default .state).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

listen=${MYSFITS_TABLE_LISTEN:-127.0.0.1:8000}
state=${MYSFITS_STATE_DIR:-$root/.state}
region=us-west-2
table=MysfitsTable
endpoint="http://$listen"

if [[ -n "${MYSFITS_TABLE_BIN:-}" ]]; then
  bin=$MYSFITS_TABLE_BIN
else
  bash scripts/build.sh release
  bin=$root/build/release/src/table/mysfits-table
fi

mkdir -p "$state"
pid_file=$state/mysfits-table-$region.pid
log_file=$state/mysfits-table-$region.log

# The AWS CLI always signs; the local engine accepts any credentials unless given its own.
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-local}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-local}
export AWS_DEFAULT_REGION=$region
export AWS_PAGER=""
ddb() { aws dynamodb --endpoint-url "$endpoint" --region "$region" "$@"; }

if [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
  echo "mysfits-table already running (pid $(cat "$pid_file"))"
else
  "$bin" serve --listen "$listen" --data-dir "$state/$region" --region "$region" \
    >"$log_file" 2>&1 &
  echo $! >"$pid_file"
  for _ in $(seq 1 100); do
    grep -q "listening on" "$log_file" 2>/dev/null && break
    if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
      echo "mysfits-table failed to start; see $log_file" >&2
      tail -20 "$log_file" >&2
      exit 1
    fi
    sleep 0.1
  done
  grep -q "listening on" "$log_file" || { echo "mysfits-table did not start in 10 s" >&2; exit 1; }
fi

created=0
if ! ddb describe-table --table-name "$table" >/dev/null 2>&1; then
  ddb create-table --table-name "$table" \
    --attribute-definitions AttributeName=MysfitId,AttributeType=S \
      AttributeName=GoodEvil,AttributeType=S AttributeName=LawChaos,AttributeType=S \
    --key-schema AttributeName=MysfitId,KeyType=HASH \
    --billing-mode PAY_PER_REQUEST \
    --global-secondary-indexes \
      'IndexName=GoodEvilIndex,KeySchema=[{AttributeName=GoodEvil,KeyType=HASH},{AttributeName=MysfitId,KeyType=RANGE}],Projection={ProjectionType=ALL}' \
      'IndexName=LawChaosIndex,KeySchema=[{AttributeName=LawChaos,KeyType=HASH},{AttributeName=MysfitId,KeyType=RANGE}],Projection={ProjectionType=ALL}' \
    >/dev/null
  ddb wait table-exists --table-name "$table"
  created=1
fi

count=$(ddb scan --table-name "$table" --select COUNT --query Count --output text)
if [[ $created == 1 || $count == 0 ]]; then
  # One BatchWriteItem with the twelve mysfits (≤ 25 per call).
  requests=$(awk -F'\t' 'NR > 1 {
      slug = tolower($2); gsub(/[^a-z0-9]/, "", slug)
      desc = $2 " is a " $4 "-year-old " $3 " of " tolower($5) " and " tolower($6) " nature."
      printf "%s{\"PutRequest\":{\"Item\":{\"MysfitId\":{\"S\":\"%s\"},\"Name\":{\"S\":\"%s\"},\"Species\":{\"S\":\"%s\"},\"Age\":{\"N\":\"%s\"},\"GoodEvil\":{\"S\":\"%s\"},\"LawChaos\":{\"S\":\"%s\"},\"Description\":{\"S\":\"%s\"},\"ThumbImageUri\":{\"S\":\"images/%s_thumb.png\"},\"ProfileImageUri\":{\"S\":\"images/%s_profile.png\"},\"Likes\":{\"N\":\"0\"},\"Adopted\":{\"BOOL\":false}}}}",
        (n++ ? "," : ""), $1, $2, $3, $4, $5, $6, desc, slug, slug
    }' data/mysfits.tsv)
  unprocessed=$(ddb batch-write-item --request-items "{\"$table\":[$requests]}" \
    --query 'length(UnprocessedItems)' --output text)
  [[ $unprocessed == 0 ]] || { echo "seeding left unprocessed items" >&2; exit 1; }
  echo "seeded $table with $(ddb scan --table-name "$table" --select COUNT --query Count --output text) mysfits"
else
  echo "$table already holds $count items; not reseeding"
fi

echo
echo "mysfits-table ($region) is serving on $endpoint  (pid $(cat "$pid_file"), log $log_file)"
echo "try:"
echo "  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws dynamodb scan --table-name $table --region $region --endpoint-url $endpoint"
echo "stop: kill \$(cat $pid_file)"
