// Golden tests for the run report: one folder per case under test/fixtures/report/<case>/ with the
// input run.json (and options.json when a case needs render options) and the expected Markdown and
// plain text. Regenerate after an intended change with UPDATE_GOLDEN=1, then review the diff.
//
// The Mermaid timeline is checked with Mermaid's own Gantt parser (the `mermaid` package): every step
// that ran must come back as a task with its name, state and exact start/end instants.
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import {
  deployReportFields,
  mermaidLabel,
  renderGantt,
  renderReport,
  renderRunJson,
} from "../../dagger/src/report/render.js"
import type { RunRecord } from "../../dagger/src/report/run-record.js"
import type { RenderOptions } from "../../dagger/src/report/render.js"
import { repoRoot } from "../tools/paths.js"

const FIXTURES = join(repoRoot, "test/fixtures/report")
const UPDATE = process.env.UPDATE_GOLDEN === "1"

/** The table of cases: folder name and what it demonstrates. */
const CASES: [string, string][] = [
  ["staging-succeeded", "happy path with scan findings, URLs and a cost section"],
  ["staging-health-failed-rolled-back", "failing step, verified rollback, an undelivered notification"],
  ["production-canary-failed-rollback-failed", "parallel AWS stop, canary failure, rollback that failed"],
  ["production-succeeded-aws-stop-warning", "a warning step that does not change the verdict; min instances cost"],
  ["scan-gate-failed", "gate failure before publish: skipped steps, no image, more findings than shown"],
  ["awkward-names-and-secrets", "names that break Markdown and Mermaid; a planted secret is redacted"],
  ["stale-pricing", "price table older than its staleAfterDays: warned in the cost section and warnings"],
  ["production-analysis-failed-diagnostics", "a canary failed on p95: traffic tables and charts, the failing figure, diagnostics bounded and a planted secret scrubbed"],
]

function load(name: string): { run: RunRecord; options: RenderOptions } {
  const dir = join(FIXTURES, name)
  const run = JSON.parse(readFileSync(join(dir, "run.json"), "utf8")) as RunRecord
  const optionsFile = join(dir, "options.json")
  const options = existsSync(optionsFile) ? (JSON.parse(readFileSync(optionsFile, "utf8")) as RenderOptions) : {}
  return { run, options }
}

function golden(name: string, file: string, actual: string): void {
  const path = join(FIXTURES, name, file)
  if (UPDATE || !existsSync(path)) {
    if (!UPDATE) throw new Error(`missing golden file ${path}; run with UPDATE_GOLDEN=1 and review it`)
    writeFileSync(path, actual)
  }
  expect(actual).toBe(readFileSync(path, "utf8"))
}

// Mermaid runs in Node for parsing (no DOM needed for Gantt without a title).
type GanttTask = { task: string; id: string; startTime: Date; endTime: Date; done?: boolean; crit?: boolean; active?: boolean; section: string }
let parseGantt: (source: string) => Promise<GanttTask[]>
beforeAll(async () => {
  const mermaid = (await import("mermaid")).default
  parseGantt = async (source) => {
    await mermaid.parse(source) // throws on a syntax error; also registers the diagram types
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(source)
    return (diagram.db as unknown as { getTasks(): GanttTask[] }).getTasks()
  }
})

/** What Mermaid draws for a label: its placeholder encoding of entity codes, decoded back to text. */
function drawn(label: string): string {
  return label.replace(/ﬂ°°(\d+)¶ß/g, (_, n: string) => String.fromCharCode(Number(n))).trim()
}

describe("renderReport golden cases", () => {
  it.each(CASES)("%s (%s)", (name) => {
    const { run, options } = load(name)
    golden(name, "expected.md", renderReport(run, options))
  })

  it.each(CASES)("%s: every Markdown table row has as many cells as its header", (name) => {
    const { run, options } = load(name)
    const md = renderReport(run, options)
    const cells = (row: string) => row.replace(/\\\|/g, "").split("|").length
    let header: number | undefined
    for (const line of md.split("\n")) {
      if (!line.startsWith("|")) {
        header = undefined
        continue
      }
      if (header === undefined) header = cells(line)
      else expect(cells(line), line).toBe(header)
    }
  })

  it.each(CASES)("%s: the timeline is a valid Mermaid Gantt with every step that ran", async (name) => {
    const { run } = load(name)
    const source = renderGantt(run)
    const ran = run.steps.map((s, i) => ({ s, id: `s${i + 1}` })).filter(({ s }) => s.outcome !== "skipped")
    if (ran.length === 0) {
      expect(source).toBeNull()
      return
    }
    const tasks = await parseGantt(source!)
    expect(tasks.map((t) => t.id)).toEqual(ran.map((r) => r.id))
    for (const [i, { s }] of ran.entries()) {
      const t = tasks[i]!
      expect(drawn(t.task)).toBe(expectedLabel(s.name))
      expect(t.startTime.getTime()).toBe(Date.parse(s.startedAt))
      expect(t.endTime.getTime()).toBe(Date.parse(s.endedAt))
      expect(t.section).toBe(run.environment)
      expect({ done: !!t.done, crit: !!t.crit, active: !!t.active }).toEqual({
        done: s.outcome === "succeeded",
        crit: s.outcome === "failed",
        active: s.outcome === "warning",
      })
    }
  })
})

