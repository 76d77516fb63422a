// Notifications: Slack and Discord incoming webhooks and a generic JSON webhook.
//
// Pure core: `shouldNotify` (mode × verdict), payload builders per target, `retryDecision` and
// `parseRetryAfter`. Imperative shell: `deliver` (one POST with a timeout and a bounded retry) and
// `notifyRun` (reads the webhook Secrets, sends to every configured target, turns every failure into a
// warning on the run). Nothing here throws for a delivery problem and nothing changes the verdict: a
// notification is a courtesy, the report is the record.
//
// Webhook URLs carry their credential in the path, so they are resolved with `.plaintext()` only
// inside `notifyRun`, and every message that leaves this file is redacted with them.
import { redact, redactDeep } from "../shared/redact.js"
import { sleep } from "../shared/wait.js"
import { addWarning, type RunRecord, type RunVerdict } from "../report/run-record.js"
import { durationMs, formatDuration, oneLine, truncate } from "../shared/text.js"

export type NotifyMode = "ALWAYS" | "FAILURES_ONLY" | "NEVER"
export type NotifyTarget = "slack" | "discord" | "webhook"

/** Whether a run with this verdict is announced under this mode (a run still `running` never is). */
export function shouldNotify(mode: NotifyMode, verdict: RunVerdict | "running"): boolean {
  if (verdict === "running" || mode === "NEVER") return false
  return mode === "ALWAYS" || verdict !== "succeeded"
}

/** The per-run override (`--notify`) wins over the settings file. */
export function effectiveMode(settingsMode: NotifyMode, override?: NotifyMode): NotifyMode {
  return override ?? settingsMode
}

// --- What every message says --------------------------------------------------------------------

const ENV = { staging: "Staging", production: "Production" } as const
const VERDICT_TEXT: Record<RunVerdict | "running", string> = {
  succeeded: "succeeded",
  failed: "failed",
  "rolled-back": "rolled back",
  running: "in progress",
}
const VERDICT_ICON: Record<RunVerdict | "running", string> = {
  succeeded: "✅",
  failed: "❌",
  "rolled-back": "↩️",
  running: "⏳",
}

interface Facts {
  title: string
  environment: string
  verdict: string
  commit: string
  version: string
  duration: string
  image?: string
  failingStep?: string
  failingDetail?: string
  rollback?: string
  links: { label: string; url: string }[]
  warnings: number
}

function facts(run: RunRecord): Facts {
  const failing = run.failingStep ? run.steps.find((s) => s.name === run.failingStep) : undefined
  const rb = run.rollback
  const links: Facts["links"] = []
  for (const [label, url] of [
    ["Service", run.urls.service],
    ["Canary", run.urls.canary],
    ["CI run", run.urls.run],
  ] as const) {
    if (url && /^https?:\/\//.test(url)) links.push({ label, url })
  }
  return {
    title: `${VERDICT_ICON[run.verdict]} ${ENV[run.environment]} deploy ${VERDICT_TEXT[run.verdict]}`,
    environment: run.environment,
    verdict: run.verdict,
    commit: run.commit.slice(0, 12),
    version: run.version,
    duration: formatDuration(durationMs(run.startedAt, run.endedAt ?? run.steps.at(-1)?.endedAt)),
    image: run.image,
    failingStep: run.failingStep,
    failingDetail: failing?.detail,
    rollback: rb ? `${rb.attempted ? rb.outcome : "not attempted"}${rb.detail ? ` — ${rb.detail}` : ""}` : undefined,
    links,
    warnings: run.warnings.length,
  }
}

/** One line for chat previews and the `text` fallback. */
export function summaryLine(run: RunRecord): string {
  const f = facts(run)
  const parts = [`${f.title}: ${f.commit} (version ${f.version})`]
  if (f.failingStep) parts.push(`failing step: ${oneLine(f.failingStep)}`)
  if (f.rollback) parts.push(`rollback: ${oneLine(f.rollback)}`)
  return parts.join("; ")
}

// --- Slack --------------------------------------------------------------------------------------

/** Slack's documented Block Kit limits this builder stays within. */
export const SLACK_LIMITS = {
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  contextElements: 10,
  /** Slack truncates `text` beyond 40,000 characters; 3,000 keeps notifications readable. */
  text: 3000,
} as const

/** Slack mrkdwn needs &, < and > escaped; everything else is literal enough for our values. */
function slackEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
}

export interface SlackPayload {
  text: string
  blocks: Record<string, unknown>[]
}

