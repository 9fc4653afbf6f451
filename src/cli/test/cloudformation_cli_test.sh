#!/usr/bin/env bash
# Process test of `mysfits cloudformation`: the workshop's command line deploys, re-deploys
# (no change), describes, rejects bad input with AWS CLI exit codes, and deletes.
# Usage: cloudformation_cli_test.sh <path to mysfits>
set -euo pipefail
M=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export MYSFITS_STATE_DIR=$work/state
fail() { echo "FAIL: $*" >&2; exit 1; }

cat > "$work/t.yml" <<'YML'
Parameters:
  IsDrRegion: {Type: String, Default: 'false', AllowedValues: ['true', 'false']}
Conditions:
  IsDr: !Equals [!Ref IsDrRegion, 'true']
Resources:
  Role: {Type: AWS::IAM::Role, Properties: {RoleName: !Sub 'mm-${AWS::Region}'}}
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
Outputs:
  SecondaryOnly: {Condition: IsDr, Value: !Sub '${AWS::Region}-${Vpc}'}
YML

"$M" cloudformation deploy --stack-name mm-secondary-region --template-file "$work/t.yml" \
  --capabilities CAPABILITY_NAMED_IAM CAPABILITY_AUTO_EXPAND --parameter-overrides IsDrRegion=true \
  --region us-east-1 | grep -q "Successfully created/updated stack - mm-secondary-region" \
  || fail "deploy did not succeed"

rc=0; "$M" cloudformation deploy --stack-name mm-secondary-region --template-file "$work/t.yml" \
  --capabilities CAPABILITY_NAMED_IAM --region us-east-1 >"$work/out" || rc=$?
[ "$rc" = 255 ] && grep -q "No changes to deploy" "$work/out" || fail "empty change set: rc=$rc"
"$M" cloudformation deploy --stack-name mm-secondary-region --template-file "$work/t.yml" \
  --capabilities CAPABILITY_NAMED_IAM --region us-east-1 --no-fail-on-empty-changeset >/dev/null \
  || fail "--no-fail-on-empty-changeset should exit 0"

"$M" cloudformation describe-stacks --stack-name mm-secondary-region --region us-east-1 >"$work/d.json"
/usr/bin/python3 - "$work/d.json" <<'PY' || fail "describe-stacks output"
import json, sys
s = json.load(open(sys.argv[1]))["Stacks"][0]
assert s["StackStatus"] == "CREATE_COMPLETE", s
outs = {o["OutputKey"]: o["OutputValue"] for o in s["Outputs"]}
assert outs["SecondaryOnly"].startswith("us-east-1-mm-secondary-region-Vpc-"), outs
assert {"ParameterKey": "IsDrRegion", "ParameterValue": "true"} in s["Parameters"]
PY

rc=0; "$M" cloudformation describe-stacks --stack-name mm-secondary-region --region us-west-2 \
  2>"$work/err" || rc=$?
[ "$rc" = 254 ] && grep -q "does not exist" "$work/err" || fail "other region: rc=$rc"

rc=0; "$M" cloudformation deploy --stack-name x --template-file "$work/t.yml" --region us-east-1 \
  >/dev/null 2>"$work/err" || rc=$?
[ "$rc" = 254 ] && grep -q "CAPABILITY_NAMED_IAM" "$work/err" || fail "capabilities: rc=$rc"

printf 'Resources:\n  A: {Type: AWS::Nope::Thing}\n' >"$work/bad.yml"
rc=0; "$M" cloudformation deploy --stack-name x --template-file "$work/bad.yml" --region us-east-1 \
  >/dev/null 2>"$work/err" || rc=$?
[ "$rc" = 254 ] && grep -q "Unrecognized resource types: \[AWS::Nope::Thing\]" "$work/err" \
  || fail "unknown type: rc=$rc"

rc=0; "$M" cloudformation deploy --stack-name x --template-file "$work/missing.yml" \
  --region us-east-1 >/dev/null 2>&1 || rc=$?
[ "$rc" = 255 ] || fail "missing template file: rc=$rc"

"$M" cloudformation delete-stack --stack-name mm-secondary-region --region us-east-1
"$M" cloudformation describe-stacks --region us-east-1 | grep -q '"Stacks":\[\]' \
  || fail "stack still listed after delete"
# ECS resources become desired state that `mysfits ecs` reads and changes.
cat > "$work/ecs.yml" <<'YML'
Resources:
  Repo: {Type: AWS::ECR::Repository, Properties: {RepositoryName: mm/core}}
  Cluster: {Type: AWS::ECS::Cluster, Properties: {ClusterName: mm}}
  TaskDef:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: core
      ContainerDefinitions:
        - {Name: core, Image: !Sub '${Repo.RepositoryUri}:latest', PortMappings: [{ContainerPort: 8080}]}
  Service:
    Type: AWS::ECS::Service
    Properties: {ServiceName: core, Cluster: !Ref Cluster, TaskDefinition: !Ref TaskDef, DesiredCount: 2}
Outputs:
  RepoUri: {Value: !GetAtt Repo.RepositoryUri}
YML
"$M" cloudformation deploy --stack-name mm --template-file "$work/ecs.yml" --region us-west-2 >/dev/null
"$M" cloudformation describe-stacks --stack-name mm --region us-west-2 \
  | grep -q '"OutputValue":"123456789012.dkr.ecr.us-west-2.amazonaws.com/mm/core"' || fail "RepoUri"
"$M" ecs describe-services --cluster mm --services core --region us-west-2 \
  | grep -q '"desiredCount":2' || fail "describe-services"
"$M" ecs update-service --cluster mm --service core --desired-count 0 --region us-west-2 \
  | grep -q '"desiredCount":0' || fail "update-service"
"$M" ecs describe-services --cluster mm --services core --region us-west-2 \
  | grep -q '"desiredCount":0' || fail "desired count not stored"
rc=0; "$M" ecs update-service --cluster mm --service nope --desired-count 0 --region us-west-2 \
  2>/dev/null || rc=$?
[ "$rc" = 254 ] || fail "unknown service: rc=$rc"
"$M" cloudformation delete-stack --stack-name mm --region us-west-2
rc=0; "$M" ecs update-service --cluster mm --service core --desired-count 1 --region us-west-2 \
  2>/dev/null || rc=$?
[ "$rc" = 254 ] || fail "service should be gone with its stack: rc=$rc"
[ ! -d "$MYSFITS_STATE_DIR/registry/us-west-2/mm/core" ] || fail "repository left behind"

echo "cloudformation CLI: all checks passed"
