// Delivery against real HTTP receivers on loopback (test/support/webhook-receiver.ts) through the real
// global fetch. Waits between retries go through an injected sleep that records the delay instead of
// sleeping, so no test depends on timing except the one timeout test (which only asserts the outcome,
// never how long it took).
import { describe, expect, it } from "vitest"
import { deliver, notifyRun, type FetchLike, type SecretLike } from "../../dagger/src/notify/delivery.js"
import { NotifyMode } from "../../dagger/src/notify/mode.js"
import { WEBHOOK_SCHEMA } from "../../dagger/src/notify/webhook.js"
import type { Secret } from "@dagger.io/dagger"
import { unreachableUrl } from "../support/webhook-receiver.js"
import { discordProblems, slackProblems } from "../support/webhook-payload-limits.js"
import {
  diagnosedRun,
  DISCORD_TOKEN,
  failedRun,
  HOOK_TOKEN,
  noSleep,
  PLANTED,
  receiversClosedAfterEach,
  secret,
  SLACK_TOKEN,
  threeTargets as threeTargetsOn,
} from "./runs.js"

// Checked by tsc: a Dagger Secret can be passed as a target, and the global fetch is the default sender.
export const daggerSecretFits = (s: Secret): SecretLike => s
export const globalFetchFits: FetchLike = fetch

const receiver = receiversClosedAfterEach()
const threeTargets = () => threeTargetsOn(receiver)

describe("notifyRun delivers to every configured target", () => {
  it("Slack, Discord and the JSON webhook each get one valid POST with the run's facts", async () => {
    const t = await threeTargets()
    const run = failedRun()
    const outcome = await notifyRun(run, t.targets, { mode: NotifyMode.ALWAYS, secretValues: [PLANTED], ...noSleep() })

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
    await notifyRun(run, t.targets, { mode: NotifyMode.ALWAYS, secretValues: [PLANTED], ...noSleep() })
    for (const r of [t.slack, t.discord, t.hook]) {
      const body = r.requests[0]!.body
      for (const s of [PLANTED, SLACK_TOKEN, DISCORD_TOKEN, HOOK_TOKEN]) expect(body).not.toContain(s)
      // The planted value was there and was replaced (Discord's copy has its Markdown escaped: \*\*\*).
      expect(body).toMatch(/(\\\\)?\*(\\\\)?\*(\\\\)?\*/)
    }
  })
})

describe("a failure's analysis and diagnostics reach every target", () => {
  it("the failing figure and the first diagnostic titles arrive, within each service's limits, the planted secret scrubbed", async () => {
    const t = await threeTargets()
    const run = diagnosedRun()
    await notifyRun(run, t.targets, { mode: NotifyMode.ALWAYS, secretValues: [PLANTED], ...noSleep() })
    expect(slackProblems(t.slack.requests[0]!.json)).toEqual([])
    expect(discordProblems(t.discord.requests[0]!.json)).toEqual([])
    for (const r of [t.slack, t.discord, t.hook]) {
      const body = r.requests[0]!.body
      expect(body).not.toContain(PLANTED)
      expect(body).toContain("error rate 5.0 %")
      expect(body).toContain("HealthCheckContainerError")
      expect(body).toContain(": Error 403")
    }
    const generic = t.hook.requests[0]!.json as { diagnostics: { title: string; lines: string[] }[]; failingFigure: string }
    expect(generic.failingFigure).toBe("canary 10%: error rate 5.0 % > 1.0 % (10 of 200 requests failed)")
    expect(generic.diagnostics).toHaveLength(5)
    expect(generic.diagnostics[1]!.lines).toEqual(["GET / → 500 in 12 ms: token ***"])
  })
})

describe("undeliverable notifications become warnings, never errors", () => {
  it("receiver down: a warning naming the target, verdict unchanged, URL not in the warning", async () => {
    const base = await unreachableUrl()
    const url = `${base}/services/T000/B000/${SLACK_TOKEN}`
    const run = failedRun()
    const { delays, sleep } = noSleep()
    const outcome = await notifyRun(run, { slack: secret(url) }, { mode: NotifyMode.ALWAYS, sleep })
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
    const outcome = await notifyRun(run, { webhook: secret(`${slow.url}/hook/${HOOK_TOKEN}`) }, { mode: NotifyMode.ALWAYS, timeoutMs: 150, ...noSleep() })
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
      { mode: NotifyMode.ALWAYS, ...noSleep() },
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
      { mode: NotifyMode.ALWAYS, secretValues: [PLANTED] },
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

describe("a secret in a receiver's error answer is scrubbed before the answer is cut", () => {
  /** Every run of 8 characters of `secret` that `text` still holds. */
  const survivingPieces = (text: string, secret: string) =>
    Array.from({ length: secret.length - 7 }, (_, i) => secret.slice(i, i + 8)).filter((piece) => text.includes(piece))

  it.each([
    ["the hook URL itself", (url: string) => url],
    ["another secret of the run", () => PLANTED],
  ])("%s, echoed in a 404 so that it straddles the cut, leaves no piece in the warning", async (_, secretOf) => {
    const hook = await receiver()
    const url = `${hook.url}/hooks/${HOOK_TOKEN}`
    const echoed = secretOf(url)
    // The quoted answer is cut at 200 characters; the secret starts before and ends after that point.
    const lead = ".".repeat(200 - Math.floor(echoed.length / 2) - " unknown hook ".length)
    hook.script([], { kind: "status", status: 404, body: `${lead} unknown hook ${echoed} ${"y".repeat(300)}` })

    const run = failedRun()
    const outcome = await notifyRun(run, { webhook: secret(url) }, { mode: NotifyMode.ALWAYS, secretValues: [PLANTED], ...noSleep() })

    expect(hook.requests).toHaveLength(1)
    expect(outcome.results[0]).toMatchObject({ delivered: false, status: 404 })
    const warning = run.warnings.at(-1)!
    expect(warning.source).toBe("notify:webhook")
    expect(survivingPieces(warning.message, echoed)).toEqual([])
    // Redacted, then cut (the cut marks itself), then the advice.
    expect(warning.message).toMatch(/HTTP 404 "\.+ unknown hook \*\*\* y+…": the webhook URL is wrong or was revoked; update the secret$/)
  })

  it("deliver on its own scrubs its URL from the answer it quotes", async () => {
    const hook = await receiver()
    const url = `${hook.url}/hooks/${HOOK_TOKEN}`
    hook.script([], { kind: "status", status: 410, body: `gone: ${url}` })
    const result = await deliver("webhook", url, {}, noSleep())
    expect(result.error).toBe('HTTP 410 "gone: ***": the webhook URL is wrong or was revoked; update the secret')
  })
})
