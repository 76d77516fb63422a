// Notifications against real HTTP receivers on loopback (test/support/webhook-receiver.ts) through
// the real global fetch. Waits between retries go through an injected sleep that records the delay
// instead of sleeping, so no test depends on timing except the one timeout test (which only asserts
// the outcome, never how long it took).
import { afterEach, describe, expect, it } from "vitest"
import {
  deliver,
  discordPayload,
  effectiveMode,
  notifyRun,
  parseRetryAfter,
  retryDecision,
  shouldNotify,
  slackPayload,
  webhookPayload,
  WEBHOOK_SCHEMA,
  type FetchLike,
  type NotifyMode,
  type SecretLike,
} from "../../dagger/src/notify/notify.js"
import type { RunRecord } from "../../dagger/src/report/run-record.js"
import type { Secret } from "@dagger.io/dagger"
import { startWebhookReceiver, unreachableUrl, type WebhookReceiver } from "../support/webhook-receiver.js"
import { discordProblems, slackProblems } from "../support/webhook-payload-limits.js"

// Checked by tsc: a Dagger Secret can be passed as a target, and the global fetch is the default sender.
export const daggerSecretFits = (s: Secret): SecretLike => s
export const globalFetchFits: FetchLike = fetch

const PLANTED = "PLANTED-SECRET-4f9d2c7a1e"
const SLACK_TOKEN = "slack-token-0d8e7c6b5a49"
const DISCORD_TOKEN = "discord-token-93a1b2c3d4e5"
const HOOK_TOKEN = "hook-token-7e6d5c4b3a21"

function failedRun(): RunRecord {
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

function succeededRun(): RunRecord {
  const run = failedRun()
  run.verdict = "succeeded"
  delete run.failingStep
  delete run.rollback
  run.steps = run.steps.filter((s) => s.outcome === "succeeded")
  return run
}

const secret = (value: string): SecretLike => ({ plaintext: async () => value })
const noSleep = () => {
  const delays: number[] = []
  return { delays, sleep: async (ms: number) => void delays.push(ms) }
}

const receivers: WebhookReceiver[] = []
async function receiver(...args: Parameters<typeof startWebhookReceiver>): Promise<WebhookReceiver> {
  const r = await startWebhookReceiver(...args)
  receivers.push(r)
  return r
}
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()))
})