/** An incoming-webhook message: `text` (notification fallback) plus Block Kit `blocks`. */
export function slackPayload(run: RunRecord): SlackPayload {
  const f = facts(run)
  const field = (name: string, value: string) => ({
    type: "mrkdwn",
    text: truncate(`*${name}*\n${slackEscape(oneLine(value))}`, SLACK_LIMITS.fieldText),
  })
  const fields = [
    field("Environment", f.environment),
    field("Verdict", VERDICT_TEXT[run.verdict]),
    field("Commit", `\`${f.commit}\``),
    field("Version", f.version),
    field("Duration", f.duration),
  ]
  if (f.failingStep) fields.push(field("Failing step", f.failingStep))
  if (f.rollback) fields.push(field("Rollback", f.rollback))
  if (f.warnings > 0) fields.push(field("Warnings", `${f.warnings} (see the run report)`))

  const blocks: Record<string, unknown>[] = [
    { type: "header", text: { type: "plain_text", text: truncate(f.title, SLACK_LIMITS.headerText), emoji: true } },
    { type: "section", fields: fields.slice(0, SLACK_LIMITS.fields) },
  ]
  if (f.failingDetail) {
    blocks.push({
      type: "section",
      text: { type: "mrkdwn", text: truncate(`*Why*\n${slackEscape(oneLine(f.failingDetail))}`, SLACK_LIMITS.sectionText) },
    })
  }
  if (f.image) {
    blocks.push({
      type: "section",
      text: { type: "mrkdwn", text: truncate(`*Image*\n\`${slackEscape(f.image)}\``, SLACK_LIMITS.sectionText) },
    })
  }
  if (f.links.length > 0) {
    blocks.push({
      type: "context",
      elements: [
        {
          type: "mrkdwn",
          // In <url|label> a `|` or `>` in the URL would end the link early.
          text: f.links.map((l) => `<${l.url.replace(/[|>]/g, encodeURIComponent)}|${l.label}>`).join(" · "),
        },
      ],
    })
  }
  return { text: truncate(summaryLine(run), SLACK_LIMITS.text), blocks }
}

// --- Discord ------------------------------------------------------------------------------------

/** Discord's documented message and embed limits this builder stays within. */
export const DISCORD_LIMITS = {
  content: 2000,
  embeds: 10,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  /** Sum of title, description, field names and values, footer and author across all embeds. */
  embedTotal: 6000,
} as const

const DISCORD_COLOUR: Record<RunVerdict | "running", number> = {
  succeeded: 0x2da44e,
  failed: 0xcf222e,
  "rolled-back": 0xbf8700,
  running: 0x8c959f,
}

/** Backslash-escapes Discord markdown so a step name cannot turn into formatting or a mention. */
function discordEscape(s: string): string {
  return s.replace(/[\\*_~`|]/g, (c) => `\\${c}`).replace(/^([>#-])/, "\\$1")
}

export interface DiscordEmbed {
  title: string
  description?: string
  url?: string
  color: number
  fields: { name: string; value: string; inline?: boolean }[]
  timestamp?: string
  footer?: { text: string }
}

export interface DiscordPayload {
  content: string
  embeds: DiscordEmbed[]
  allowed_mentions: { parse: never[] }
}

/** An execute-webhook body: a short `content` line plus one embed; mentions disabled. */
export function discordPayload(run: RunRecord): DiscordPayload {
  const f = facts(run)
  const field = (name: string, value: string, inline = true) => ({
    name: truncate(name, DISCORD_LIMITS.fieldName),
    // Discord rejects an empty field value.
    value: truncate(oneLine(value) || "—", DISCORD_LIMITS.fieldValue),
    inline,
  })
  const fields = [
    field("Environment", f.environment),
    field("Commit", `\`${f.commit}\``),
    field("Version", discordEscape(f.version)),
    field("Duration", f.duration),
  ]
  if (f.failingStep) fields.push(field("Failing step", discordEscape(f.failingStep), false))
  if (f.rollback) fields.push(field("Rollback", discordEscape(f.rollback), false))
  if (f.image) fields.push(field("Image", `\`${f.image.replace(/`/g, "'")}\``, false))
  if (f.links.length > 0) fields.push(field("Links", f.links.map((l) => `[${l.label}](${l.url})`).join(" · "), false))
  if (f.warnings > 0) fields.push(field("Warnings", `${f.warnings} (see the run report)`))

  const footer = "portfolio deploy pipeline"
  const title = truncate(f.title, DISCORD_LIMITS.title)
  const used = title.length + footer.length + fields.reduce((n, x) => n + x.name.length + x.value.length, 0)
  const descriptionBudget = Math.min(DISCORD_LIMITS.description, DISCORD_LIMITS.embedTotal - used)
  const embed: DiscordEmbed = {
    title,
    color: DISCORD_COLOUR[run.verdict],
    fields: fields.slice(0, DISCORD_LIMITS.fields),
    footer: { text: footer },
  }
  if (f.failingDetail && descriptionBudget > 1) {
    embed.description = truncate(discordEscape(oneLine(f.failingDetail)), descriptionBudget)
  }
  if (run.urls.run && /^https?:\/\//.test(run.urls.run)) embed.url = run.urls.run
  if (run.endedAt) embed.timestamp = run.endedAt
  return {
    content: truncate(discordEscape(summaryLine(run)), DISCORD_LIMITS.content),
    embeds: [embed],
    allowed_mentions: { parse: [] },
  }
}

