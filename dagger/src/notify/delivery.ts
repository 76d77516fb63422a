// Sending notifications: `deliver` (one POST with a timeout and a bounded retry, per retry.ts) and
// `notifyRun` (reads the webhook Secrets, sends to every configured target, turns every failure into a
// warning on the run). Nothing here throws for a delivery problem and nothing changes the verdict: a
// notification is a courtesy, the report is the record.
//
// Webhook URLs carry their credential in the path, so they are resolved with `.plaintext()` only
// inside `notifyRun`, and every message that leaves this file is redacted with them. Redaction always
// comes before any cut: a secret straddling the cut would otherwise leave its prefix behind.
import { redact, redactDeep } from "../shared/redact.js"
import { sleep } from "../shared/wait.js"
import { addWarning, type RunRecord } from "../report/run-record.js"
import { formatDuration, oneLine, truncate } from "../shared/text.js"
import { shouldNotify, type NotifyMode } from "./mode.js"
import { retryDecision, parseRetryAfter, type AttemptResult, type RetryPolicy } from "./retry.js"
import { discordPayload, type DiscordPayload } from "./discord.js"
import { slackPayload, type SlackPayload } from "./slack.js"
import { webhookPayload, type WebhookPayload } from "./webhook.js"

export type NotifyTarget = "slack" | "discord" | "webhook"

/** The payload for one target. */
export function payloadFor(target: NotifyTarget, run: RunRecord): SlackPayload | DiscordPayload | WebhookPayload {
  switch (target) {
    case "slack":
      return slackPayload(run)
    case "discord":
      return discordPayload(run)
    case "webhook":
      return webhookPayload(run)
  }
}

/** How much of a receiver's error answer a warning quotes (after redaction). */
const ANSWER_SNIPPET_MAX = 200

/** The part of `fetch` this file uses; the global fetch fits, tests may pass their own. */
export type FetchLike = (
  url: string,
  init: { method: "POST"; headers: Record<string, string>; body: string; signal: AbortSignal },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>

export interface DeliveryOptions {
  /** Default: the global fetch. */
  fetch?: FetchLike
  /** Per attempt. Default 5000 ms. */
  timeoutMs?: number
  /** Including the first. Default 3. */
  maxAttempts?: number
  /** First backoff delay, doubled per attempt. Default 500 ms. */
  baseDelayMs?: number
  /** Longest wait between attempts, also the most of a Retry-After we honour. Default 5000 ms. */
  maxRetryDelayMs?: number
  /** The run's signal (cancel); aborting it stops waiting and sending. Default: none. */
  signal?: AbortSignal
  /** Default: a timer; tests may pass a recording fake. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  /** Time source for Retry-After dates. Default Date.now. */
  now?: () => number
  /**
   * Plaintext secrets scrubbed from the error (besides `url` itself, which always is). Default: none;
   * notifyRun passes the run's secrets and every webhook URL.
   */
  secretValues?: readonly (string | undefined)[]
}

export interface DeliveryResult {
  target: NotifyTarget
  delivered: boolean
  attempts: number
  /** HTTP status of the last answer, if any. */
  status?: number
  /** Why it was not delivered; the URL and `secretValues` already scrubbed. */
  error?: string
}

function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const cause = (err as { cause?: unknown }).cause
  const detail =
    cause && typeof cause === "object"
      ? ((cause as { code?: string }).code ?? (cause as { message?: string }).message)
      : undefined
  return detail ? `${err.message} (${detail})` : err.message
}

function httpAdvice(status: number): string {
  if (status === 401 || status === 403 || status === 404 || status === 410) {
    return "the webhook URL is wrong or was revoked; update the secret"
  }
  if (status === 400 || status === 413 || status === 422) return "the receiver rejected the message body"
  if (status === 429) return "the receiver is rate limiting"
  return "the receiver failed"
}

