import { describe, expect, it } from "vitest"
import { MIN_SECRET_LENGTH, redact, redactDeep, REDACTED } from "../../dagger/src/shared/redact.js"

const url = "https://hooks.slack.com/services/T0001/B0002/s3cr3tT0k3n"

describe("redact", () => {
  it("removes every occurrence, as is, URL-encoded and JSON-escaped", () => {
    const text = [
      `posting to ${url} failed`,
      `url=${encodeURIComponent(url)}`,
      JSON.stringify({ url: `${url}\n"quoted"` }),
      `again ${url}`,
    ].join("\n")
    const out = redact(text, [url])
    expect(out).not.toContain("s3cr3tT0k3n")
    expect(out.split(REDACTED).length - 1).toBe(4)
  })

  it("removes the base64 forms, standard and URL-safe, padded or not", () => {
    // Chosen so its standard base64 holds '+' and '/' and needs padding: both alphabets really differ.
    const key = "k3y~?>>:secret-valu~"
    const std = Buffer.from(key).toString("base64")
    const safe = Buffer.from(key).toString("base64url")
    expect(std).toMatch(/\+.*=$/)
    expect(safe).toMatch(/-/)
    for (const form of [std, safe, std.replace(/=+$/, ""), `${safe}=`]) {
      expect(redact(`token ${form} end`, [key])).toBe(`token ${REDACTED} end`)
    }
  })

  it.each([0, 1, 2, 3, 4, 5])("removes a secret base64-encoded inside a longer value (%d bytes before it)", (before) => {
    const key = "aB3$dE6&gH9*jK~?"
    const other = "Zz0!Yy9@Xx8#Ww7%" // same length: what the encoding looks like without this secret in it
    for (const encoding of ["base64", "base64url"] as const) {
      // A Basic auth header, a credential file in a variable: the secret is a middle part of what was encoded.
      const encode = (value: string) => Buffer.from(`${"u".repeat(before)}:${value}:tail`).toString(encoding)
      const [withKey, withOther] = [encode(key), encode(other)]
      let head = 0
      while (withKey[head] === withOther[head]) head++
      let tail = 0
      while (withKey.at(-1 - tail) === withOther.at(-1 - tail)) tail++
      const out = redact(withKey, [key])
      // All that depends on the secret alone is gone; at most the one character it shares with a
      // neighbouring byte survives on each side.
      expect(out.startsWith(withKey.slice(0, head))).toBe(true)
      expect(out.endsWith(withKey.slice(withKey.length - tail))).toBe(true)
      const middle = out.slice(head, out.length - tail)
      expect(middle).toMatch(/^.?\*\*\*.?$/)
    }
  })

  it("removes the URL-encoded form of a secret with reserved characters", () => {
    const password = "p@ss/w0rd?&=#"
    const text = `https://ci.example/login?password=${encodeURIComponent(password)}&next=/`
    expect(redact(text, [password])).toBe(`https://ci.example/login?password=${REDACTED}&next=/`)
  })

  it("removes the longer secret whole when one secret contains another", () => {
    const token = "s3cr3tT0k3n"
    expect(redact(`x ${url} y ${token}`, [token, url])).toBe(`x ${REDACTED} y ${REDACTED}`)
  })

  it(`ignores empty, missing and very short values (shorter than ${MIN_SECRET_LENGTH})`, () => {
    expect(redact("a region us-west-1, id 42", ["", undefined, "42", "us-w"])).toBe("a region us-west-1, id 42")
  })

  it("redactDeep scrubs every string in a structure, keys included, without touching the input", () => {
    const input = { a: [url, 1, null, { [url]: `x${url}x` }], b: true }
    const out = redactDeep(input, [url])
    expect(JSON.stringify(out)).not.toContain("s3cr3tT0k3n")
    expect(out).toEqual({ a: [REDACTED, 1, null, { [REDACTED]: `x${REDACTED}x` }], b: true })
    expect(input.a[0]).toBe(url)
  })
})
