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

/** Every spelling of a secret that commonly leaks: as is, URL-encoded, escaped inside JSON, base64. */
function spellings(secret: string): string[] {
  const forms = new Set<string>([secret])
  forms.add(encodeURIComponent(secret))
  forms.add(JSON.stringify(secret).slice(1, -1))
  for (const form of base64Forms(secret)) forms.add(form)
  return [...forms]
}

/**
 * The base64 spellings of a secret, standard and URL-safe: the whole value encoded on its own, and the
 * characters that encode only the secret's bytes when it sits inside a longer encoded text (a Basic
 * auth header `user:secret`, a JSON credential file). Inside a longer text the secret starts at one of
 * three byte offsets modulo 3, each with its own characters; the character at either end that also
 * encodes a neighbouring byte differs from text to text and is left alone.
 */
function base64Forms(secret: string): string[] {
  const bytes = Buffer.from(secret, "utf8")
  const standard = bytes.toString("base64")
  const urlSafe = bytes.toString("base64url")
  // Padding is optional in practice for either alphabet.
  const unpadded = standard.replace(/=+$/, "")
  const forms = [standard, unpadded, urlSafe, urlSafe + standard.slice(unpadded.length)]
  for (const shift of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString("base64")
    // Character i covers bits 6i..6i+5; keep those lying wholly within the secret's bits.
    const inner = encoded.slice(Math.ceil((8 * shift) / 6), Math.floor((8 * (shift + bytes.length)) / 6))
    forms.push(inner, inner.replace(/\+/g, "-").replace(/\//g, "_"))
  }
  return forms
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
