// What a health check is given, validated before any request: its limits (one schema, also used by
// config/settings.ts for ci/pipeline.yaml's `staging.health` / `production.health`), the defaults the CLI
// shows, and the URL to poll (which never carries credentials, and whose userinfo is never shown).
import { z } from "#zod"

/** An integer in [min, max]. The rule is zod's message, so both the CLI and the settings file name it. */
function integer(min: number, max: number, unit = "") {
  const rule = `must be an integer from ${min} to ${max}${unit ? ` ${unit}` : ""}`
  return z.number(rule).int(rule).min(min, rule).max(max, rule)
}

/**
 * The limits of one check. ci/pipeline.yaml must state every key (config/settings.ts); the CLI and other
 * callers fall back to HEALTH_CHECK_DEFAULTS. The lower bounds keep a loopback test fast (10 ms polls); the
 * upper ones stop a typo from turning a deploy's health step into an hour of polling.
 */
export const HealthLimitsSchema = z.strictObject({
  /** Time between the starts of two attempts. */
  intervalMs: integer(10, 60_000, "ms"),
  /** Per-request timeout (capped by the remaining budget). */
  requestTimeoutMs: integer(100, 60_000, "ms"),
  /** Overall budget. */
  budgetSeconds: integer(1, 3600, "s"),
  /** Successes in a row needed. */
  consecutiveSuccesses: integer(1, 20),
})

/** The health endpoint's path, appended to the service's base URL (also ci/pipeline.yaml `app.healthPath`). */
export const HealthPathSchema = z.string("must be a string").regex(/^\/[A-Za-z0-9._~/-]*$/, "must be an absolute URL path like /health")

export const HealthCheckSettingsSchema = HealthLimitsSchema.extend({ path: HealthPathSchema })

/** Settings of one check; the limits' names match ci/pipeline.yaml's `health` blocks. */
export type HealthCheckSettings = z.infer<typeof HealthCheckSettingsSchema>

/** The CLI's defaults (index.ts states them in each flag's help; a test keeps them equal). */
export const HEALTH_CHECK_DEFAULTS: Readonly<HealthCheckSettings> = Object.freeze({
  intervalMs: 250,
  requestTimeoutMs: 2000,
  budgetSeconds: 120,
  consecutiveSuccesses: 3,
  path: "/health",
})

export class HealthCheckInputError extends Error {
  override name = "HealthCheckInputError"
}

/** Validates settings and fills defaults. Throws HealthCheckInputError naming each bad key, its value and the rule. */
export function resolveSettings(partial: Partial<HealthCheckSettings> = {}): HealthCheckSettings {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined))
  const candidate: Record<string, unknown> = { ...HEALTH_CHECK_DEFAULTS, ...defined }
  const parsed = HealthCheckSettingsSchema.safeParse(candidate)
  if (parsed.success) return parsed.data
  const problems = parsed.error.issues.map((issue) => {
    if (issue.code === "unrecognized_keys") return `Unknown health check setting(s) ${issue.keys.join(", ")}; the settings are ${Object.keys(HEALTH_CHECK_DEFAULTS).join(", ")}.`
    const key = String(issue.path[0])
    const value = candidate[key]
    return `Expected \`${key}\` to be ${issue.message.replace(/^must be /, "")}, got \`${String(value)}\` (${typeof value}).`
  })
  throw new HealthCheckInputError(problems.join(" "))
}

/**
 * A URL as it may be shown: its userinfo (user:password@) replaced by `***`, whole. Only an http(s) URL
 * the parser accepts is trusted to say where its userinfo ends; anything else is hidden up to its LAST
 * `@`, because a password may itself hold `@` or `/` (and `admin:pw@host`, without a scheme, parses as
 * the scheme `admin`).
 */
export function redactUrl(raw: string): string {
  const url = URL.canParse(raw) ? new URL(raw) : undefined
  if (url && (url.protocol === "http:" || url.protocol === "https:")) {
    if (url.username === "" && url.password === "") return raw
    url.username = ""
    url.password = ""
    return url.href.replace("://", "://***@")
  }
  return raw.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)?.*@/s, "$1***@")
}

/**
 * `<base>` + path, validated before any request: absolute http(s) URL, no credentials.
 * A path prefix in the base is kept (https://host/app + /health → https://host/app/health).
 */
export function healthUrl(base: string, path: string = HEALTH_CHECK_DEFAULTS.path): string {
  const trimmed = base.trim()
  const shown = JSON.stringify(redactUrl(trimmed))
  let url: URL
  try {
    url = new URL(trimmed)
  } catch {
    throw new HealthCheckInputError(
      `url ${shown} is not an absolute URL; pass the service's base URL with its scheme, e.g. https://portfolio-abc123-uw.a.run.app or http://my-alb-123.us-west-1.elb.amazonaws.com`,
    )
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    // The scheme as shown: in `alice:pw@host` what the parser calls the scheme is the user name.
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(redactUrl(trimmed))?.[1]
    throw new HealthCheckInputError(
      `url ${shown} ${scheme ? `uses ${scheme}` : "does not start with http:// or https://"}; only http and https are supported — pass the service's http(s) base URL`,
    )
  }
  if (url.username || url.password) {
    throw new HealthCheckInputError(
      `url ${shown} contains credentials (user:password@); the health endpoint must answer without them — remove them from the URL`,
    )
  }
  url.hash = ""
  url.pathname = url.pathname.replace(/\/+$/, "") + path
  return url.toString()
}