/** POSTs `body` as JSON to `url`, retrying within the policy. Never throws. */
export async function deliver(
  target: NotifyTarget,
  url: string,
  body: unknown,
  options: DeliveryOptions = {},
): Promise<DeliveryResult> {
  const fetchFn: FetchLike = options.fetch ?? globalThis.fetch
  const timeoutMs = options.timeoutMs ?? 5000
  const policy: RetryPolicy = {
    maxAttempts: Math.max(1, options.maxAttempts ?? 3),
    baseDelayMs: options.baseDelayMs ?? 500,
    maxRetryDelayMs: options.maxRetryDelayMs ?? 5000,
  }
  const pause = options.sleep ?? sleep
  const now = options.now ?? Date.now
  const payload = JSON.stringify(body)
  const secrets = [url, ...(options.secretValues ?? [])]
  let attempt = 0
  let lastStatus: number | undefined
  for (;;) {
    attempt++
    if (options.signal?.aborted) {
      return { target, delivered: false, attempts: attempt - 1, status: lastStatus, error: "cancelled with the run" }
    }
    const timeout = AbortSignal.timeout(timeoutMs)
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
    let result: AttemptResult
    let problem: string
    try {
      const res = await fetchFn(url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "portfolio-pipeline-notify" },
        body: payload,
        signal,
      })
      lastStatus = res.status
      // Read the body in every case so the connection is released; keep a snippet for errors.
      const answer = await res.text().catch(() => "")
      if (res.status >= 200 && res.status < 300) return { target, delivered: true, attempts: attempt, status: res.status }
      result = { kind: "response", status: res.status, retryAfterMs: parseRetryAfter(res.headers.get("retry-after"), now()) }
      const snippet = truncate(oneLine(redact(answer, secrets)), ANSWER_SNIPPET_MAX)
      problem = `HTTP ${res.status}${snippet ? ` ${JSON.stringify(snippet)}` : ""}: ${httpAdvice(res.status)}`
    } catch (err) {
      if (options.signal?.aborted) {
        return { target, delivered: false, attempts: attempt, status: lastStatus, error: "cancelled with the run" }
      }
      if (timeout.aborted) {
        result = { kind: "timeout" }
        problem = `no answer within ${formatDuration(timeoutMs)}`
      } else {
        const message = redact(describeNetworkError(err), secrets)
        result = { kind: "network", message }
        problem = `could not connect: ${message}`
      }
    }
    const next = retryDecision(attempt, result, policy)
    if (!next.retry) {
      const why = next.why ? `; ${next.why}` : ""
      return { target, delivered: false, attempts: attempt, status: lastStatus, error: `${problem}${why}` }
    }
    try {
      await pause(next.delayMs, options.signal)
    } catch {
      return { target, delivered: false, attempts: attempt, status: lastStatus, error: `${problem}; cancelled with the run` }
    }
  }
}

/** Anything with Dagger Secret's `plaintext()`; a Dagger `Secret` fits. */
export interface SecretLike {
  plaintext(): Promise<string>
}

export type NotifyTargets = Partial<Record<NotifyTarget, SecretLike>>

export interface NotifyOptions extends DeliveryOptions {
  mode: NotifyMode
  // secretValues (from DeliveryOptions): the run's other plaintext secrets, scrubbed from payloads and
  // warnings too, together with every webhook URL.
}

export interface NotifyOutcome {
  mode: NotifyMode
  /** False when the mode says this run is not announced (then `results` is empty). */
  notified: boolean
  results: DeliveryResult[]
}

const TARGET_NAME: Record<NotifyTarget, string> = {
  slack: "Slack webhook (--slack-webhook)",
  discord: "Discord webhook (--discord-webhook)",
  webhook: "JSON webhook (--webhook)",
}

/**
 * Announces a finished run on every configured target, in parallel. Each target that cannot be
 * reached becomes a warning on `run` (source `notify:<target>`); the verdict is never touched and
 * nothing is thrown. Call it after `finishRun` and before rendering the final report, so the report
 * lists undelivered notifications.
 */
export async function notifyRun(run: RunRecord, targets: NotifyTargets, options: NotifyOptions): Promise<NotifyOutcome> {
  if (!shouldNotify(options.mode, run.verdict)) return { mode: options.mode, notified: false, results: [] }
  const configured = (Object.keys(TARGET_NAME) as NotifyTarget[]).filter((t) => targets[t] !== undefined)

  const resolved = await Promise.all(
    configured.map(async (target) => {
      try {
        return { target, url: (await targets[target]!.plaintext()).trim() }
      } catch (err) {
        return { target, error: `could not read the secret: ${describeNetworkError(err)}` }
      }
    }),
  )
  const secrets = [...(options.secretValues ?? []), ...resolved.map((r) => r.url)]
  const safeRun = redactDeep(run, secrets)

  const results = await Promise.all(
    resolved.map(async (r): Promise<DeliveryResult> => {
      if (r.url === undefined) return { target: r.target, delivered: false, attempts: 0, error: r.error }
      if (!/^https?:\/\/[^\s/]+/i.test(r.url)) {
        // Never echo the value: it is a secret even when it is malformed.
        return { target: r.target, delivered: false, attempts: 0, error: "the secret is not an http(s) URL" }
      }
      const body = redactDeep(payloadFor(r.target, safeRun), secrets)
      return deliver(r.target, r.url, body, { ...options, secretValues: secrets })
    }),
  )
  for (const r of results) {
    if (r.delivered) continue
    r.error = redact(r.error ?? "not delivered", secrets)
    addWarning(run, `notify:${r.target}`, `${TARGET_NAME[r.target]} not delivered: ${r.error}`)
  }
  return { mode: options.mode, notified: true, results }
}
