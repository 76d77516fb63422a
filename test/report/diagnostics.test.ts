// report/diagnostics.ts: diagnostics scrubbed first, then bounded, the same in the Markdown and the JSON.
import { describe, expect, it } from "vitest"
import { boundDiagnostics, DIAGNOSTIC_LIMITS, diagnosticsSection, OMITTED_SOURCE } from "../../dagger/src/report/diagnostics.js"
import { renderReport, renderRunJson } from "../../dagger/src/report/render.js"
import { finishRun, startRun, type Diagnostic, type RunRecord } from "../../dagger/src/report/run-record.js"

const SECRET = "sk-live-SECRETVALUE-0123456789"

const many = (n: number): Diagnostic[] => Array.from({ length: n }, (_, i) => ({ source: "ecs", title: `task ${i} stopped`, lines: [`exit ${i}`] }))

function failedRun(diagnostics: Diagnostic[]): RunRecord {
  const run = startRun({ environment: "staging", commit: "0123456789abcdef0123456789abcdef01234567" })
  run.steps.push({ name: "rollout", startedAt: run.startedAt, endedAt: run.startedAt, outcome: "failed", detail: "circuit breaker" })
  run.diagnostics = diagnostics
  return finishRun(run)
}

describe("boundDiagnostics", () => {
  it("keeps at most N diagnostics and says how many more there were", () => {
    const bounded = boundDiagnostics(many(13))
    expect(bounded).toHaveLength(DIAGNOSTIC_LIMITS.diagnostics + 1)
    expect(bounded.at(-1)).toEqual({ source: OMITTED_SOURCE, title: "… 3 more diagnostics not shown (at most 10)", lines: [] })
    expect(bounded[9]!.title).toBe("task 9 stopped")
    expect(boundDiagnostics(many(10))).toHaveLength(10)
  })

  it("keeps at most M lines each, cuts long lines and titles, and splits a multi-line text into lines", () => {
    const [d] = boundDiagnostics([
      { source: "terraform", title: "t".repeat(500), lines: ["Error: one\n  with a.b,\n  on main.tf line 3:", ...Array.from({ length: 30 }, (_, i) => `${i} ${"x".repeat(400)}`)] },
    ])
    expect(d!.lines.slice(0, 3)).toEqual(["Error: one", "  with a.b,", "  on main.tf line 3:"])
    expect(d!.lines).toHaveLength(DIAGNOSTIC_LIMITS.lines + 1)
    expect(d!.lines.at(-1)).toBe("… 13 more lines")
    expect(Math.max(...d!.lines.map((l) => l.length))).toBe(DIAGNOSTIC_LIMITS.lineChars)
    expect(d!.lines[3]!.endsWith("…")).toBe(true)
    expect(d!.title).toHaveLength(DIAGNOSTIC_LIMITS.titleChars)
  })

  it("scrubs secrets before cutting: a secret straddling the cut leaves no prefix behind", () => {
    const at = DIAGNOSTIC_LIMITS.lineChars - 8
    const line = `${"a".repeat(at)}${SECRET} tail`
    // Cut first, the line would end in the secret's first characters.
    expect(line.slice(0, DIAGNOSTIC_LIMITS.lineChars - 1)).toContain(SECRET.slice(0, 7))
    const [d] = boundDiagnostics([{ source: "health", title: `GET ${encodeURIComponent(SECRET)}`, lines: [line] }], [SECRET])
    expect(d!.lines[0]).toBe(`${"a".repeat(at)}*** tail`)
    expect(d!.title).toBe("GET ***")
  })

  it("takes off what a terminal would have interpreted: colours, a progress bar's carriage returns, control bytes", () => {
    const [d] = boundDiagnostics([{ source: "terraform", title: "\x1b[31mError:\x1b[0m boom\nsecond", lines: ["\x1b[1mwith\x1b[0m a.b,\r\n  on main.tf", "50%\r100%", "bell\x07 nul\x00"] }])
    expect(d!.title).toBe("Error: boom second")
    expect(d!.lines).toEqual(["with a.b,", "  on main.tf", "100%", "bell nul"])
  })

  it("keeps links whole (a cut URL leads nowhere) and at most five", () => {
    const url = `https://console.cloud.google.com/logs/query;query=${"q".repeat(900)}`
    const [d] = boundDiagnostics([{ source: "cloud-run", title: "x", lines: [], links: Array.from({ length: 8 }, (_, i) => ({ label: `logs ${i}`, url })) }])
    expect(d!.links).toHaveLength(DIAGNOSTIC_LIMITS.links)
    expect(d!.links![0]!.url).toBe(url)
  })

  it("does not change the record it was given", () => {
    const diagnostics = many(12)
    boundDiagnostics(diagnostics, ["task 1"])
    expect(diagnostics).toEqual(many(12))
  })
})

describe("the Diagnostics section", () => {
  it("shows source, title, the lines verbatim in a block no line can close, and the links", () => {
    const md = diagnosticsSection([
      {
        source: "cloud-run",
        title: "revision portfolio-00002-x *not* ready",
        lines: ["Ready: CONDITION_FAILED (HealthCheckContainerError)", "``` <script>alert(1)</script> | # heading"],
        links: [{ label: "Logs", url: "https://console.cloud.google.com/run/detail/r/s/revisions?project=p" }, { label: "bad", url: "javascript:alert(1)" }],
      },
    ]).join("\n")
    expect(md).toContain("**cloud-run** — revision portfolio-00002-x \\*not\\* ready")
    expect(md).toContain("````text\nReady: CONDITION_FAILED (HealthCheckContainerError)\n``` <script>alert(1)</script> | # heading\n````")
    expect(md).toContain("- [Logs](https://console.cloud.google.com/run/detail/r/s/revisions?project=p)")
    expect(md).toContain("- bad: `javascript:alert(1)`")
    expect(md).not.toContain("](javascript:")
  })

  it("is absent without diagnostics", () => {
    expect(diagnosticsSection(undefined)).toEqual([])
    expect(renderReport(failedRun([]))).not.toContain("### Diagnostics")
  })
})

describe("the Markdown and the JSON carry the same scrubbed, bounded diagnostics", () => {
  const diagnostics: Diagnostic[] = [
    { source: "ecs", title: `task stopped: token ${SECRET}`, lines: Array.from({ length: 25 }, (_, i) => `event ${i} ${SECRET}`) },
    ...many(14),
  ]
  const run = failedRun(diagnostics)

  it("json", () => {
    const json = renderRunJson(run, { secretValues: [SECRET] })
    expect(json).not.toContain(SECRET)
    const parsed = JSON.parse(json) as RunRecord
    expect(parsed.diagnostics).toEqual(boundDiagnostics(diagnostics, [SECRET]))
    expect(parsed.diagnostics![0]!.lines.at(-1)).toBe("… 5 more lines")
    expect(parsed.diagnostics!.at(-1)!.title).toBe("… 5 more diagnostics not shown (at most 10)")
    // The record itself keeps everything gathered.
    expect(run.diagnostics).toHaveLength(15)
  })

  it("markdown", () => {
    const md = renderReport(run, { secretValues: [SECRET] })
    expect(md).not.toContain(SECRET)
    expect(md).toContain("### Diagnostics")
    expect(md).toContain("**ecs** — task stopped: token \\*\\*\\*")
    expect(md).toContain("event 19 ***\n… 5 more lines\n```")
    expect(md).not.toContain("event 20")
    expect(md).toContain("_… 5 more diagnostics not shown (at most 10)_")
    expect(md).not.toContain("task 9 stopped")
  })
})
