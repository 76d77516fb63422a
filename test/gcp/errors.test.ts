// dagger/src/gcp/errors.ts: how SDK failures are named (pure). The same namings through the real
// clients and the fake are in production-service.test.ts and operations.test.ts.
import { describe, expect, it } from "vitest"
import { apiError, CloudRunError, codeOf, operationError } from "../../dagger/src/gcp/errors.js"

/** An error shaped as google-gax throws it: a message and a numeric gRPC code. */
const gaxError = (code: number, message: string) => Object.assign(new Error(message), { code })

describe("codeOf", () => {
  it.each([
    [gaxError(7, "denied"), 7],
    [Object.assign(new Error("x"), { code: "7" }), undefined],
    [new Error("plain"), undefined],
    [null, undefined],
    ["text", undefined],
  ])("%j → %j", (err, code) => {
    expect(codeOf(err)).toBe(code)
  })
})

describe("apiError", () => {
  it.each([
    [5, "not-found", "NOT_FOUND (code 5)", "production.gcp.project"],
    [7, "rejected", "PERMISSION_DENIED (code 7)", "roles/run.developer"],
    [16, "rejected", "UNAUTHENTICATED (code 16)", "refresh --gcp-access-token"],
    [12, "rejected", "UNIMPLEMENTED (code 12)", ""],
  ] as const)("code %i is %s, named %s, with its hint", (code, kind, name, hint) => {
    const err = apiError("reading service 'portfolio'", gaxError(code, "the answer\nsecond line"), "portfolio-1-x")
    expect(err).toBeInstanceOf(CloudRunError)
    expect(err.kind).toBe(kind)
    expect(err.details).toEqual({ code, revision: "portfolio-1-x" })
    expect(err.message).toMatch(new RegExp(`^Cloud Run reading service 'portfolio' failed with ${name.replace(/[()]/g, "\\$&")}: the answer`))
    expect(err.message).not.toContain("second line")
    if (hint) expect(err.message).toContain(hint)
  })

  it("an error without a code is unexpected, with no hint", () => {
    const err = apiError("updating", new Error("socket hang up"))
    expect(err.message).toBe("Cloud Run updating failed with an unexpected error: socket hang up")
    expect(err.kind).toBe("rejected")
  })
})

describe("operationError", () => {
  const base = { doing: "deploying revision r", timeoutMs: 300, service: "portfolio", region: "us-west1", revision: "r" }

  it("a deadline is timed-out, with the budget and where to look", () => {
    for (const err of [gaxError(4, "deadline"), new Error("Total timeout of API exceeded 300 milliseconds")]) {
      const named = operationError({ ...base, err, candidate: { text: "r is reconciling", failed: false } })
      expect(named.kind).toBe("timed-out")
      expect(named.message).toBe(
        "Cloud Run deploying revision r did not finish within 0.3 s. Candidate r is reconciling. " +
          "Traffic stays where Cloud Run last reported it; check 'gcloud run services describe portfolio --region us-west1'.",
      )
    }
    expect(operationError({ ...base, timeoutMs: 600_000, err: gaxError(4, "deadline") }).message).toContain("within 600 s.")
  })

  it("a candidate that failed is revision-failed; otherwise operation-failed with the code's hint", () => {
    const failed = operationError({ ...base, err: gaxError(9, "not ready"), candidate: { text: "r failed to become ready: exit(1)", failed: true } })
    expect(failed.kind).toBe("revision-failed")
    expect(failed.message).toBe(
      "Cloud Run deploying revision r failed: not ready (FAILED_PRECONDITION). Candidate r failed to become ready: exit(1). " +
        "The previous revision keeps serving; fix the image or its settings and deploy again.",
    )
    const quota = operationError({ ...base, err: gaxError(8, "Quota exceeded") })
    expect(quota.kind).toBe("operation-failed")
    expect(quota.details).toEqual({ code: 8, revision: "r" })
    expect(quota.message).toBe("Cloud Run deploying revision r failed: Quota exceeded (RESOURCE_EXHAUSTED). A Cloud Run quota was hit; wait and re-run, or raise the quota.")
    expect(operationError({ ...base, err: new Error("boom") }).message).toBe("Cloud Run deploying revision r failed: boom (no code).")
  })
})
