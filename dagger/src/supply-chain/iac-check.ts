// Static checks of the Terraform code, no cloud credentials: checkov (policy checks, with the skips the
// Terraform code documents inline as `#checkov:skip=ID:reason`) and `trivy config` (misconfigurations,
// gated like image findings). Parsing and verdicts are pure; the runners are thin container adapters.
import { ReturnType, type Directory, type File } from "@dagger.io/dagger"
import { dag } from "@dagger.io/dagger"
import { z } from "#zod"
import { gateScan, parseTrivyReport, renameArtifact, renderScanSummary, type ScanPolicy, type ScanVerdict } from "./scan/gate.js"
import { IGNORE_FILE_PATH, REPORT_DIR, runTrivyScan } from "./scan/scan.js"
import { TRIVY_CACHE_DIR, checksBundleArgs, checksBundleUnavailable, usedEmbeddedChecks } from "./scan/repositories.js"
import { EVERY_SEVERITY_ARG } from "./scan/severity.js"
import { explainExecError, tail } from "../shared/tool-errors.js"
import type { Settings } from "../config/settings.js"
import { ignoreFilePath } from "./release.js"
import { scanPolicy } from "./scan/gate.js"

const check = z.object({
  check_id: z.string(),
  check_name: z.string().nullish(),
  check_result: z.object({ result: z.string(), suppress_comment: z.string().nullish() }),
  file_path: z.string(),
  file_line_range: z.array(z.number()).nullish(),
  resource: z.string(),
  guideline: z.string().nullish(),
})

const checkovReport = z.object({
  check_type: z.string(),
  results: z.object({
    failed_checks: z.array(check),
    // Absent when checkov runs with --quiet; the gate only needs the failures then.
    passed_checks: z.array(check).default([]),
    skipped_checks: z.array(check).default([]),
    parsing_errors: z.array(z.string()).default([]),
  }),
  summary: z.object({
    passed: z.number(),
    failed: z.number(),
    skipped: z.number(),
    parsing_errors: z.number(),
    resource_count: z.number(),
    checkov_version: z.string(),
  }),
})

// With nothing to scan checkov prints an empty summary object instead of a report.
const emptyCheckov = z.object({
  passed: z.literal(0),
  failed: z.literal(0),
  skipped: z.literal(0),
  parsing_errors: z.literal(0),
})

export type CheckovReport = z.infer<typeof checkovReport>

/** Parses `checkov -o json` output: one report, a list (several frameworks), or the empty summary. */
export function parseCheckovReport(text: string, source = "checkov report"): CheckovReport[] {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    throw new Error(`${source} is not valid JSON (${(err as Error).message}); the IaC check fails closed — see the checkov output above`)
  }
  if (emptyCheckov.safeParse(data).success) return []
  const parsed = z.union([checkovReport, z.array(checkovReport)]).safeParse(data)
  if (!parsed.success) {
    const first = parsed.error.issues[0]!
    throw new Error(
      `${source} is not a checkov JSON report (${first.path.map(String).join(".") || "(top level)"}: ${first.message}); the IaC check fails closed`,
    )
  }
  return Array.isArray(parsed.data) ? parsed.data : [parsed.data]
}

export interface CheckovFinding {
  id: string
  name: string
  resource: string
  /** file:line, relative to the scanned directory. */
  where: string
  /** For skipped checks: the reason written next to the skip. */
  reason: string
}

export interface CheckovVerdict {
  passed: boolean
  failed: CheckovFinding[]
  skipped: CheckovFinding[]
  parsingErrors: string[]
  passedCount: number
  resourceCount: number
  /** Skips without a written reason: they fail the check (an unexplained skip is an unreviewed risk). */
  unexplainedSkips: CheckovFinding[]
}

function finding(c: z.infer<typeof check>): CheckovFinding {
  const line = c.file_line_range?.[0]
  return {
    id: c.check_id,
    name: c.check_name ?? "",
    resource: c.resource,
    where: `${c.file_path.replace(/^\//, "")}${line ? `:${line}` : ""}`,
    reason: c.check_result.suppress_comment ?? "",
  }
}