/** The label a reader should see: the name on one line, prefixed only when it starts like a statement. */
function expectedLabel(name: string): string {
  const one = name.replace(/\s+/g, " ").trim()
  return /^(title|section|click|gantt|\d{4}-\d\d-\d\d)/i.test(one) ? `step ${one}` : one
}

describe("mermaidLabel", () => {
  it.each([
    ["build", "build"],
    ["deploy: step #1; 50%", "deploy#58; step #35;1#59; 50#37;"],
    ["title check", "step title check"],
    ["Section B", "step Section B"],
    ["2026-01-01 migration", "step 2026-01-01 migration"],
    ["two\nlines", "two lines"],
    ["   ", "step"],
  ])("%j → %j", (name, label) => {
    expect(mermaidLabel(name)).toBe(label)
  })

  it("keeps long names readable but bounded", () => {
    const label = mermaidLabel("x".repeat(200))
    expect(label.length).toBe(60)
    expect(label.endsWith("…")).toBe(true)
  })
})

describe("secrets never reach the output", () => {
  const secret = "PLANTED-SECRET-0123456789"
  const { run } = load("awkward-names-and-secrets")
  // Plant the secret everywhere a string can live, including where Markdown/Mermaid escaping would
  // otherwise split it (a step name with `:`) and in URL-encoded form.
  const planted: RunRecord = {
    ...run,
    image: `registry.example/${secret}@sha256:${"a".repeat(64)}`,
    failingStep: `step: ${secret}`,
    steps: [...run.steps, { name: `leak: ${secret}`, startedAt: run.startedAt, endedAt: run.startedAt, outcome: "failed", detail: encodeURIComponent(`x ${secret} y`) }],
    rollback: { attempted: true, outcome: "failed", detail: `token=${secret}` },
    urls: { service: `https://svc.example/?k=${secret}`, canary: `https://c.example/${encodeURIComponent(secret)}` },
    scan: { counts: { HIGH: 1 }, gate: "failed", topFindings: [{ id: secret, severity: "HIGH", target: secret, title: secret }] },
    warnings: [{ source: secret, message: `${secret}` }],
  }

  it.each([
    ["markdown", () => renderReport(planted, { secretValues: [secret] })],
    ["json", () => renderRunJson(planted, { secretValues: [secret] })],
  ])("%s", (_, render) => {
    const out = render()
    expect(out).not.toContain(secret)
    expect(out).not.toContain(encodeURIComponent(secret))
    expect(out).toContain("***")
  })

  it("without the secret list the same record would leak (the test above is not vacuous)", () => {
    expect(renderReport(planted)).toContain(secret)
  })
})

describe("renderRunJson", () => {
  it("round-trips the record (it is the DeployReport json field)", () => {
    const { run } = load("staging-succeeded")
    expect(JSON.parse(renderRunJson(run))).toEqual(run)
  })
})

describe("deployReportFields", () => {
  it("carries verdict, success, URL, image, Markdown and JSON from one record", () => {
    const { run } = load("staging-succeeded")
    const fields = deployReportFields(run)
    expect(fields).toMatchObject({ verdict: "succeeded", succeeded: true, url: run.urls.service, image: run.image })
    expect(fields.markdown).toBe(renderReport(run))
    expect(JSON.parse(fields.json)).toEqual(run)
  })

  it("a rolled-back deploy is not a success", () => {
    const { run } = load("staging-health-failed-rolled-back")
    expect(deployReportFields(run)).toMatchObject({ verdict: "rolled-back", succeeded: false })
  })

  it("a record left running is judged by its steps, never reported as a success", () => {
    const { run, options } = load("awkward-names-and-secrets")
    const fields = deployReportFields(run, options)
    expect(fields).toMatchObject({ verdict: "failed", succeeded: false, url: "", image: "" })
    expect(fields.markdown).toContain("## ❌ Staging deploy failed")
    expect(fields.json).not.toContain("PLANTED-SECRET")
  })
})
