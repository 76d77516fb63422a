// `check`: everything that needs no cloud account — build, tests, image scan, SBOM, Terraform static
// checks — independent steps in parallel, one report. A failed step is a line in the report, not an
// exception, so the summary and every report file always come out; `enforce` turns it into an exit code.
import { dag, func, object, type Directory, type File } from "@dagger.io/dagger"
import { renderCheckovSummary, runCheckov, runTrivyConfig, terraformCheckInput, type CheckovVerdict } from "./iac-check.js"
import { buildAndCheckImage, type ImageChecks, type Outcome } from "./release.js"
import { renderScanSummary, type ScanVerdict } from "./scan/gate.js"
import type { Settings } from "../config/settings.js"
import { shortImageId } from "./image-ref.js"
import { stripTerminalCodes } from "../shared/terminal.js"
import { firstLine } from "../shared/text.js"

export type StepStatus = "PASS" | "FAIL" | "NOT RUN"

/** One line of the check report. */
export interface StepResult {
  name: string
  status: StepStatus
  /** One-line outcome for the table. */
  headline: string
  /** Full text (summary tables, error messages), shown below the table. */
  detail: string
}

/** PASS only when every step passed (a step that could not run is not a pass). */
export function checkVerdict(steps: readonly StepResult[]): "PASS" | "FAIL" {
  return steps.length > 0 && steps.every((s) => s.status === "PASS") ? "PASS" : "FAIL"
}

/**
 * Markdown summary (GitHub job summary): a table of steps, then each step's detail. Tool output in a
 * headline or detail loses its terminal codes here, whichever step it came from.
 */
export function renderCheckSummary(steps: readonly StepResult[], context: { version: string; commit: string }): string {
  const verdict = checkVerdict(steps)
  const icon = (s: StepStatus) => (s === "PASS" ? "✅" : s === "FAIL" ? "❌" : "⏭️")
  const cell = (t: string) => stripTerminalCodes(t).replace(/\|/g, "\\|").replace(/\n/g, " ")
  const lines = [
    `## Check ${verdict === "PASS" ? "passed" : "FAILED"} — version ${context.version}, commit ${context.commit}`,
    "",
    "| Step | Result | Outcome |",
    "| --- | --- | --- |",
    ...steps.map((s) => `| ${cell(s.name)} | ${icon(s.status)} ${s.status} | ${cell(s.headline)} |`),
  ]
  for (const s of steps) {
    if (!s.detail) continue
    lines.push("", `### ${s.name}`, "", "```text", stripTerminalCodes(s.detail).replace(/```/g, "'''"), "```")
  }
  return lines.join("\n") + "\n"
}

/** Turns the image steps' outcomes into report lines (pure, given the outcomes). */
export function imageSteps(build: Outcome<Pick<ImageChecks, "tests" | "scan" | "sbom">>): StepResult[] {
  if (!build.ok) {
    const msg = build.error.message
    return [
      { name: "Build", status: "FAIL", headline: firstLine(msg), detail: msg },
      ...["Tests", "Image scan", "SBOM"].map((name) => ({ name, status: "NOT RUN" as const, headline: "the image did not build", detail: "" })),
    ]
  }
  const { tests, scan, sbom } = build.value
  return [
    { name: "Build", status: "PASS", headline: "image built", detail: "" },
    tests.ok
      ? { name: "Tests", status: "PASS", headline: "app tests passed", detail: testTail(tests.value) }
      : { name: "Tests", status: "FAIL", headline: firstLine(tests.error.message), detail: tests.error.message },
    !scan.ok
      ? { name: "Image scan", status: "FAIL", headline: firstLine(scan.error.message), detail: scan.error.message }
      : { name: "Image scan", status: scan.value.passed ? "PASS" : "FAIL", headline: firstLine(scan.value.summary), detail: scan.value.summary },
    sbom.ok
      ? {
          name: "SBOM",
          status: "PASS",
          headline: `CycloneDX ${sbom.value.subject.specVersion}, ${sbom.value.subject.componentCount} components, image ${sbom.value.subject.name} (ID ${shortImageId(sbom.value.subject.imageId)})`,
          detail: "",
        }
      : { name: "SBOM", status: "FAIL", headline: firstLine(sbom.error.message), detail: sbom.error.message },
  ]
}

function testTail(output: string): string {
  const lines = output.trimEnd().split("\n")
  return lines.slice(-8).join("\n")
}

/** Turns the Terraform checks' outcomes into report lines: one each, whether it ran or not. */
export function iacSteps(checkov: Outcome<{ verdict: CheckovVerdict }>, trivy: Outcome<{ verdict: ScanVerdict }>): StepResult[] {
  const step = <V extends { passed: boolean }>(name: string, o: Outcome<{ verdict: V }>, render: (v: V) => string): StepResult => {
    if (!o.ok) return { name, status: "FAIL", headline: firstLine(o.error.message), detail: o.error.message }
    const text = render(o.value.verdict)
    return { name, status: o.value.verdict.passed ? "PASS" : "FAIL", headline: firstLine(text), detail: text }
  }
  return [step("checkov (terraform/)", checkov, renderCheckovSummary), step("trivy config (terraform/)", trivy, renderScanSummary)]
}

/** The outcome of `check`: verdict, summary and every report file. */
@object()
export class CheckReport {
  /** True when every step passed. */
  @func()
  passed: boolean = false

  /** PASS or FAIL. */
  @func()
  verdict: string = "FAIL"

  /** Markdown summary: a table of steps and each step's details. */
  @func()
  summary: string = ""

  /**
   * Every report file: summary.md, verdict.txt (PASS or FAIL), trivy.json, trivy.sarif, sbom.cdx.json,
   * checkov.json, trivy-config.json, tests.txt (those of the steps that ran).
   */
  @func()
  artifacts!: Directory

  /**
   * Fails (non-zero exit) with the summary when any step failed; returns the summary otherwise.
   * For CI: `dagger call check enforce`.
   */
  @func()
  async enforce(): Promise<string> {
    if (!this.passed) throw new Error(`check FAILED\n${this.summary}`)
    return this.summary
  }
}

export interface CheckInput {
  source: Directory
  settings: Settings
  version: string
  commit: string
  now: Date
}

async function settle<T>(p: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await p }
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err : new Error(String(err)) }
  }
}

