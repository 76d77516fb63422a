// The CLI: `dagger call health-check ...` as the SDK registers it and as its real entrypoint runs it.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { resolveSettings } from "../../dagger/src/health/inputs.js"
import { callFunction, startEngineDouble, type EngineDouble } from "../support/engine-double.js"
import { introspectModule, isRequired, toKebab, typeName } from "../support/introspect.js"
import { healthy, startFaultyServer, type FaultyServer } from "../support/faulty-server.js"
import { NEW, OLD } from "./releases.js"

describe("health-check on the CLI", () => {
  it("signature: flags, types, defaults stated in the help, never cached, returns HealthCheck", async () => {
    const t = await introspectModule()
    const fn = t.objects[t.name]?.methods["healthCheck"]
    expect(fn, "PortfolioPipeline.healthCheck").toBeDefined()
    expect(fn!.cache).toBe("never")
    expect(typeName(fn!.returnType)).toBe("HealthCheck")
    const args = Object.values(fn!.arguments).map((a) => [toKebab(a.name), typeName(a.type), isRequired(a), a.defaultValue])
    expect(args).toEqual([
      ["url", "String", true, undefined],
      ["expected-version", "String", false, undefined],
      ["expected-commit", "String", false, undefined],
      ["consecutive-successes", "Int", false, 3],
      ["interval-ms", "Int", false, 250],
      ["request-timeout-ms", "Int", false, 2000],
      ["budget-seconds", "Int", false, 120],
      ["path", "String", false, "/health"],
    ])
    // Each default is stated in the flag's help text, and matches the core's defaults.
    for (const a of Object.values(fn!.arguments)) {
      if (a.defaultValue !== undefined) expect(a.description).toContain(`Default ${String(a.defaultValue)}`)
    }
    expect(resolveSettings()).toEqual(
      Object.fromEntries(Object.values(fn!.arguments).filter((a) => a.defaultValue !== undefined).map((a) => [a.name, a.defaultValue])),
    )
    const result = t.objects["HealthCheck"]
    expect(Object.values(result!.properties).filter((p) => p.isExposed).map((p) => `${p.name}: ${typeName(p.type)}`)).toEqual([
      "healthy: Boolean",
      "url: String",
      "expectedVersion: String",
      "expectedCommit: String",
      "observedVersion: String",
      "observedCommit: String",
      "attempts: Int",
      "elapsedMs: Int",
      "failures: [HealthFailureCount!]",
      "lastError: String",
      "summary: String",
    ])
    expect(Object.keys(result!.methods)).toEqual(["assertHealthy"])
  })

  describe("through the SDK's real module entrypoint", () => {
    let double: EngineDouble
    let server: FaultyServer
    beforeAll(async () => {
      double = await startEngineDouble()
      server = await startFaultyServer(() => healthy(OLD.version, OLD.commit))
    })
    afterAll(async () => {
      await double?.close()
      await server?.close()
    })

    it("decodes the flags, polls the URL and returns the HealthCheck object as the engine stores it", async () => {
      const before = server.requests.length
      // The old release answers the first two requests of this call, then the new one.
      server.setPlan((q) => (q.n - before < 2 ? healthy(OLD.version, OLD.commit) : healthy(NEW.version, NEW.commit)))
      const r = await callFunction(double, {
        fn: "health-check",
        args: { url: server.url, "expected-version": NEW.version, "expected-commit": NEW.commit.slice(0, 7), "interval-ms": 20, "consecutive-successes": 2 },
        parentState: {}, // the health check does not read --source; skipping the constructor keeps the recorded calls its own
      })
      expect(r.error, r.stderr).toBeUndefined()
      const got = r.result as Record<string, unknown>
      expect(got).toMatchObject({ healthy: true, url: `${server.url}/health`, expectedVersion: NEW.version, observedVersion: NEW.version, lastError: expect.stringMatching(/^wrongVersion: serving version 1\.0\.0/) })
      expect(got["failures"]).toEqual([{ kind: "wrongVersion", count: 2 }])
      expect(got["attempts"]).toBe(server.requests.length - before)
      // No engine work: a health check is plain HTTP from the module's process.
      expect(r.calls.filter((c) => c.chain[0]?.field !== "currentFunctionCall" && c.chain[0]?.field !== "currentModule")).toEqual([])
    }, 120_000)

    it("an unhealthy verdict is a result, and assert-healthy turns it into an error", async () => {
      const r = await callFunction(double, { fn: "health-check", args: { url: server.url, "expected-version": "9.9.9", "interval-ms": 50, "budget-seconds": 1 }, parentState: {} })
      expect(r.error, r.stderr).toBeUndefined()
      expect(r.result).toMatchObject({ healthy: false, failures: [{ kind: "wrongVersion" }] })
      const asserted = await callFunction(double, { object: "HealthCheck", parentState: r.result as Record<string, unknown>, fn: "assert-healthy" })
      expect(asserted.error?.message).toMatch(/^unhealthy: .*did not answer version 9\.9\.9.*another release is still serving/)
    }, 120_000)

    it("rejects a non-http URL with a clear error before any request", async () => {
      const before = server.requests.length
      const r = await callFunction(double, { fn: "health-check", args: { url: `ftp://127.0.0.1:${server.port}` }, parentState: {} })
      expect(r.error?.message).toMatch(/uses ftp; only http and https are supported/)
      expect(server.requests.length).toBe(before)
    }, 120_000)
  })
})
