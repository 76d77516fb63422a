// Runtime settings from the environment. Pure: `loadConfig(env)` never reads process.env itself, so tests
// pass plain objects and every problem is reported at once instead of one per restart.

/** Everything the server needs to know at start, validated. */
export interface AppConfig {
  /** TCP port (env PORT; Cloud Run sets it). Default 8080. 0 lets the kernel pick one (tests). */
  port: number
  /** Interface to bind (env HOST). Default 0.0.0.0: containers must accept traffic from outside. */
  host: string
  /** Release shown by /health and the page footer (env APP_VERSION, from the image build arg). Default "0.0.0-dev". */
  version: string
  /** Git commit the image was built from (env APP_COMMIT, from the image build arg). Default "unknown". */
  commit: string
  /**
   * How long a SIGTERM drain may take before open connections are cut (env APP_SHUTDOWN_TIMEOUT_MS).
   * Default 8000: Cloud Run kills an instance 10 s after SIGTERM and ECS 30 s after (stopTimeout default),
   * so 8 s finishes inside both with room for the exit itself.
   */
  shutdownTimeoutMs: number
}

export const DEFAULT_PORT = 8080
export const DEFAULT_VERSION = "0.0.0-dev"
export const DEFAULT_COMMIT = "unknown"
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 8000

type Env = Readonly<Record<string, string | undefined>>

/** Thrown by `loadConfig`; `problems` lists every bad variable with its value and the rule. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid app environment:\n  - ${problems.join("\n  - ")}`)
    this.name = "ConfigError"
  }
}

// A version travels into URLs, log fields and image labels: keep it to semver-ish characters.
const VERSION_RE = /^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$/
// Short or full git SHA; "unknown" marks a local build so a deploy check can never mistake it for a release.
const COMMIT_RE = /^(?:[0-9a-f]{7,40}|unknown)$/

/** Parses a TCP port; returns an error message instead of throwing so callers can collect problems. */
export function parsePort(raw: string | undefined, fallback = DEFAULT_PORT): number | string {
  if (raw === undefined || raw === "") return fallback
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) {
    return `PORT must be an integer from 0 to 65535, got '${raw}'`
  }
  return Number(raw)
}

/** Validates the environment and fills defaults. Throws `ConfigError` naming every bad variable. */
export function loadConfig(env: Env): AppConfig {
  const problems: string[] = []

  const port = parsePort(env.PORT)
  if (typeof port === "string") problems.push(port)

  const host = env.HOST || "0.0.0.0"

  const version = env.APP_VERSION || DEFAULT_VERSION
  if (!VERSION_RE.test(version)) {
    problems.push(`APP_VERSION must be 1-64 characters of [0-9A-Za-z._+-] starting with a letter or digit, ` +
      `got '${version}' (set it from the image build argument APP_VERSION)`)
  }

  const commit = (env.APP_COMMIT || DEFAULT_COMMIT).toLowerCase()
  if (!COMMIT_RE.test(commit)) {
    problems.push(`APP_COMMIT must be a 7-40 character hex git SHA or 'unknown', got '${env.APP_COMMIT}' ` +
      `(set it from the image build argument APP_COMMIT, e.g. $(git rev-parse HEAD))`)
  }

  let shutdownTimeoutMs = DEFAULT_SHUTDOWN_TIMEOUT_MS
  const rawTimeout = env.APP_SHUTDOWN_TIMEOUT_MS
  if (rawTimeout !== undefined && rawTimeout !== "") {
    if (!/^\d{1,7}$/.test(rawTimeout)) {
      problems.push(`APP_SHUTDOWN_TIMEOUT_MS must be a whole number of milliseconds up to 9999999, got '${rawTimeout}'`)
    } else {
      shutdownTimeoutMs = Number(rawTimeout)
    }
  }

  if (problems.length > 0) throw new ConfigError(problems)
  return { port: port as number, host, version, commit, shutdownTimeoutMs }
}
