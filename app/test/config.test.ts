import { describe, expect, it } from "vitest"
import { ConfigError, loadConfig, parsePort } from "../src/config.js"

describe("loadConfig", () => {
  it("fills defaults for a bare environment", () => {
    expect(loadConfig({})).toEqual({ port: 8080, host: "0.0.0.0", version: "0.0.0-dev", commit: "unknown", shutdownTimeoutMs: 8000 })
  })

  it("reads PORT, HOST, APP_VERSION, APP_COMMIT and APP_SHUTDOWN_TIMEOUT_MS", () => {
    expect(loadConfig({ PORT: "9000", HOST: "127.0.0.1", APP_VERSION: "1.2.3-rc.1+build.7", APP_COMMIT: "ABCDEF0123456789", APP_SHUTDOWN_TIMEOUT_MS: "2500" }))
      .toEqual({ port: 9000, host: "127.0.0.1", version: "1.2.3-rc.1+build.7", commit: "abcdef0123456789", shutdownTimeoutMs: 2500 })
  })

  it("treats empty variables as unset (a build arg passed as '')", () => {
    expect(loadConfig({ PORT: "", APP_VERSION: "", APP_COMMIT: "" })).toMatchObject({ port: 8080, version: "0.0.0-dev", commit: "unknown" })
  })

  it("reports every bad variable at once, with its value and the rule", () => {
    let error: unknown
    try {
      loadConfig({ PORT: "80a", APP_VERSION: "1.0 beta", APP_COMMIT: "main", APP_SHUTDOWN_TIMEOUT_MS: "-1" })
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ConfigError)
    const problems = (error as ConfigError).problems
    expect(problems).toHaveLength(4)
    expect(problems[0]).toBe("PORT must be an integer from 0 to 65535, got '80a'")
    expect(problems[1]).toContain("APP_VERSION must be 1-64 characters")
    expect(problems[1]).toContain("got '1.0 beta'")
    expect(problems[2]).toContain("APP_COMMIT must be a 7-40 character hex git SHA or 'unknown', got 'main'")
    expect(problems[3]).toBe("APP_SHUTDOWN_TIMEOUT_MS must be a whole number of milliseconds up to 9999999, got '-1'")
  })
})

describe("parsePort", () => {
  it.each([
    [undefined, 8080], ["", 8080], ["0", 0], ["65535", 65535], ["8080", 8080],
  ])("%j → %j", (raw, port) => expect(parsePort(raw)).toBe(port))

  it.each(["65536", "-1", "8080.5", " 80", "0x50", "123456"])("rejects %j", (raw) => {
    expect(parsePort(raw)).toBe(`PORT must be an integer from 0 to 65535, got '${raw}'`)
  })
})
