#!/usr/bin/env node
// Lints CloudFormation templates with the cfn-lint npm package (a Node implementation, from the
// committed package-lock.json). Its bundled resource specification predates some types the
// templates use (AWS::GlobalAccelerator::*); cfn/lint/spec-additions.json adds them first.
// It also predates the AWS::LanguageExtensions transform (Fn::ForEach): such a template is
// refused here, not half-checked; AWS's cfn-lint (ctest cfn_lint_aws) checks it.
// Usage: node scripts/lint-templates.js cfn/core.yml
// Exit status: 0 when every template is valid, 1 when any has errors, 2 on usage errors.
'use strict';
const path = require('path');
const root = path.resolve(__dirname, '..');
let awsData, api;
try {
  awsData = require(path.join(root, 'node_modules/cfn-lint/lib/awsData'));
  api = require(path.join(root, 'node_modules/cfn-lint/lib/api'));
} catch (e) {
  console.error('cfn-lint is not installed: run scripts/install-deps.sh (npm ci)');
  process.exit(2);
}
const additions = require(path.join(root, 'cfn/lint/spec-additions.json'));
Object.assign(awsData.awsResources.ResourceTypes, additions.ResourceTypes);
Object.assign(awsData.awsResources.PropertyTypes, additions.PropertyTypes);
Object.assign(awsData.awsResourceRefTypes, additions.RefTypes);

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: lint-templates.js TEMPLATE...');
  process.exit(2);
}
const fs = require('fs');
let failed = false;
for (const file of files) {
  if (/AWS::LanguageExtensions|Fn::ForEach/.test(fs.readFileSync(file, 'utf8'))) {
    console.log(`${file}: not checked: this linter predates AWS::LanguageExtensions (Fn::ForEach); ` +
                'lint it with AWS\'s cfn-lint (ctest -R cfn_lint_aws)');
    failed = true;
    continue;
  }
  let result;
  try {
    result = api.validateFile(file, {guessParameters: undefined});
  } catch (e) {
    console.log(`${file}: cannot be parsed: ${e.message}`);
    failed = true;
    continue;
  }
  const crit = result.errors.crit || [];
  const warn = result.errors.warn || [];
  for (const e of crit) console.log(`${file}: error: ${e.resource}: ${e.message}`);
  for (const w of warn) console.log(`${file}: warning: ${w.resource}: ${w.message}`);
  console.log(`${file}: ${result.templateValid ? 'valid' : 'INVALID'} ` +
              `(${crit.length} error(s), ${warn.length} warning(s))`);
  if (!result.templateValid || crit.length > 0) failed = true;
}
process.exit(failed ? 1 : 0);
