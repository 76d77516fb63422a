// Small HTTP decisions with no I/O: content types, Accept-Encoding negotiation, ETag matching and the
// security headers every response carries.

export type Encoding = "br" | "gzip" | "identity"

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".txt": "text/plain; charset=utf-8",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
}

/** Content type for a file name, or undefined when the extension is not one we serve. */
export function contentTypeFor(fileName: string): string | undefined {
  const dot = fileName.lastIndexOf(".")
  return dot < 0 ? undefined : CONTENT_TYPES[fileName.slice(dot).toLowerCase()]
}

/** Whether compressing a type can pay off (already-compressed images and fonts cannot). */
export function isCompressible(contentType: string): boolean {
  return /^text\/|^application\/json|^image\/svg\+xml/.test(contentType)
}

/**
 * Picks the best encoding we hold that the client accepts (RFC 9110 §12.5.3): highest q wins, ties go
 * to our preference br > gzip > identity; `q=0` forbids a coding, `*` covers codings not named.
 * Identity is acceptable unless excluded explicitly (`identity;q=0` or `*;q=0` without naming it).
 */
export function chooseEncoding(acceptEncoding: string | undefined, available: readonly Encoding[]): Encoding | undefined {
  const weights = new Map<string, number>()
  for (const part of (acceptEncoding ?? "").split(",")) {
    const [rawName, ...params] = part.split(";")
    const name = rawName?.trim().toLowerCase()
    if (!name) continue
    let q = 1
    for (const param of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(param)
      if (m?.[1] !== undefined) q = Math.min(1, Math.max(0, Number(m[1]) || 0))
    }
    // "x-gzip" is the same coding under an old name (RFC 9110 §8.4.1.3).
    weights.set(name === "x-gzip" ? "gzip" : name, q)
  }
  const star = weights.get("*")
  const weightOf = (e: Encoding): number => {
    const named = weights.get(e)
    if (named !== undefined) return named
    if (e === "identity") return star === 0 ? 0 : 0.001 // acceptable but least preferred unless named
    return star ?? 0
  }
  const preference: readonly Encoding[] = ["br", "gzip", "identity"]
  let best: Encoding | undefined
  let bestQ = 0
  for (const e of preference) {
    if (!available.includes(e)) continue
    const q = weightOf(e)
    if (q > bestQ) {
      best = e
      bestQ = q
    }
  }
  return best
}

/** True when an If-None-Match header matches our ETag (weak comparison, RFC 9110 §13.1.2). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false
  if (ifNoneMatch.trim() === "*") return true
  const opaque = (t: string) => t.trim().replace(/^W\//, "")
  const ours = opaque(etag)
  return ifNoneMatch.split(",").some((t) => opaque(t) === ours)
}

/**
 * Headers on every response. The page loads nothing but its own stylesheet and icon, so the CSP can
 * forbid everything else; there is no script at all.
 */
export function securityHeaders(opts: { https: boolean }): Record<string, string> {
  const headers: Record<string, string> = {
    "content-security-policy":
      "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
  }
  // TLS ends at the load balancer (ALB, Cloud Run); browsers ignore HSTS sent over plain HTTP, and
  // sending it on a plain-HTTP staging URL would only mislead, so send it when the edge says https.
  if (opts.https) headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
  return headers
}
