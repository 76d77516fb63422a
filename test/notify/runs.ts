// What the notify suites share: finished runs to announce (with a planted secret in a step detail and a
// warning), webhook Secrets, a sleep that records instead of waiting, and real loopback receivers
// (test/support/webhook-receiver.ts) that are closed after every test.
import { afterEach } from "vitest"
import type { RunRecord } from "../../dagger/src/report/run-record.js"
import type { SecretLike } from "../../dagger/src/notify/delivery.js"
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js"

export const PLANTED = "PLANTED-SECRET-4f9d2c7a1e"
export const SLACK_TOKEN = "slack-token-0d8e7c6b5a49"
export const DISCORD_TOKEN = "discord-token-93a1b2c3d4e5"
export const HOOK_TOKEN = "hook-token-7e6d5c4b3a21"

/** A staging run rolled back after its health check failed; the failing detail and a warning hold PLANTED. */
export function failedRun(): RunRecord {
  return {
    schemaVersion: 1,
    environment: "staging",
    commit: "9b1e4c7a2d5f8e0b3c6a9d2f5e8b1c4a7d0e3f61",
    version: "2.4.0",
    image: "123456789012.dkr.ecr.us-west-1.amazonaws.com/portfolio-prod@sha256:" + "ab".repeat(32),
    startedAt: "2026-11-25T11:00:00.000Z",
    endedAt: "2026-11-25T11:09:05.000Z",
    steps: [
      { name: "build", startedAt: "2026-11-25T11:00:01.000Z", endedAt: "2026-11-25T11:01:00.000Z", outcome: "succeeded" },
      {
        name: "health check",
        startedAt: "2026-11-25T11:05:00.000Z",
        endedAt: "2026-11-25T11:08:00.000Z",
        outcome: "failed",
        detail: `no healthy answer within 180 s (auth ${PLANTED})`,
      },
      { name: "rollback", startedAt: "2026-11-25T11:08:00.000Z", endedAt: "2026-11-25T11:09:00.000Z", outcome: "succeeded" },
    ],
    verdict: "rolled-back",
    failingStep: "health check",
    rollback: { attempted: true, outcome: "succeeded", detail: "restored portfolio-prod-task:41" },
    urls: {
      service: "http://portfolio-prod-alb-123456.us-west-1.elb.amazonaws.com",
      run: "https://github.com/example/portfolio/actions/runs/1234567891",
    },
    warnings: [{ source: "stop-aws", message: `token ${PLANTED} expired` }],
  }
}

export function succeededRun(): RunRecord {
  const run = failedRun()
  run.verdict = "succeeded"
  delete run.failingStep
  delete run.rollback
  run.steps = run.steps.filter((s) => s.outcome === "succeeded")
  return run
}

/** A run whose every field is far over any channel's limit (and whose detail starts with an astral character). */
export function hugeRun(): RunRecord {
  const run = failedRun()
  const long = "x".repeat(10_000)
  run.failingStep = `step ${"y".repeat(5000)}`
  run.steps.push({ name: run.failingStep, startedAt: run.startedAt, endedAt: run.startedAt, outcome: "failed", detail: `😀${long}` })
  run.rollback = { attempted: true, outcome: "failed", detail: long }
  run.version = "v".repeat(3000)
  run.warnings = Array.from({ length: 200 }, (_, i) => ({ source: `w${i}`, message: long }))
  const thresholds = { maxErrorRate: 0.01, maxP95Ratio: 1.5, p95SlackMs: 50 }
  run.analysis = [{ step: run.failingStep, source: "synthetic", thresholds, verdict: "fail", reason: `😀${long}` }]
  run.diagnostics = Array.from({ length: 40 }, (_, i) => ({
    source: `s${i}${"z".repeat(300)}`,
    title: `😀${long}`,
    lines: Array.from({ length: 500 }, () => long),
    links: Array.from({ length: 50 }, () => ({ label: long, url: `https://console.example/${long}` })),
  }))
  return run
}

/**
 * A production run rolled back at its canary's traffic analysis, with five diagnostics; a diagnostic's
 * title and a line hold PLANTED.
 */
export function diagnosedRun(): RunRecord {
  const run = failedRun()
  run.environment = "production"
  run.failingStep = "canary 10%"
  run.steps[1] = { ...run.steps[1]!, name: "canary 10%", detail: "traffic analysis failed: error rate 5.0 % > 1.0 % (10 of 200 requests failed)" }
  const thresholds = { maxErrorRate: 0.01, maxP95Ratio: 1.5, p95SlackMs: 50 }
  run.analysis = [
    {
      step: "canary 10%",
      source: "synthetic",
      candidate: { requests: 200, errors: 10, errorRate: 0.05, p50Ms: 40, p95Ms: 90 },
      baseline: { requests: 200, errors: 0, errorRate: 0, p50Ms: 38, p95Ms: 85 },
      thresholds,
      verdict: "fail",
      reason: "error rate 5.0 % > 1.0 % (10 of 200 requests failed)",
    },
  ]
  run.diagnostics = [
    { source: "cloud-run", title: "revision portfolio-00043-kex: Ready CONDITION_FAILED (HealthCheckContainerError)", lines: ["Ready: CONDITION_FAILED"] },
    { source: "health", title: `last 5 responses of https://canary---svc.a.run.app/?key=${PLANTED}`, lines: [`GET / → 500 in 12 ms: token ${PLANTED}`] },
    { source: "terraform", title: "google_cloud_run_v2_service.portfolio: Error 403", lines: ["Error: Permission denied"] },
    { source: "cloud-run", title: "service portfolio terminal condition Ready: CONDITION_FAILED", lines: [] },
    { source: "cloud-run", title: "fifth", lines: [] },
  ]
  return run
}

export const secret = (value: string): SecretLike => ({ plaintext: async () => value })

/** A sleep that records each delay and returns at once. */
export const noSleep = () => {
  const delays: number[] = []
  return { delays, sleep: async (ms: number) => void delays.push(ms) }
}

/** Starts receivers that are closed after each test of the calling suite. */
export function receiversClosedAfterEach(): (...args: Parameters<typeof startWebhookReceiver>) => Promise<WebhookReceiver> {
  const open: WebhookReceiver[] = []
  afterEach(async () => {
    await Promise.all(open.splice(0).map((r) => r.close()))
  })
  return async (...args) => {
    const r = await startWebhookReceiver(...args)
    open.push(r)
    return r
  }
}

/** Three receivers standing in for Slack, Discord and a JSON webhook, with tokens in their paths. */
export async function threeTargets(receiver: ReturnType<typeof receiversClosedAfterEach>) {
  const slack = await receiver()
  const discord = await receiver({ otherwise: { kind: "status", status: 204 } })
  const hook = await receiver()
  const urls = {
    slack: `${slack.url}/services/T000/B000/${SLACK_TOKEN}`,
    discord: `${discord.url}/api/webhooks/123/${DISCORD_TOKEN}`,
    webhook: `${hook.url}/deploys?token=${HOOK_TOKEN}`,
  }
  return {
    slack,
    discord,
    hook,
    urls,
    targets: { slack: secret(urls.slack), discord: secret(urls.discord), webhook: secret(urls.webhook) },
  }
}
