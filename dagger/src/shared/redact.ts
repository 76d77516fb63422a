// Last line of defence for secrets in anything a human or another system reads: reports, notification
// bodies, warnings, the run JSON. Secrets are supposed never to get there in the first place; this
// catches the cases where they do anyway (an SDK error that echoes a URL, a step detail quoting a
// command line).

/** What a secret value is replaced with. */
export const REDACTED = "***"

/**
 * Values shorter than this are not redacted: they would match ordinary words and digits and make the
 * text unreadable, and no credential or webhook URL this pipeline handles is that short.
 */
export const MIN_SECRET_LENGTH = 6

/** Every spelling of a secret that commonly leaks: as is, URL-encoded, and escaped inside JSON. */
function spellings(secret: string): string[] {
  const forms = new Set<string>([secret])
  forms.add(encodeURIComponent(secret))
  forms.add(JSON.stringify(secret).slice(1, -1))
  return [...forms]
}

/** Replaces every occurrence of every secret value in `text` with `***`. */
export function redact(text: string, secretValues: readonly (string | undefined)[]): string {
  const needles = secretValues
    .filter((s): s is string => typeof s === "string" && s.length >= MIN_SECRET_LENGTH)
    .flatMap(spellings)
    // Longest first, so a secret that contains another is removed whole.
    .sort((a, b) => b.length - a.length)
  let out = text
  for (const needle of needles) out = out.split(needle).join(REDACTED)
  return out
}

/** Deep copy of a JSON-like value with every string redacted (object keys included). */
export function redactDeep<T>(value: T, secretValues: readonly (string | undefined)[]): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return redact(v, secretValues)
    if (Array.isArray(v)) return v.map(walk)
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [redact(k, secretValues), walk(x)]))
    }
    return v
  }
  return walk(value) as T
}
