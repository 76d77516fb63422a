// Structured logs: one JSON object per line on stdout. The shape follows Google Cloud Logging's
// structured-log fields (`severity`, `message`, `httpRequest`), which Cloud Run turns into request
// logs; CloudWatch (ECS awslogs) stores the same line as JSON and Logs Insights queries its fields
// (`filter httpRequest.status >= 500`). One format, both clouds.

export type Severity = "DEBUG" | "INFO" | "WARNING" | "ERROR" | "CRITICAL"

export interface AccessRecord {
  method: string
  /** Path and query as requested. */
  url: string
  status: number
  /** Bytes of body sent. */
  bytes: number
  durationMs: number
  userAgent?: string
  remoteIp?: string
  referer?: string
  protocol: string
  /** True when the client went away before the response was finished. */
  aborted?: boolean
}

/** A log sink: receives one complete line (without the newline). */
export type LogSink = (line: string) => void

/** 5xx are errors, except 503 which the app sends on purpose while starting and draining. */
export function severityFor(status: number): Severity {
  if (status >= 500 && status !== 503) return "ERROR"
  if (status >= 400) return "WARNING"
  return "INFO"
}

// Logs are parsed by machines; a user agent must not be able to forge extra fields or lines.
// JSON.stringify escapes quotes and newlines; the cap bounds what a client can make us write.
function cap(value: string | undefined, max = 512): string | undefined {
  return value === undefined ? undefined : value.length > max ? value.slice(0, max) + "…" : value
}

/** The access-log line for one request. */
export function accessLogLine(r: AccessRecord, time: Date, version: string): string {
  return JSON.stringify({
    severity: r.aborted ? "WARNING" : severityFor(r.status),
    time: time.toISOString(),
    message: `${r.method} ${cap(r.url, 200)} ${r.status}${r.aborted ? " (client aborted)" : ""}`,
    httpRequest: {
      requestMethod: r.method,
      requestUrl: cap(r.url, 2048),
      status: r.status,
      responseSize: String(r.bytes),
      // Cloud Logging's Duration format: seconds with a trailing "s".
      latency: `${(r.durationMs / 1000).toFixed(6)}s`,
      userAgent: cap(r.userAgent),
      remoteIp: r.remoteIp,
      referer: cap(r.referer),
      protocol: r.protocol,
    },
    version,
  })
}

/** A lifecycle or error line (start, ready, draining, stopped, failures). */
export function eventLogLine(severity: Severity, message: string, time: Date, fields: Record<string, unknown> = {}): string {
  return JSON.stringify({ severity, time: time.toISOString(), message, ...fields })
}
