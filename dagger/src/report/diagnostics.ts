// Failure diagnostics as the report, the JSON and the notifications carry them: scrubbed of the run's
// secrets FIRST, then bounded (how many diagnostics, lines per diagnostic, characters per line), each cut
// marked with what it left out. Scrubbing after a cut could leave a secret's prefix behind; an unbounded
// diagnostic (a thousand ECS events, a Terraform error quoting a whole plan) would bury the verdict and
// break a job summary's or a chat message's size limit. Pure.
import type { Diagnostic } from "./run-record.js"
import { redactDeep } from "../shared/redact.js"
import { stripTerminalCodes } from "../shared/terminal.js"
import { truncate } from "../shared/text.js"
import { code, codeBlock, link, text } from "./markdown.js"

export interface DiagnosticLimits {
  /** Diagnostics kept, in the order gathered; the rest become one "… K more" entry. */
  diagnostics: number
  /** Lines kept per diagnostic; the rest become one "… K more lines" line. */
  lines: number
  /** Characters per line (UTF-16 units); a longer line is cut with "…". */
  lineChars: number
  /** Characters of a title. */
  titleChars: number
  /** Links kept per diagnostic (URLs are never cut: a cut URL leads nowhere). */
  links: number
}

/** The report's and the JSON's bounds: enough to act on, small beside a 1 MiB job summary. */
export const DIAGNOSTIC_LIMITS: DiagnosticLimits = { diagnostics: 10, lines: 20, lineChars: 300, titleChars: 200, links: 5 }

/** The source named on the entry that stands for the diagnostics left out. */
export const OMITTED_SOURCE = "report"

/**
 * The diagnostics as they may be shown: every string scrubbed of `secretValues`, then cut to `limits`.
 * Keeps the Diagnostic shape, so the JSON record stays one schema: a cut list of lines ends with
 * "… K more lines", a cut list of diagnostics with an entry of source OMITTED_SOURCE saying how many.
 */
export function boundDiagnostics(
  diagnostics: readonly Diagnostic[] | undefined,
  secretValues: readonly (string | undefined)[] = [],
  limits: DiagnosticLimits = DIAGNOSTIC_LIMITS,
): Diagnostic[] {
  if (!diagnostics || diagnostics.length === 0) return []
  const scrubbed = redactDeep([...diagnostics], secretValues)
  const kept = scrubbed.slice(0, limits.diagnostics).map((d) => boundOne(d, limits))
  const omitted = scrubbed.length - kept.length
  if (omitted > 0) {
    kept.push({
      source: OMITTED_SOURCE,
      title: `… ${omitted} more diagnostic${omitted === 1 ? "" : "s"} not shown (at most ${limits.diagnostics})`,
      lines: [],
    })
  }
  return kept
}

function boundOne(d: Diagnostic, limits: DiagnosticLimits): Diagnostic {
  // A source that handed over a multi-line text still gets one fact per line; what a terminal would
  // have interpreted (colours, cursor moves, a body's control bytes) is garbage in a report.
  const all = d.lines.flatMap((l) => stripTerminalCodes(l).split("\n"))
  const lines = all.slice(0, limits.lines).map((l) => truncate(l.replace(/\s+$/, ""), limits.lineChars))
  const more = all.length - lines.length
  if (more > 0) lines.push(`… ${more} more line${more === 1 ? "" : "s"}`)
  const bounded: Diagnostic = { source: truncate(d.source, 40), title: truncate(stripTerminalCodes(d.title).replace(/\s*\n\s*/g, " "), limits.titleChars), lines }
  const links = (d.links ?? []).slice(0, limits.links)
  if (links.length > 0) bounded.links = links.map((l) => ({ label: truncate(l.label, 80), url: l.url }))
  return bounded
}

/** The report's "Diagnostics" section (without its heading); empty when there is nothing to show. */
export function diagnosticsSection(diagnostics: readonly Diagnostic[] | undefined, secretValues: readonly (string | undefined)[] = []): string[] {
  const shown = boundDiagnostics(diagnostics, secretValues)
  const out: string[] = []
  for (const d of shown) {
    if (out.length > 0) out.push("")
    out.push(d.source === OMITTED_SOURCE ? `_${text(d.title)}_` : `**${text(d.source)}** — ${text(d.title)}`)
    // Verbatim: events, conditions and Terraform's error block keep their shape, and nothing in them is Markdown.
    if (d.lines.length > 0) out.push("", ...codeBlock(d.lines))
    if (d.links && d.links.length > 0) {
      out.push("", ...d.links.map((l) => (/^https?:\/\//.test(l.url) ? `- ${link(l.label, l.url)}` : `- ${text(l.label)}: ${code(l.url)}`)))
    }
  }
  return out
}