// --- Generic JSON webhook -----------------------------------------------------------------------

export const WEBHOOK_SCHEMA = "portfolio-pipeline.notification/v1"

export interface WebhookPayload {
  schema: typeof WEBHOOK_SCHEMA
  text: string
  environment: RunRecord["environment"]
  verdict: RunRecord["verdict"]
  succeeded: boolean
  commit: string
  version: string
  image: string | null
  failingStep: string | null
  failingDetail: string | null
  rollback: RunRecord["rollback"] | null
  urls: RunRecord["urls"]
  startedAt: string
  endedAt: string | null
  durationMs: number
  warnings: RunRecord["warnings"]
}

/** A stable, documented JSON body for anything else (chat bridges, incident tools, a log sink). */
export function webhookPayload(run: RunRecord): WebhookPayload {
  const f = facts(run)
  return {
    schema: WEBHOOK_SCHEMA,
    text: summaryLine(run),
    environment: run.environment,
    verdict: run.verdict,
    succeeded: run.verdict === "succeeded",
    commit: run.commit,
    version: run.version,
    image: run.image ?? null,
    failingStep: run.failingStep ?? null,
    failingDetail: f.failingDetail ?? null,
    rollback: run.rollback ?? null,
    urls: { ...run.urls },
    startedAt: run.startedAt,
    endedAt: run.endedAt ?? null,
    durationMs: durationMs(run.startedAt, run.endedAt),
    warnings: run.warnings.map((w) => ({ ...w })),
  }
}

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

// --- Retry policy (pure) ------------------------------------------------------------------------

/**
 * Milliseconds a `Retry-After` header asks for: delta-seconds ("3", "1.5") or an HTTP date.
 * Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (!value) return undefined
  const v = value.trim()
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000)
  const at = Date.parse(v)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs)
}

export type AttemptResult =
  | { kind: "response"; status: number; retryAfterMs?: number }
  | { kind: "timeout" }
  | { kind: "network"; message: string }

export interface RetryPolicy {
  maxAttempts: number
  baseDelayMs: number
  maxRetryDelayMs: number
}

/**
 * Whether to try again after `attempt` (1-based) ended with `result`, and after how long.
 * Retried: 429 and 5xx (and 408), and connection failures before any answer. Not retried: other
 * 4xx (a wrong or revoked URL, a rejected body: trying again cannot help) and timeouts (the receiver
 * may have taken the message; a second wait would double the delay and may post it twice).
 */
export function retryDecision(
  attempt: number,
  result: AttemptResult,
  policy: RetryPolicy,
): { retry: true; delayMs: number } | { retry: false; why?: string } {
  if (result.kind === "response" && result.status >= 200 && result.status < 300) return { retry: false }
  const retryable =
    result.kind === "network" ||
    (result.kind === "response" && (result.status === 408 || result.status === 429 || result.status >= 500))
  if (!retryable) return { retry: false }
  if (attempt >= policy.maxAttempts) return { retry: false, why: `gave up after ${attempt} attempts` }
  const backoff = policy.baseDelayMs * 2 ** (attempt - 1)
  const asked = result.kind === "response" ? result.retryAfterMs : undefined
  if (asked !== undefined && asked > policy.maxRetryDelayMs) {
    return {
      retry: false,
      why: `the receiver asked to retry after ${formatDuration(asked)}, longer than the ${formatDuration(policy.maxRetryDelayMs)} a notification may wait`,
    }
  }
  return { retry: true, delayMs: Math.min(asked ?? backoff, policy.maxRetryDelayMs) }
}

// --- Delivery (shell) ---------------------------------------------------------------------------

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
}

export interface DeliveryResult {
  target: NotifyTarget
  delivered: boolean
  attempts: number
  /** HTTP status of the last answer, if any. */
  status?: number
  /** Why it was not delivered (already redacted by notifyRun). */
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
      const snippet = oneLine(answer).slice(0, 200)
      problem = `HTTP ${res.status}${snippet ? ` ${JSON.stringify(snippet)}` : ""}: ${httpAdvice(res.status)}`
    } catch (err) {
      if (options.signal?.aborted) {
        return { target, delivered: false, attempts: attempt, status: lastStatus, error: "cancelled with the run" }
      }
      if (timeout.aborted) {
        result = { kind: "timeout" }
        problem = `no answer within ${formatDuration(timeoutMs)}`
      } else {
        const message = describeNetworkError(err)
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
  /** Other plaintext secrets of the run, scrubbed from payloads and warnings too. Default: none. */
  secretValues?: readonly (string | undefined)[]
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
      return deliver(r.target, r.url, body, options)
    }),
  )
  for (const r of results) {
    if (r.delivered) continue
    r.error = redact(r.error ?? "not delivered", secrets)
    addWarning(run, `notify:${r.target}`, `${TARGET_NAME[r.target]} not delivered: ${r.error}`)
  }
  return { mode: options.mode, notified: true, results }
}
