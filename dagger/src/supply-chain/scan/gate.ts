// The scan gate: a Trivy JSON report (schema version 2) + a policy → a verdict and a summary.
// Pure. The gate reads only the JSON report: Trivy's SARIF output ignores --severity, so a gate on
// SARIF would block on findings the policy accepts (or, filtered differently, pass on ones it blocks).
// Anything the gate cannot read is an error, never a pass.
import { z } from "#zod"
import { ScanSeverity, SEVERITIES, severityRank, type SeverityName } from "./severity.js"
import { stripTerminalCodes } from "../../shared/terminal.js"

const severity = z.enum(ScanSeverity)

// The report shape follows Trivy's pkg/types (Report, Result, DetectedVulnerability,
// DetectedMisconfiguration, DetectedSecret, ModifiedFinding). Fields the gate does not use are
// accepted and ignored; fields it uses are required with the type Trivy writes.
const vulnerability = z.object({
  VulnerabilityID: z.string().min(1),
  PkgName: z.string().min(1),
  PkgPath: z.string().optional(),
  InstalledVersion: z.string().optional(),
  FixedVersion: z.string().optional(),
  Status: z.string().optional(),
  Severity: severity,
  Title: z.string().optional(),
  PrimaryURL: z.string().optional(),
})

const misconfiguration = z.object({
  ID: z.string().min(1),
  Title: z.string().optional(),
  Message: z.string().optional(),
  Resolution: z.string().optional(),
  Severity: severity,
  Status: z.enum(["PASS", "FAIL", "EXCEPTION"]),
  CauseMetadata: z.object({ Resource: z.string().optional(), StartLine: z.number().optional() }).optional(),
})

const secret = z.object({
  RuleID: z.string().min(1),
  Severity: severity,
  Title: z.string().optional(),
  StartLine: z.number().optional(),
})

const modifiedFinding = z.object({
  Type: z.string(),
  Status: z.string(),
  Statement: z.string().optional(),
  Source: z.string().optional(),
  Finding: z.record(z.string(), z.unknown()),
})

const result = z.object({
  Target: z.string(),
  Class: z.string().optional(),
  Type: z.string().optional(),
  Vulnerabilities: z.array(vulnerability).optional(),
  Misconfigurations: z.array(misconfiguration).optional(),
  Secrets: z.array(secret).optional(),
  ExperimentalModifiedFindings: z.array(modifiedFinding).optional(),
})

const report = z.object({
  SchemaVersion: z.literal(2, { error: "must be 2 (this gate reads Trivy's JSON schema version 2)" }),
  ArtifactName: z.string().optional(),
  ArtifactType: z.string().optional(),
  Metadata: z
    .object({
      ImageID: z.string().optional(),
      RepoDigests: z.array(z.string()).optional(),
      OS: z.object({ Family: z.string(), Name: z.string().optional() }).optional(),
    })
    .optional(),
  Results: z.array(result).optional(),
})

export type TrivyReport = z.infer<typeof report>

/** A report the gate cannot read. The scan fails: an unreadable report is never a pass. */
export class TrivyReportError extends Error {
  override name = "TrivyReportError"
}

/** Parses a Trivy JSON report; throws TrivyReportError saying what is wrong and where. */
export function parseTrivyReport(text: string, source = "trivy report"): TrivyReport {
  const fail = (why: string) =>
    new TrivyReportError(
      `${source} is not a usable Trivy JSON report: ${why}. The scan gate fails closed; ` +
        "check the trivy output above (it must be run with --format json).",
    )
  if (text.trim() === "") throw fail("it is empty")
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    throw fail(`not valid JSON (${(err as Error).message})`)
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) throw fail("expected a JSON object at the top level")
  const parsed = report.safeParse(data)
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((i) => `${i.path.map(String).join(".") || "(top level)"}: ${i.message}`)
    const more = parsed.error.issues.length > 5 ? ` (and ${parsed.error.issues.length - 5} more)` : ""
    throw fail(problems.join("; ") + more)
  }
  return parsed.data
}

/** One thing Trivy found, after merging duplicates. */
export interface Finding {
  kind: "vulnerability" | "misconfiguration" | "secret"
  id: string
  severity: SeverityName
  title: string
  /** What is affected: `pkg@version`, a Terraform resource, or `file:line`. */
  subject: string
  /** The version that fixes a vulnerability; "" when there is none (yet). */
  fixedVersion: string
  /** False for a vulnerability with no fix released (Trivy status other than `fixed`). */
  fixable: boolean
  /** Every target (file, layer path, lockfile) where it was reported. */
  targets: string[]
}

/** A finding an accepted-risk entry (ci/.trivyignore.yaml) suppressed; shown, never counted. */
export interface SuppressedFinding {
  id: string
  statement: string
  target: string
}

/** What fails the gate. */
export interface ScanPolicy {
  /** Findings at these severities fail the gate. */
  severities: readonly SeverityName[]
  /** When true, vulnerabilities with no fixed version do not fail the gate (they are still listed). */
  ignoreUnfixed: boolean
}

