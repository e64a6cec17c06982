#!/usr/bin/env node
// Evaluates IAM requests with @cloud-copilot/iam-simulate (identity + resource policies, every
// condition operator) and prints one decision per request. The Python tests are the only caller
// (tests/iam_simulator.py); this file stays a thin adapter so the judge is the library, not us.
//
// stdin:  {"cases": [{"name": "...",
//                     "identityPolicies": [{"name": "...", "policy": {...}}],  // the caller's own policies
//                     "resourcePolicy": {...} | null,                          // e.g. the bucket policy
//                     "principal": "arn:aws:iam::123456789012:user/backup/x",
//                     "action": "s3:PutObject",
//                     "resource": "arn:aws:s3:::bucket/key",
//                     "accountId": "123456789012",                              // the resource's account
//                     "context": {"aws:SecureTransport": "true", ...}}]}
// stdout: {"results": [{"name": "...", "decision": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied",
//                       "ignoredContextKeys": [...], "errors": null | {...}}]}
// A request the library refuses to evaluate (invalid policy, unknown action, context key not valid
// for the action) is reported with decision "Error" and its errors, never silently as a denial.
'use strict'

const { runSimulation } = require('@cloud-copilot/iam-simulate')

async function evaluate(c) {
  const simulation = {
    request: {
      principal: c.principal,
      action: c.action,
      resource: { resource: c.resource, accountId: c.accountId },
      contextVariables: c.context || {},
    },
    identityPolicies: c.identityPolicies || [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: c.resourcePolicy || undefined,
  }
  const response = await runSimulation(simulation, {})
  if (response.resultType === 'error') {
    return { name: c.name, decision: 'Error', ignoredContextKeys: [], errors: response.errors }
  }
  const ignored = response.resultType === 'single' ? response.result.ignoredContextKeys || [] : []
  return { name: c.name, decision: response.overallResult, ignoredContextKeys: ignored, errors: null }
}

async function main() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  const results = []
  for (const c of input.cases) results.push(await evaluate(c))
  process.stdout.write(JSON.stringify({ results }, null, 1) + '\n')
}

main().catch((err) => {
  process.stderr.write(`simulate.js: ${err && err.stack ? err.stack : err}\n`)
  process.exit(2)
})
