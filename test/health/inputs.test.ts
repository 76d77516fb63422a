// What a health check is given: the URL (validated, never echoed with its credentials) and the limits.
import { describe, expect, it } from "vitest"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { parse as parseYaml } from "yaml"
import { parseSettings } from "../../dagger/src/config/settings.js"
import { healthUrl, HealthCheckInputError, redactUrl, resolveSettings } from "../../dagger/src/health/inputs.js"
import { repoRoot } from "../tools/paths.js"

// ---------------------------------------------------------------------------------------------
describe("inputs are validated before any request", () => {
  it.each([
    ["not-a-url", /not an absolute URL.*pass the service's base URL with its scheme/],
    ["ftp://example.com", /uses ftp; only http and https are supported/],
    ["file:///etc/passwd", /uses file; only http and https/],
    ["http://admin:hunter2@example.com", /contains credentials/],
  ])("url %s", (url, message) => {
    expect(() => healthUrl(url)).toThrow(message)
    expect(() => healthUrl(url)).toThrow(HealthCheckInputError)
  })

  it("never echoes a password from the URL", () => {
    expect(() => healthUrl("http://admin:hunter2@example.com")).toThrow(/\/\/\*\*\*@example\.com/)
    try {
      healthUrl("http://admin:hunter2@example.com")
    } catch (err) {
      expect(String(err)).not.toContain("hunter2")
    }
  })

  // A password may hold "@" (or "/"): whatever is shown hides the whole userinfo, never a tail of it.
  it.each([
    ["https://user:p@ss@svc.example.com/", "https://***@svc.example.com/"],
    ["http://admin:hunter2@example.com", "http://***@example.com/"],
    ["https://user:p@ss@svc.example.com:notaport/", "https://***@svc.example.com:notaport/"],
    ["https://user:pa/ss@svc.example.com/", "https://***@svc.example.com/"],
    ["ftp://user:p@ss@example.com/x", "ftp://***@example.com/x"],
    ["user:p@ss@svc.example.com", "***@svc.example.com"],
    ["https://svc.example.com/@team", "https://svc.example.com/@team"],
    ["not-a-url", "not-a-url"],
  ])("redactUrl(%s) = %s", (raw, shown) => {
    expect(redactUrl(raw)).toBe(shown)
  })

  it.each([
    ["https://alice:s3cr@t@svc.example.com/", /^url "https:\/\/\*\*\*@svc\.example\.com\/" contains credentials/],
    ["https://alice:s3cr@t@svc.example.com:notaport/", /^url "https:\/\/\*\*\*@svc\.example\.com:notaport\/" is not an absolute URL/],
    ["alice:s3cr@t@svc.example.com", /^url "\*\*\*@svc\.example\.com" does not start with http:\/\/ or https:\/\/; only http and https/],
  ])("an error about %s shows none of the userinfo", (url, message) => {
    const shown = (() => {
      try {
        healthUrl(url)
      } catch (err) {
        expect(err).toBeInstanceOf(HealthCheckInputError)
        return (err as Error).message
      }
      throw new Error(`healthUrl(${url}) did not throw`)
    })()
    expect(shown).toMatch(message)
    for (const part of ["alice", "s3cr", "cr@t", "t@svc"]) expect(shown).not.toContain(part)
  })

  it.each([
    ["https://svc.example.com", "/health", "https://svc.example.com/health"],
    ["https://svc.example.com/", "/health", "https://svc.example.com/health"],
    ["http://alb.example.com/app/", "/health", "http://alb.example.com/app/health"],
    ["http://127.0.0.1:8080#frag", "/healthz", "http://127.0.0.1:8080/healthz"],
  ])("healthUrl(%s, %s) = %s", (base, path, want) => {
    expect(healthUrl(base, path)).toBe(want)
  })

  it.each([
    [{ intervalMs: -1 }, /`intervalMs` to be an integer from 10 to 60000 ms, got `-1` \(number\)/],
    [{ consecutiveSuccesses: 0 }, /`consecutiveSuccesses` to be an integer from 1/],
    [{ budgetSeconds: 1.5 }, /`budgetSeconds`.*got `1.5`/],
    [{ requestTimeoutMs: 0 }, /`requestTimeoutMs`/],
    [{ path: "health" }, /`path` to be an absolute URL path like \/health/],
  ])("settings %o are rejected", (bad, message) => {
    expect(() => resolveSettings(bad)).toThrow(message)
  })

  it("fills defaults and ignores undefined fields", () => {
    expect(resolveSettings({ intervalMs: undefined, budgetSeconds: 5 })).toEqual({
      intervalMs: 250,
      requestTimeoutMs: 2000,
      budgetSeconds: 5,
      consecutiveSuccesses: 3,
      path: "/health",
    })
  })
})

// ---------------------------------------------------------------------------------------------
describe("the same limits in ci/pipeline.yaml (config/settings.ts uses this schema)", () => {
  const committed = readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8")
  type Section = Record<string, unknown>
  const committedData = () => parseYaml(committed) as { app: Section; staging: { health: Section }; production: { health: Section } }

  it("a bad staging.health / production.health value or app.healthPath names the key, the value and the rule", () => {
    const data = committedData()
    data.staging.health["intervalMs"] = 5
    data.production.health["consecutiveSuccesses"] = 21
    data.app["healthPath"] = "health"
    expect(() => parseSettings(JSON.stringify(data))).toThrow(
      [
        "staging.health.intervalMs: must be an integer from 10 to 60000 ms (got 5)",
        "production.health.consecutiveSuccesses: must be an integer from 1 to 20 (got 21)",
      ].join("\n  - "),
    )
    expect(() => parseSettings(JSON.stringify(data))).toThrow("app.healthPath: must be an absolute URL path like /health (got \"health\")")
  })

  it("every limit is required there (the defaults are the CLI's, not the pipeline's)", () => {
    const data = committedData()
    delete data.staging.health["budgetSeconds"]
    expect(() => parseSettings(JSON.stringify(data))).toThrow("staging.health.budgetSeconds: must be an integer from 1 to 3600 s (got nothing)")
  })

  it("the committed limits are what the check runs with", () => {
    const s = parseSettings(committed)
    for (const env of ["staging", "production"] as const) {
      expect(resolveSettings({ ...s[env].health, path: s.app.healthPath })).toEqual({ ...s[env].health, path: s.app.healthPath })
    }
  })
})