/** Any failed check, parsing error or skip without a reason fails the verdict. */
export function checkovVerdict(reports: readonly CheckovReport[]): CheckovVerdict {
  const failed = reports.flatMap((r) => r.results.failed_checks.map(finding))
  const skipped = reports.flatMap((r) => r.results.skipped_checks.map(finding))
  const parsingErrors = reports.flatMap((r) => r.results.parsing_errors)
  // checkov fills a default text when the skip comment has no reason.
  const unexplainedSkips = skipped.filter((s) => s.reason.trim() === "" || s.reason === "No comment provided")
  return {
    passed: failed.length === 0 && parsingErrors.length === 0 && unexplainedSkips.length === 0,
    failed,
    skipped,
    parsingErrors,
    passedCount: reports.reduce((n, r) => n + r.summary.passed, 0),
    resourceCount: reports.reduce((n, r) => n + r.summary.resource_count, 0),
    unexplainedSkips,
  }
}

export function renderCheckovSummary(v: CheckovVerdict): string {
  const lines = [
    v.passed
      ? `checkov PASSED: ${v.passedCount} checks passed on ${v.resourceCount} resources, ${v.skipped.length} skipped with reasons.`
      : `checkov FAILED: ${v.failed.length} failed check${v.failed.length === 1 ? "" : "s"}, ${v.parsingErrors.length} parsing error${v.parsingErrors.length === 1 ? "" : "s"}, ${v.unexplainedSkips.length} skip${v.unexplainedSkips.length === 1 ? "" : "s"} without a reason.`,
  ]
  for (const f of v.failed.slice(0, 15)) lines.push(`  FAILED  ${f.id}  ${f.resource}  ${f.where}${f.name ? ` — ${f.name}` : ""}`)
  if (v.failed.length > 15) lines.push(`  ... and ${v.failed.length - 15} more (see the checkov report)`)
  for (const p of v.parsingErrors) lines.push(`  PARSE ERROR  ${p}`)
  for (const s of v.unexplainedSkips) lines.push(`  SKIPPED WITHOUT REASON  ${s.id}  ${s.resource}  ${s.where} — add one: #checkov:skip=${s.id}:<why>`)
  if (!v.passed) lines.push("Fix the Terraform, or skip a check inline with `#checkov:skip=<ID>:<reason>` next to the resource.")
  return lines.join("\n")
}

/** checkov's arguments for the Terraform tree mounted at `dir` (JSON on stdout; exit code left to the gate). */
export function checkovArgs(dir: string): string[] {
  return ["checkov", "--directory", dir, "--framework", "terraform", "--output", "json", "--soft-fail", "--skip-download", "--compact"]
}

/** `trivy config` arguments for the Terraform tree mounted at `dir`, with the checks bundle from `checksRepository`. */
export function trivyConfigArgs(dir: string, output: string, checksRepository: string): string[] {
  return [
    "trivy",
    "config",
    ...checksBundleArgs(checksRepository),
    "--severity",
    EVERY_SEVERITY_ARG,
    // `trivy config` has no --show-suppressed: accepted findings simply do not appear.
    "--ignorefile",
    IGNORE_FILE_PATH,
    "--format",
    "json",
    "--output",
    output,
    "--exit-code",
    "0",
    "--cache-dir",
    TRIVY_CACHE_DIR,
    // No --quiet: the log is how a checks bundle that could not be downloaded shows (see repositories.ts).
    "--disable-telemetry",
    "--skip-version-check",
    dir,
  ]
}

const TF_DIR = "/src/terraform"
/** What the Terraform checks cover, as their summaries name it. */
export const TERRAFORM_SUBJECT = "Terraform in terraform/ (stacks terraform/aws, terraform/gcp and their modules)"

/**
 * A `trivy config` report on TF_DIR in repository terms: named TERRAFORM_SUBJECT, each target (relative
 * to the scanned directory, e.g. `modules/aws-network/main.tf`) as its path in the repository.
 */
export function terraformConfigVerdict(text: string, policy: ScanPolicy): ScanVerdict {
  const report = parseTrivyReport(text, "trivy config report for terraform/")
  return gateScan(renameArtifact(report, TERRAFORM_SUBJECT, (target) => `terraform/${target}`), policy)
}

/** One Terraform check that ran: its verdict and its report file. */
export interface IacCheck<V> {
  verdict: V
  report: File
}

export interface IacResult {
  checkov: CheckovVerdict
  checkovReport: File
  trivy: ScanVerdict
  trivyReport: File
  passed: boolean
  summary: string
}

export interface TerraformCheckInput {
  terraform: Directory
  checkovImage: string
  trivyImage: string
  ignoreFile: File
  policy: ScanPolicy
  /** Where the checks bundle comes from, in order (scan.checksBundleRepositories). */
  checksBundleRepositories: readonly string[]
  now: Date
}

