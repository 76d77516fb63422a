import { describe, expect, it } from "vitest"
import { accessLogLine, eventLogLine, severityFor } from "../src/log.js"

const t = new Date("2026-01-02T03:04:05.678Z")

describe("accessLogLine", () => {
  it("is one line of JSON in Cloud Logging's httpRequest shape", () => {
    const line = accessLogLine({ method: "GET", url: "/a?b=1", status: 200, bytes: 1234, durationMs: 1.5, userAgent: "ua", remoteIp: "10.0.0.1", protocol: "HTTP/1.1" }, t, "1.0.0")
    expect(line).not.toContain("\n")
    expect(JSON.parse(line)).toEqual({
      severity: "INFO", time: "2026-01-02T03:04:05.678Z", message: "GET /a?b=1 200", version: "1.0.0",
      httpRequest: { requestMethod: "GET", requestUrl: "/a?b=1", status: 200, responseSize: "1234", latency: "0.001500s", userAgent: "ua", remoteIp: "10.0.0.1", protocol: "HTTP/1.1" },
    })
  })

  it("keeps hostile values inside their field and caps their length", () => {
    const ua = `x"\n{"severity":"CRITICAL"}` + "y".repeat(1000)
    const line = accessLogLine({ method: "GET", url: "/", status: 200, bytes: 0, durationMs: 0, userAgent: ua, protocol: "HTTP/1.1" }, t, "1")
    expect(line.split("\n")).toHaveLength(1)
    const parsed = JSON.parse(line) as { severity: string; httpRequest: { userAgent: string } }
    expect(parsed.severity).toBe("INFO")
    expect(parsed.httpRequest.userAgent.length).toBe(513)
    expect(parsed.httpRequest.userAgent.startsWith(`x"\n{"severity"`)).toBe(true)
  })

  it("marks aborted responses", () => {
    const parsed = JSON.parse(accessLogLine({ method: "GET", url: "/", status: 200, bytes: 0, durationMs: 3, protocol: "HTTP/1.1", aborted: true }, t, "1")) as { severity: string; message: string }
    expect(parsed).toMatchObject({ severity: "WARNING", message: "GET / 200 (client aborted)" })
  })
})

describe("severityFor", () => {
  it.each([[200, "INFO"], [304, "INFO"], [404, "WARNING"], [405, "WARNING"], [503, "WARNING"], [500, "ERROR"], [502, "ERROR"]] as const)("%i → %s", (status, sev) => {
    expect(severityFor(status)).toBe(sev)
  })
})

describe("eventLogLine", () => {
  it("carries extra fields", () => {
    expect(JSON.parse(eventLogLine("INFO", "ready", t, { port: 1 }))).toEqual({ severity: "INFO", time: "2026-01-02T03:04:05.678Z", message: "ready", port: 1 })
  })
})