/** Three receivers standing in for Slack, Discord and a JSON webhook, with tokens in their paths. */
async function threeTargets() {
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

describe("notifyRun delivers to every configured target", () => {
  it("Slack, Discord and the JSON webhook each get one valid POST with the run's facts", async () => {
    const t = await threeTargets()
    const run = failedRun()
    const outcome = await notifyRun(run, t.targets, { mode: "ALWAYS", secretValues: [PLANTED], ...noSleep() })

    expect(outcome.notified).toBe(true)
    expect(outcome.results.map((r) => [r.target, r.delivered, r.attempts])).toEqual([
      ["slack", true, 1],
      ["discord", true, 1],
      ["webhook", true, 1],
    ])
    expect(run.warnings).toEqual(failedRun().warnings) // nothing added
    expect(run.verdict).toBe("rolled-back")

    for (const r of [t.slack, t.discord, t.hook]) {
      expect(r.requests).toHaveLength(1)
      expect(r.requests[0]!.method).toBe("POST")
      expect(r.requests[0]!.headers["content-type"]).toBe("application/json")
    }
    expect(t.slack.requests[0]!.path).toBe(`/services/T000/B000/${SLACK_TOKEN}`)

    const slack = t.slack.requests[0]!.json
    expect(slackProblems(slack)).toEqual([])
    const slackText = JSON.stringify(slack)
    for (const fact of ["staging", "9b1e4c7a2d5f", "rolled back", "health check", "restored portfolio-prod-task:41", "sha256:abab"]) {
      expect(slackText).toContain(fact)
    }
    expect(slackText).toContain("<https://github.com/example/portfolio/actions/runs/1234567891|CI run>")

    const discord = t.discord.requests[0]!.json as { embeds: { fields: { name: string; value: string }[]; url: string }[] }
    expect(discordProblems(discord)).toEqual([])
    const fieldNames = discord.embeds[0]!.fields.map((f) => f.name)
    expect(fieldNames).toEqual(expect.arrayContaining(["Environment", "Commit", "Failing step", "Rollback", "Image", "Links"]))
    expect(discord.embeds[0]!.url).toBe("https://github.com/example/portfolio/actions/runs/1234567891")
    expect(discord).toMatchObject({ allowed_mentions: { parse: [] } })

    const generic = t.hook.requests[0]!.json
    expect(generic).toMatchObject({
      schema: WEBHOOK_SCHEMA,
      environment: "staging",
      verdict: "rolled-back",
      succeeded: false,
      commit: "9b1e4c7a2d5f8e0b3c6a9d2f5e8b1c4a7d0e3f61",
      image: failedRun().image,
      failingStep: "health check",
      rollback: { attempted: true, outcome: "succeeded" },
      urls: failedRun().urls,
    })
  })

  it("a planted secret and the webhook URLs never appear in any request body", async () => {
    const t = await threeTargets()
    const run = failedRun()
    await notifyRun(run, t.targets, { mode: "ALWAYS", secretValues: [PLANTED], ...noSleep() })
    for (const r of [t.slack, t.discord, t.hook]) {
      const body = r.requests[0]!.body
      for (const s of [PLANTED, SLACK_TOKEN, DISCORD_TOKEN, HOOK_TOKEN]) expect(body).not.toContain(s)
      // The planted value was there and was replaced (Discord's copy has its Markdown escaped: \*\*\*).
      expect(body).toMatch(/(\\\\)?\*(\\\\)?\*(\\\\)?\*/)
    }
  })
})

describe("modes", () => {
  it.each<[NotifyMode, RunRecord["verdict"], boolean]>([
    ["ALWAYS", "succeeded", true],
    ["ALWAYS", "failed", true],
    ["FAILURES_ONLY", "succeeded", false],
    ["FAILURES_ONLY", "failed", true],
    ["FAILURES_ONLY", "rolled-back", true],
    ["NEVER", "failed", false],
    ["ALWAYS", "running", false],
  ])("shouldNotify(%s, %s) = %s", (mode, verdict, expected) => {
    expect(shouldNotify(mode, verdict)).toBe(expected)
  })

  it("the per-run override wins over the settings", () => {
    expect(effectiveMode("ALWAYS", "FAILURES_ONLY")).toBe("FAILURES_ONLY")
    expect(effectiveMode("NEVER")).toBe("NEVER")
  })

  it("FAILURES_ONLY sends nothing for a successful run and sends for a failed one", async () => {
    const t = await threeTargets()
    const quiet = await notifyRun(succeededRun(), t.targets, { mode: "FAILURES_ONLY" })
    expect(quiet).toEqual({ mode: "FAILURES_ONLY", notified: false, results: [] })
    expect([t.slack, t.discord, t.hook].map((r) => r.requests.length)).toEqual([0, 0, 0])

    await notifyRun(failedRun(), t.targets, { mode: "FAILURES_ONLY", ...noSleep() })
    expect([t.slack, t.discord, t.hook].map((r) => r.requests.length)).toEqual([1, 1, 1])
  })

  it("NEVER sends nothing and reads no secret", async () => {
    let read = false
    const target: SecretLike = {
      plaintext: async () => {
        read = true
        return "http://127.0.0.1:9/x"
      },
    }
    const outcome = await notifyRun(failedRun(), { slack: target }, { mode: "NEVER" })
    expect(outcome.notified).toBe(false)
    expect(read).toBe(false)
  })
})

describe("undeliverable notifications become warnings, never errors", () => {
  it("receiver down: a warning naming the target, verdict unchanged, URL not in the warning", async () => {
    const base = await unreachableUrl()
    const url = `${base}/services/T000/B000/${SLACK_TOKEN}`
    const run = failedRun()
    const { delays, sleep } = noSleep()
    const outcome = await notifyRun(run, { slack: secret(url) }, { mode: "ALWAYS", sleep })
    expect(outcome.results[0]).toMatchObject({ target: "slack", delivered: false, attempts: 3 })
    expect(delays).toEqual([500, 1000]) // backoff between the three attempts
    const warning = run.warnings.at(-1)!
    expect(warning.source).toBe("notify:slack")
    expect(warning.message).toMatch(/Slack webhook \(--slack-webhook\) not delivered: could not connect: .*ECONNREFUSED.*gave up after 3 attempts/)
    expect(warning.message).not.toContain(SLACK_TOKEN)
    expect(run.verdict).toBe("rolled-back")
  })

  it("slow receiver: a timeout warning after one attempt (a timeout is not retried)", async () => {
    const slow = await receiver({ otherwise: { kind: "hang" } })
    const run = failedRun()
    const outcome = await notifyRun(run, { webhook: secret(`${slow.url}/hook/${HOOK_TOKEN}`) }, { mode: "ALWAYS", timeoutMs: 150, ...noSleep() })
    expect(outcome.results[0]).toMatchObject({ delivered: false, attempts: 1 })
    expect(slow.requests).toHaveLength(1)
    expect(run.warnings.at(-1)).toEqual({
      source: "notify:webhook",
      message: "JSON webhook (--webhook) not delivered: no answer within 150 ms",
    })
  })

  it("one target failing does not stop the others", async () => {
    const ok = await receiver({ otherwise: { kind: "status", status: 204 } })
    const broken = await receiver({ otherwise: { kind: "status", status: 404, body: "Unknown Webhook" } })
    const run = failedRun()
    const outcome = await notifyRun(
      run,
      { slack: secret(`${broken.url}/services/x/${SLACK_TOKEN}`), discord: secret(`${ok.url}/api/webhooks/1/${DISCORD_TOKEN}`) },
      { mode: "ALWAYS", ...noSleep() },
    )
    expect(outcome.results.map((r) => r.delivered)).toEqual([false, true])
    expect(broken.requests).toHaveLength(1) // a 404 is not retried
    expect(run.warnings.at(-1)!.message).toBe(
      'Slack webhook (--slack-webhook) not delivered: HTTP 404 "Unknown Webhook": the webhook URL is wrong or was revoked; update the secret',
    )
  })

  it("a secret that cannot be read, or is not a URL, is a warning that never echoes the value", async () => {
    const run = failedRun()
    const outcome = await notifyRun(
      run,
      {
        slack: { plaintext: async () => Promise.reject(new Error(`secret lookup failed for ${PLANTED}`)) },
        webhook: secret(`not a url ${HOOK_TOKEN}`),
      },
      { mode: "ALWAYS", secretValues: [PLANTED] },
    )
    expect(outcome.results.every((r) => !r.delivered && r.attempts === 0)).toBe(true)
    const messages = run.warnings.slice(-2).map((w) => w.message).join("\n")
    expect(messages).toContain("could not read the secret: secret lookup failed for ***")
    expect(messages).toContain("the secret is not an http(s) URL")
    expect(messages).not.toContain(PLANTED)
    expect(messages).not.toContain(HOOK_TOKEN)
  })
})

describe("deliver: bounded retry", () => {
  it("retries a 500 and succeeds on the second attempt", async () => {
    const r = await receiver({ replies: [{ kind: "status", status: 500 }], otherwise: { kind: "status", status: 200 } })
    const { delays, sleep } = noSleep()
    const result = await deliver("webhook", `${r.url}/x`, { hello: 1 }, { sleep })
    expect(result).toEqual({ target: "webhook", delivered: true, attempts: 2, status: 200 })
    expect(delays).toEqual([500])
    expect(r.requests.map((q) => q.json)).toEqual([{ hello: 1 }, { hello: 1 }])
  })

  it("honours Retry-After on a 429 (seconds)", async () => {
    const r = await receiver({
      replies: [{ kind: "status", status: 429, headers: { "retry-after": "2" }, body: '{"retry_after":2}' }],
      otherwise: { kind: "status", status: 204 },
    })
    const { delays, sleep } = noSleep()
    const result = await deliver("discord", `${r.url}/x`, {}, { sleep })
    expect(result).toMatchObject({ delivered: true, attempts: 2, status: 204 })
    expect(delays).toEqual([2000])
  })

  it("gives up at once when Retry-After asks for longer than the cap", async () => {
    const r = await receiver({ otherwise: { kind: "status", status: 429, headers: { "retry-after": "120" } } })
    const { delays, sleep } = noSleep()
    const result = await deliver("slack", `${r.url}/x`, {}, { sleep })
    expect(result.delivered).toBe(false)
    expect(result.attempts).toBe(1)
    expect(delays).toEqual([])
    expect(result.error).toMatch(/HTTP 429: the receiver is rate limiting; the receiver asked to retry after 2 min 00 s/)
  })

  it("stops after maxAttempts on a receiver that keeps failing", async () => {
    const r = await receiver({ otherwise: { kind: "status", status: 503, body: "busy" } })
    const { delays, sleep } = noSleep()
    const result = await deliver("webhook", `${r.url}/x`, {}, { sleep, maxAttempts: 4 })
    expect(result).toMatchObject({ delivered: false, attempts: 4, status: 503 })
    expect(r.requests).toHaveLength(4)
    expect(delays).toEqual([500, 1000, 2000])
    expect(result.error).toBe('HTTP 503 "busy": the receiver failed; gave up after 4 attempts')
  })

  it("retries a connection the receiver closes without answering", async () => {
    const r = await receiver({ replies: [{ kind: "close" }], otherwise: { kind: "status", status: 200 } })
    const result = await deliver("webhook", `${r.url}/x`, {}, noSleep())
    expect(result).toMatchObject({ delivered: true, attempts: 2 })
  })

  it("the run's signal cancels delivery", async () => {
    const r = await receiver({ otherwise: { kind: "hang" } })
    const controller = new AbortController()
    const pending = deliver("webhook", `${r.url}/x`, {}, { signal: controller.signal, timeoutMs: 10_000 })
    // Abort once the request has reached the receiver.
    while (r.requests.length === 0) await new Promise((res) => setTimeout(res, 5))
    controller.abort(new Error("Ctrl-C"))
    await expect(pending).resolves.toMatchObject({ delivered: false, error: "cancelled with the run" })
  })
})

describe("retry policy (pure)", () => {
  const policy = { maxAttempts: 3, baseDelayMs: 500, maxRetryDelayMs: 5000 }
  it.each([
    [1, { kind: "response" as const, status: 200 }, { retry: false }],
    [1, { kind: "response" as const, status: 400 }, { retry: false }],
    [1, { kind: "response" as const, status: 404 }, { retry: false }],
    [1, { kind: "timeout" as const }, { retry: false }],
    [1, { kind: "response" as const, status: 502 }, { retry: true, delayMs: 500 }],
    [2, { kind: "network" as const, message: "ECONNRESET" }, { retry: true, delayMs: 1000 }],
    [1, { kind: "response" as const, status: 429, retryAfterMs: 0 }, { retry: true, delayMs: 0 }],
    [3, { kind: "response" as const, status: 500 }, { retry: false, why: "gave up after 3 attempts" }],
  ])("attempt %d, %j → %j", (attempt, result, expected) => {
    expect(retryDecision(attempt, result, policy)).toEqual(expected)
  })

  it("parses Retry-After as seconds or an HTTP date", () => {
    const now = Date.parse("2026-11-25T10:00:00Z")
    expect(parseRetryAfter("3", now)).toBe(3000)
    expect(parseRetryAfter("1.5", now)).toBe(1500)
    expect(parseRetryAfter("Wed, 25 Nov 2026 10:00:04 GMT", now)).toBe(4000)
    expect(parseRetryAfter("Wed, 25 Nov 2026 09:00:00 GMT", now)).toBe(0)
    expect(parseRetryAfter("soon", now)).toBeUndefined()
    expect(parseRetryAfter(null, now)).toBeUndefined()
  })
})

describe("payloads stay within the services' limits for any run", () => {
  function hugeRun(): RunRecord {
    const run = failedRun()
    const long = "x".repeat(10_000)
    run.failingStep = `step ${"y".repeat(5000)}`
    run.steps.push({ name: run.failingStep, startedAt: run.startedAt, endedAt: run.startedAt, outcome: "failed", detail: `😀${long}` })
    run.rollback = { attempted: true, outcome: "failed", detail: long }
    run.version = "v".repeat(3000)
    run.warnings = Array.from({ length: 200 }, (_, i) => ({ source: `w${i}`, message: long }))
    return run
  }

  it("Slack", () => {
    expect(slackProblems(slackPayload(hugeRun()))).toEqual([])
    expect(slackProblems(slackPayload(succeededRun()))).toEqual([])
  })

  it("Discord", () => {
    expect(discordProblems(discordPayload(hugeRun()))).toEqual([])
    expect(discordProblems(discordPayload(succeededRun()))).toEqual([])
  })

  it("the checks themselves reject what the services reject (they are not vacuous)", () => {
    expect(slackProblems({ blocks: [{ type: "header", text: { type: "plain_text", text: "h".repeat(151) } }] })).toEqual([
      "blocks[0].text.text has 151 characters (max 150)",
    ])
    expect(slackProblems({})).toEqual(["needs text or blocks"])
    const embed = { title: "t".repeat(257), fields: [{ name: "n", value: "" }] }
    expect(discordProblems({ embeds: [embed] })).toEqual([
      "embeds[0].title has 257 characters (max 256)",
      "embeds[0].fields[0].value is empty",
    ])
    expect(discordProblems({ content: "c".repeat(2001) })).toEqual(["content has 2001 characters (max 2000)"])
    expect(discordProblems({ embeds: Array.from({ length: 2 }, () => ({ description: "d".repeat(3500) })) })).toEqual([
      "embeds hold 7000 characters in total (max 6000)",
    ])
  })

  it("no half surrogate pair is left at a cut", () => {
    const detail = discordPayload(hugeRun()).embeds[0]!.description!
    expect(detail).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/)
  })

  it("the generic payload is the whole story in plain JSON", () => {
    const p = webhookPayload(succeededRun())
    expect(p).toMatchObject({ verdict: "succeeded", succeeded: true, failingStep: null, rollback: null, durationMs: 545_000 })
    expect(p.text).toBe("✅ Staging deploy succeeded: 9b1e4c7a2d5f (version 2.4.0)")
  })
})