/** checkov on terraform/ in its pinned container. Throws when checkov itself fails (not on findings). */
export async function runCheckov(input: Pick<TerraformCheckInput, "terraform" | "checkovImage">): Promise<IacCheck<CheckovVerdict>> {
  const out = `${REPORT_DIR}/checkov.json`
  const run = dag
    .container()
    .from(input.checkovImage)
    .withMountedDirectory(TF_DIR, input.terraform)
    .withExec(["mkdir", "-p", REPORT_DIR])
    .withExec(checkovArgs(TF_DIR), { redirectStdout: out, expect: ReturnType.Any })
  const [text, exitCode, stderr] = await Promise.all([run.file(out).contents(), run.exitCode(), run.stderr()])
  // --soft-fail makes findings exit 0; anything else non-zero is checkov itself failing.
  if (exitCode !== 0) {
    throw new Error(`checkov on terraform/ exited with code ${exitCode}:\n${tail(stderr)}\nCheck the checkov output above.`)
  }
  return { verdict: checkovVerdict(parseCheckovReport(text, "checkov report for terraform/")), report: run.file(out) }
}

/**
 * `trivy config` on terraform/ with the checks bundle of the first repository that answers: an attempt
 * whose download failed (Trivy then scans with its embedded checks) is run again with the next one.
 * Throws ScannerUnavailableError when none answers.
 */
export async function runTrivyConfig(input: Omit<TerraformCheckInput, "checkovImage">): Promise<IacCheck<ScanVerdict>> {
  const output = `${REPORT_DIR}/trivy-config.json`
  const tried: string[] = []
  let stderr = ""
  for (const repository of input.checksBundleRepositories) {
    // Busted like an image scan: the checks bundle is refreshed online like the vulnerability DB.
    const run = runTrivyScan({
      trivyImage: input.trivyImage,
      ignoreFile: input.ignoreFile,
      now: input.now,
      mountTarget: (trivy) => trivy.withMountedDirectory(TF_DIR, input.terraform),
      args: trivyConfigArgs(TF_DIR, output, repository),
    })
    let text: string
    try {
      ;[stderr, text] = await Promise.all([run.stderr(), run.file(output).contents()])
    } catch (err) {
      explainExecError(err, "trivy config on terraform/", "Check the trivy output above.")
    }
    tried.push(repository)
    if (!usedEmbeddedChecks(stderr)) return { verdict: terraformConfigVerdict(text, input.policy), report: run.file(output) }
  }
  throw checksBundleUnavailable("trivy config on terraform/", tried, stderr)
}

/** The Terraform checks' inputs from the repository and ci/pipeline.yaml. */
export function terraformCheckInput(source: Directory, settings: Settings, now: Date): TerraformCheckInput {
  return {
    terraform: source.directory("terraform"),
    checkovImage: settings.images.checkov,
    trivyImage: settings.images.trivy,
    ignoreFile: source.file(ignoreFilePath(settings)),
    policy: scanPolicy(settings.scan),
    checksBundleRepositories: settings.scan.checksBundleRepositories,
    now,
  }
}

/** Terraform checks that found problems; the message is their summaries. */
export class TerraformChecksFailedError extends Error {
  override name = "TerraformChecksFailedError"
  constructor(readonly summary: string) {
    super(`${summary}\nFix the Terraform, or record an accepted risk (a checkov skip with its reason, an entry in ci/.trivyignore.yaml).`)
  }
}

/** Runs both Terraform checks; returns their summaries, or throws TerraformChecksFailedError when either fails. */
export async function enforceTerraformChecks(input: TerraformCheckInput): Promise<string> {
  const result = await checkTerraform(input)
  if (!result.passed) throw new TerraformChecksFailedError(result.summary)
  return result.summary
}

/** Runs checkov and `trivy config` on terraform/ in their pinned containers, in parallel. */
export async function checkTerraform(input: TerraformCheckInput): Promise<IacResult> {
  const [checkov, trivy] = await Promise.all([runCheckov(input), runTrivyConfig(input)])
  return {
    checkov: checkov.verdict,
    checkovReport: checkov.report,
    trivy: trivy.verdict,
    trivyReport: trivy.report,
    passed: checkov.verdict.passed && trivy.verdict.passed,
    summary: `${renderCheckovSummary(checkov.verdict)}\n${renderScanSummary(trivy.verdict)}`,
  }
}
