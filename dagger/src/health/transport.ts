// Transport errors → failure kinds. Pure. Node's fetch (undici) wraps the real cause as
// TypeError("fetch failed") with `cause` (an AggregateError when IPv4 and IPv6 were both tried), so the
// whole chain is searched for a code.
import { clip, formatMs, type TransportFailureKind } from "./verdict.js"

const CODE_KINDS: Array<[RegExp, TransportFailureKind]> = [
  [/^(ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|EADDRNOTAVAIL)$/, "refused"],
  [/^(ENOTFOUND|EAI_AGAIN|EAI_NONAME|EAI_NODATA|EAI_FAIL)$/, "dns"],
  [/^(ECONNRESET|EPIPE|ECONNABORTED|UND_ERR_SOCKET|UND_ERR_CLOSED)$/, "reset"],
  [/^(ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT|UND_ERR_HEADERS_TIMEOUT|UND_ERR_BODY_TIMEOUT)$/, "timeout"],
  [/^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH)/, "tls"],
]

function errorChain(err: unknown): Array<{ name?: string; code?: string; message?: string }> {
  const out: Array<{ name?: string; code?: string; message?: string }> = []
  const queue: unknown[] = [err]
  while (queue.length > 0 && out.length < 10) {
    const e = queue.shift()
    if (typeof e !== "object" || e === null) continue
    const r = e as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown; errors?: unknown }
    out.push({
      name: typeof r.name === "string" ? r.name : undefined,
      code: typeof r.code === "string" ? r.code : undefined,
      message: typeof r.message === "string" ? r.message : undefined,
    })
    if (r.cause !== undefined) queue.push(r.cause)
    if (Array.isArray(r.errors)) queue.push(...r.errors)
  }
  return out
}

/** Maps a fetch rejection to a failure kind and a one-line detail. Pure. */
export function classifyTransportError(err: unknown, timeoutMs: number): { failure: TransportFailureKind; detail: string } {
  const chain = errorChain(err)
  if (chain.some((e) => e.name === "TimeoutError" || e.name === "AbortError")) {
    return { failure: "timeout", detail: `no complete answer within ${formatMs(timeoutMs)}` }
  }
  for (const e of chain) {
    for (const [re, failure] of CODE_KINDS) {
      if (e.code && re.test(e.code)) return { failure, detail: clip(e.message ?? e.code) }
    }
  }
  const deepest = chain.at(-1)
  const detail = clip(chain.map((e) => e.message).filter(Boolean).join(": ") || String(err))
  // Undici reports a body cut short as TypeError("terminated") without a code.
  if (chain.some((e) => e.message === "terminated")) return { failure: "reset", detail }
  return { failure: "other", detail: deepest?.code ? `${deepest.code}: ${detail}` : detail }
}