export type SeverityCounts = Record<SeverityName, number>

export interface ScanVerdict {
  passed: boolean
  /** What was scanned (ArtifactName: see renameArtifact), and the image ID when it was an image. */
  artifact: string
  imageId: string
  /** Findings that fail the gate, most severe first. */
  blocking: Finding[]
  /** At a failing severity but with no fix released, and the policy ignores unfixed ones. */
  unfixed: Finding[]
  /** Below the policy's severities. */
  below: Finding[]
  suppressed: SuppressedFinding[]
  /** Distinct findings per severity (all of them, whatever the policy). */
  counts: SeverityCounts
  policy: ScanPolicy
}

function isFixable(v: z.infer<typeof vulnerability>): boolean {
  // Trivy's --ignore-unfixed ignores every status except "fixed"; reports from sources without a status
  // carry only FixedVersion, so fall back to it.
  if (v.Status) return v.Status === "fixed"
  return (v.FixedVersion ?? "") !== ""
}

/**
 * Flattens a report into distinct findings. The same vulnerability of the same package version reported
 * in several targets (two lockfiles, a copy in another layer) is one finding with several targets; the
 * same CVE in two different packages stays two findings (each needs its own upgrade).
 */
export function collectFindings(rep: TrivyReport): Finding[] {
  const byKey = new Map<string, Finding>()
  const add = (key: string, f: Finding) => {
    const seen = byKey.get(key)
    if (!seen) {
      byKey.set(key, f)
      return
    }
    for (const t of f.targets) if (!seen.targets.includes(t)) seen.targets.push(t)
    // Trivy itself keeps the higher fixed version among duplicates; so do we.
    if (f.fixedVersion > seen.fixedVersion) seen.fixedVersion = f.fixedVersion
    seen.fixable = seen.fixable || f.fixable
  }
  for (const r of rep.Results ?? []) {
    for (const v of r.Vulnerabilities ?? []) {
      const installed = v.InstalledVersion ?? ""
      add(`v|${v.VulnerabilityID}|${v.PkgName}|${installed}`, {
        kind: "vulnerability",
        id: v.VulnerabilityID,
        severity: v.Severity,
        title: v.Title ?? "",
        subject: installed ? `${v.PkgName}@${installed}` : v.PkgName,
        fixedVersion: v.FixedVersion ?? "",
        fixable: isFixable(v),
        targets: [v.PkgPath ? `${r.Target} (${v.PkgPath})` : r.Target],
      })
    }
    for (const m of r.Misconfigurations ?? []) {
      if (m.Status !== "FAIL") continue
      const resource = m.CauseMetadata?.Resource ?? ""
      const line = m.CauseMetadata?.StartLine
      const where = `${r.Target}${line ? `:${line}` : ""}`
      add(`m|${m.ID}|${r.Target}|${resource}|${line ?? ""}`, {
        kind: "misconfiguration",
        id: m.ID,
        severity: m.Severity,
        title: m.Title ?? m.Message ?? "",
        subject: resource || where,
        fixedVersion: "",
        fixable: true,
        targets: [where],
      })
    }
    for (const s of r.Secrets ?? []) {
      const where = `${r.Target}${s.StartLine ? `:${s.StartLine}` : ""}`
      add(`s|${s.RuleID}|${where}`, {
        kind: "secret",
        id: s.RuleID,
        severity: s.Severity,
        title: s.Title ?? "",
        subject: where,
        fixedVersion: "",
        fixable: true,
        targets: [where],
      })
    }
  }
  return [...byKey.values()].sort(bySeverity)
}

function bySeverity(a: Finding, b: Finding): number {
  return severityRank(a.severity) - severityRank(b.severity) || a.id.localeCompare(b.id) || a.subject.localeCompare(b.subject)
}

/** Findings the ignore file suppressed (present only when Trivy ran with --show-suppressed). */
export function suppressedFindings(rep: TrivyReport): SuppressedFinding[] {
  const out: SuppressedFinding[] = []
  for (const r of rep.Results ?? []) {
    for (const m of r.ExperimentalModifiedFindings ?? []) {
      if (m.Status !== "ignored") continue
      const f = m.Finding
      const id = [f.VulnerabilityID, f.ID, f.RuleID].find((x): x is string => typeof x === "string") ?? "(unknown id)"
      out.push({ id, statement: m.Statement ?? "", target: r.Target })
    }
  }
  return out
}

/** Applies the policy to a parsed report. */
export function gateScan(rep: TrivyReport, policy: ScanPolicy): ScanVerdict {
  if (policy.severities.length === 0) {
    throw new Error("scan policy lists no severities; at least one (e.g. CRITICAL) must fail the gate")
  }
  const findings = collectFindings(rep)
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as SeverityCounts
  const blocking: Finding[] = []
  const unfixed: Finding[] = []
  const below: Finding[] = []
  for (const f of findings) {
    counts[f.severity]++
    if (!policy.severities.includes(f.severity)) below.push(f)
    else if (!f.fixable && policy.ignoreUnfixed) unfixed.push(f)
    else blocking.push(f)
  }
  return {
    passed: blocking.length === 0,
    artifact: rep.ArtifactName ?? "(unnamed artifact)",
    imageId: rep.Metadata?.ImageID ?? "",
    blocking,
    unfixed,
    below,
    suppressed: suppressedFindings(rep),
    counts,
    policy,
  }
}