/** Runs every check (image steps and Terraform checks in parallel) and collects one report. */
export async function runCheck(input: CheckInput): Promise<CheckReport> {
  const { source, settings } = input
  const terraform = terraformCheckInput(source, settings, input.now)
  const [image, checkov, trivyConfig] = await Promise.all([
    settle(buildAndCheckImage({ source, settings, version: input.version, commit: input.commit, now: input.now })),
    settle(runCheckov(terraform)),
    settle(runTrivyConfig(terraform)),
  ])
  const steps = [...imageSteps(image), ...iacSteps(checkov, trivyConfig)]
  const summary = renderCheckSummary(steps, { version: input.version, commit: input.commit })

  const passed = checkVerdict(steps) === "PASS"
  // verdict.txt lets a workflow step fail the job after the files were exported.
  let artifacts = dag.directory().withNewFile("summary.md", summary).withNewFile("verdict.txt", passed ? "PASS\n" : "FAIL\n")
  const add = (name: string, file: File) => {
    artifacts = artifacts.withFile(name, file)
  }
  if (image.ok) {
    const { tests, scan, sbom } = image.value
    if (tests.ok) artifacts = artifacts.withNewFile("tests.txt", tests.value)
    if (scan.ok) {
      add("trivy.json", scan.value.json)
      add("trivy.sarif", scan.value.sarif)
    }
    if (sbom.ok) add("sbom.cdx.json", sbom.value.file)
  }
  if (checkov.ok) add("checkov.json", checkov.value.report)
  if (trivyConfig.ok) add("trivy-config.json", trivyConfig.value.report)
  return Object.assign(new CheckReport(), { passed, verdict: passed ? "PASS" : "FAIL", summary, artifacts })
}
