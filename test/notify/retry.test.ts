// The retry policy on its own: which outcomes are retried, the backoff, the cap on Retry-After, and
// reading Retry-After in both of its forms. (delivery.test.ts drives the same policy over HTTP.)
import { describe, expect, it } from "vitest"
import { parseRetryAfter, retryDecision } from "../../dagger/src/notify/retry.js"

describe("retry policy (pure)", () => {
  const policy = { maxAttempts: 3, baseDelayMs: 500, maxRetryDelayMs: 5000 }
  it.each([
    [1, { kind: "response" as const, status: 200 }, { retry: false }],
    [1, { kind: "response" as const, status: 400 }, { retry: false }],
    [1, { kind: "response" as const, status: 404 }, { retry: false }],
    [1, { kind: "timeout" as const }, { retry: false }],
    [1, { kind: "response" as const, status: 502 }, { retry: true, delayMs: 500 }],
    [2, { kind: "network" as const, message: "ECONNRESET" }, { retry: true, delayMs: 1000 }],
    [1, { kind: "response" as const, status: 429, retryAfterMs: 0 }, { retry: true, delayMs: 0 }],
    [3, { kind: "response" as const, status: 500 }, { retry: false, why: "gave up after 3 attempts" }],
  ])("attempt %d, %j → %j", (attempt, result, expected) => {
    expect(retryDecision(attempt, result, policy)).toEqual(expected)
  })

  it("parses Retry-After as seconds or an HTTP date", () => {
    const now = Date.parse("2026-11-25T10:00:00Z")
    expect(parseRetryAfter("3", now)).toBe(3000)
    expect(parseRetryAfter("1.5", now)).toBe(1500)
    expect(parseRetryAfter("Wed, 25 Nov 2026 10:00:04 GMT", now)).toBe(4000)
    expect(parseRetryAfter("Wed, 25 Nov 2026 09:00:00 GMT", now)).toBe(0)
    expect(parseRetryAfter("soon", now)).toBeUndefined()
    expect(parseRetryAfter(null, now)).toBeUndefined()
  })
})