/**
 * The report with the container paths Trivy saw replaced by names a reader knows: ArtifactName becomes
 * `artifact` and every result's Target goes through `target` (e.g. `/scan/image.tar (alpine 3.22.1)` →
 * `portfolio:1.2.3 (alpine 3.22.1)`). A summary names what was scanned, never where the pipeline mounted it.
 */
export function renameArtifact(rep: TrivyReport, artifact: string, target: (t: string) => string): TrivyReport {
  return { ...rep, ArtifactName: artifact, ...(rep.Results ? { Results: rep.Results.map((r) => ({ ...r, Target: target(r.Target) })) } : {}) }
}

/** Parses and gates in one step (text in, verdict out). */
export function gateReportText(text: string, policy: ScanPolicy, source?: string): ScanVerdict {
  return gateScan(parseTrivyReport(text, source), policy)
}

function describeFinding(f: Finding): string {
  const fix =
    f.kind !== "vulnerability" ? "" : f.fixedVersion ? ` → fixed in ${f.fixedVersion}` : " (no fix released yet)"
  const where = f.targets.length > 1 ? ` [${f.targets.length} places]` : ""
  const title = f.title ? ` — ${f.title.length > 70 ? f.title.slice(0, 67) + "..." : f.title}` : ""
  return `${f.severity.padEnd(8)} ${f.id}  ${f.subject}${fix}${where}${title}`
}

/** How many findings of each list the summary shows before "and N more". */
export const SUMMARY_TOP = 10

function section(title: string, findings: readonly Finding[]): string[] {
  if (findings.length === 0) return []
  const lines = [title, ...findings.slice(0, SUMMARY_TOP).map((f) => "  " + describeFinding(f))]
  if (findings.length > SUMMARY_TOP) lines.push(`  ... and ${findings.length - SUMMARY_TOP} more (see the JSON report)`)
  return lines
}

/** The human summary: verdict, counts by severity, top findings with fixed versions. */
export function renderScanSummary(v: ScanVerdict): string {
  const threshold = `${v.policy.severities.join(",")}${v.policy.ignoreUnfixed ? ", unfixed ignored" : ""}`
  const head = v.passed
    ? `Scan PASSED: ${v.artifact} has no blocking findings (policy: ${threshold}).`
    : `Scan FAILED: ${v.artifact} has ${v.blocking.length} blocking finding${v.blocking.length === 1 ? "" : "s"} (policy: ${threshold}).`
  const widths = SEVERITIES.map((s) => Math.max(s.length, String(v.counts[s]).length))
  const table = [
    SEVERITIES.map((s, i) => s.padStart(widths[i]!)).join("  "),
    SEVERITIES.map((s, i) => String(v.counts[s]).padStart(widths[i]!)).join("  "),
  ]
  const distinctIds = new Set([...v.blocking, ...v.unfixed, ...v.below].map((f) => f.id)).size
  const total = v.blocking.length + v.unfixed.length + v.below.length
  const lines = [
    head,
    ...(v.imageId ? [`Image ID: ${v.imageId}`] : []),
    `${total} finding${total === 1 ? "" : "s"} (${distinctIds} distinct ID${distinctIds === 1 ? "" : "s"}) by severity:`,
    ...table.map((l) => "  " + l),
    ...section("Blocking (fix these, most severe first):", v.blocking),
    ...section("At the threshold but no fix released (tolerated by ignoreUnfixed):", v.unfixed),
    ...section("Below the threshold:", v.below),
  ]
  if (v.suppressed.length > 0) {
    lines.push(`Accepted in the ignore file (${v.suppressed.length}):`)
    for (const s of v.suppressed.slice(0, SUMMARY_TOP)) lines.push(`  ${s.id}  ${s.target} — ${s.statement}`)
  }
  // Titles and statements are advisory text from the report: plain text before it reaches a summary.
  return stripTerminalCodes(lines.join("\n"))
}

/** Builds the policy from settings and optional per-run overrides. */
export function scanPolicy(
  settings: { severities: readonly string[]; ignoreUnfixed: boolean },
  overrides: { severities?: readonly string[]; ignoreUnfixed?: boolean } = {},
): ScanPolicy {
  const raw = overrides.severities && overrides.severities.length > 0 ? overrides.severities : settings.severities
  const unknown = raw.filter((s) => !(SEVERITIES as readonly string[]).includes(s))
  if (unknown.length > 0) {
    throw new Error(`unknown severity ${unknown.join(", ")}; use some of ${SEVERITIES.join(", ")}`)
  }
  return {
    severities: [...new Set(raw as SeverityName[])].sort((a, b) => severityRank(a) - severityRank(b)),
    ignoreUnfixed: overrides.ignoreUnfixed ?? settings.ignoreUnfixed,
  }
}
