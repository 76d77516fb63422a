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
