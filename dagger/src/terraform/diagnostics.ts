// A failed Terraform run as Diagnostics: one per error block Terraform printed, titled with the failing
// resource's address and Terraform's summary line, the block itself as the lines. Pure: it reads the
// ToolError the plan or apply step failed with (shared/tool-errors.ts keeps the tail of stderr, escape
// sequences already stripped).
//
// Terraform prints an error block as "Error: <summary>", a blank line, "with <address>," (when a resource
// instance is known), "on <file> line <n>, in resource "<type>" "<name>":", the source line, then the detail.
// With -no-color (the pipeline's) the block stands alone; with colour it is boxed in ╷ │ ╵, which the
// parser takes off.
import type { Diagnostic } from "../report/run-record.js"
import { ToolError, type ToolFailure } from "../shared/tool-errors.js"

/** Lines of Terraform's output kept when no error block can be found in it. */
const FALLBACK_LINES = 20

interface ErrorBlock {
  summary: string
  address?: string
  lines: string[]
}

/** Takes the colour box off a line: "│ text" → "text"; the box's corners become block ends. */
function unboxed(line: string): string | null {
  if (/^[╷╵]\s*$/.test(line)) return null
  return line.replace(/^│ ?/, "")
}

/** Error blocks of Terraform's output, in the order printed. Warnings are left out. */
export function errorBlocks(output: string): ErrorBlock[] {
  const blocks: ErrorBlock[] = []
  let current: ErrorBlock | undefined
  const close = () => {
    if (!current) return
    while (current.lines.length > 0 && current.lines.at(-1)!.trim() === "") current.lines.pop()
    blocks.push(current)
    current = undefined
  }
  for (const raw of output.split(/\r?\n/)) {
    const line = unboxed(raw)
    if (line === null) {
      close()
      continue
    }
    const start = /^(Error|Warning): (.*)$/.exec(line)
    if (start) {
      close()
      if (start[1] === "Error") current = { summary: start[2]!.trim(), lines: [line] }
      continue
    }
    if (!current) continue
    current.lines.push(line.replace(/\s+$/, ""))
    const withAddress = /^\s*with ([^\s,]+),$/.exec(line)
    if (withAddress) current.address = withAddress[1]
    const inResource = /^\s*on .+ line \d+, in (?:resource|data) "([^"]+)" "([^"]+)":$/.exec(line)
    if (inResource && !current.address) current.address = `${line.includes(", in data ") ? "data." : ""}${inResource[1]}.${inResource[2]}`
  }
  close()
  return blocks
}

/**
 * The diagnostics of a failed Terraform step: one per error block ("<address>: <summary>", the block as
 * lines), or, when Terraform printed none (it died, or the output was cut before it), the step's summary
 * and the last lines of its output.
 */
export function terraformDiagnostics(failure: ToolFailure): Diagnostic[] {
  const blocks = errorBlocks(failure.output)
  if (blocks.length > 0) {
    return blocks.map((b) => ({
      source: "terraform",
      title: `${b.address ?? failure.step}: ${b.summary}`,
      lines: b.lines.filter((l, i, all) => !(l.trim() === "" && all[i - 1]?.trim() === "")),
    }))
  }
  const tail = failure.output.split(/\r?\n/).filter((l) => l.trim() !== "").slice(-FALLBACK_LINES)
  return [
    {
      source: "terraform",
      title: `${failure.step} failed (exit code ${failure.exitCode}) with no error block from Terraform`,
      lines: [`$ ${failure.command}`, ...tail],
    },
  ]
}

/** The diagnostics of a Terraform step's error, when it is a tool failure; none for anything else. */
export function terraformFailureDiagnostics(err: unknown): Diagnostic[] {
  return err instanceof ToolError ? terraformDiagnostics(err) : []
}
