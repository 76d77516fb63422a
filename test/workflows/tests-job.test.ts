// ci.yml runs the repository's own tests on every pull request: exactly the README's test command, on
// toolchains that meet the README's prerequisites, so a PR that breaks the pipeline's tests is red.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { repoRoot } from "../tools/paths.js"
import { load, type Job } from "./workflow-files.js"

const readme = readFileSync(join(repoRoot, "README.md"), "utf8")

/** The README's "Run the tests" section. */
function testsSection(): string {
  const section = /^## Run the tests\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1]
  if (!section) throw new Error('README.md has no "## Run the tests" section')
  return section
}

/** The commands of the section's sh block, one per line. */
function readmeTestCommands(): string[] {
  const block = /```sh\n([\s\S]*?)```/.exec(testsSection())?.[1]
  if (!block) throw new Error('README.md "Run the tests" has no ```sh block')
  return block.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"))
}

/** The minimum version the README's prerequisites give for a toolchain ("Go ≥ 1.25" → [1, 25]). */
function readmeMinimum(tool: string): number[] {
  const m = new RegExp(`${tool.replace(".", "\\.")} ≥ (\\d+(?:\\.\\d+)*)`).exec(testsSection())
  if (!m) throw new Error(`README.md "Run the tests" states no minimum version for ${tool}`)
  return m[1]!.split(".").map(Number)
}

function atLeast(version: string, minimum: number[]): boolean {
  const v = version.split(".").map(Number)
  for (let i = 0; i < minimum.length; i++) {
    if ((v[i] ?? 0) !== minimum[i]) return (v[i] ?? 0) > minimum[i]!
  }
  return true
}

function testsJob(): Job {
  const job = Object.values(load("ci.yml").wf.jobs).find((j) => j.steps.some((s) => s.run !== undefined && readmeTestCommands().includes(s.run.trim())))
  if (!job) throw new Error(`ci.yml has no job running the README's test command (${readmeTestCommands().join("; ")})`)
  return job
}

describe("ci.yml runs the repository's tests", () => {
  it("the README's test command is one line: npm test", () => {
    expect(readmeTestCommands()).toEqual(["npm test"])
  })

  it("a job runs exactly that command and nothing else", () => {
    const runs = testsJob().steps.filter((s) => s.run !== undefined).map((s) => s.run!.trim())
    expect(runs).toEqual(readmeTestCommands())
  })

  it("the job is bounded, reads only, and checks out without keeping the token", () => {
    const job = testsJob()
    expect(job["timeout-minutes"]).toBeGreaterThan(0)
    expect(job.permissions).toEqual({ contents: "read" })
    const checkout = job.steps.find((s) => s.uses?.startsWith("actions/checkout@"))
    expect(checkout?.with?.["persist-credentials"]).toBe(false)
    expect(job.steps.indexOf(checkout!)).toBe(0)
  })

  it.each([
    ["actions/setup-node@", "node-version", "Node.js"],
    ["actions/setup-python@", "python-version", "Python"],
    ["actions/setup-go@", "go-version", "Go"],
  ])("sets up %s with a version meeting the README's prerequisite, before the tests", (action, input, tool) => {
    const steps = testsJob().steps
    const setup = steps.find((s) => s.uses?.startsWith(action))
    expect(setup, `no ${action} step`).toBeDefined()
    const version = String(setup!.with?.[input])
    expect(version, `${action} ${input}`).toMatch(/^\d+(\.\d+)*$/)
    expect(atLeast(version, readmeMinimum(tool)), `${tool} ${version} < ${readmeMinimum(tool).join(".")}`).toBe(true)
    expect(steps.indexOf(setup!)).toBeLessThan(steps.findIndex((s) => s.run?.trim() === "npm test"))
  })

  it("the version comparison can fail", () => {
    expect(atLeast("20.18.3", [20, 19])).toBe(false)
    expect(atLeast("3.9", [3, 10])).toBe(false)
    expect(atLeast("1.25", [1, 25])).toBe(true)
    expect(atLeast("24", [20, 19])).toBe(true)
  })
})
