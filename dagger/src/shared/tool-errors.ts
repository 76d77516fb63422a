// Turns a failed tool run (an ExecError from a container exec) into an error that says which step
// failed, the exit code, the tail of stderr, and what to do. Other errors pass through unchanged.
//
// The runtime's bundled SDK exports no error classes (docs/architecture.md, "Runtime fidelity"), so a
// failed exec is recognised by what it carries, never by `instanceof` of an imported class.
import type { ExecError } from "@dagger.io/dagger"
import { stripTerminalCodes } from "./terminal.js"

/** How much of a tool's stderr an error message keeps (the end is where tools explain themselves). */
export const STDERR_TAIL_CHARS = 2_000

/** Last `max` characters of a tool's output as plain text, cut at a line start when possible. */
export function tail(text: string, max = STDERR_TAIL_CHARS): string {
  // Stripped first: an error message ends up in reports, and a cut must not split an escape sequence.
  const t = stripTerminalCodes(text).trimEnd()
  if (t.length <= max) return t
  const cut = t.slice(-max)
  const nl = cut.indexOf("\n")
  return "..." + (nl >= 0 && nl < 200 ? cut.slice(nl) : cut)
}

/** What a failed tool run carries, so reports can pick the part they need without parsing a message. */
export interface ToolFailure {
  /** The pipeline step, e.g. "terraform plan of terraform/aws". */
  step: string
  /** The command line that failed. */
  command: string
  exitCode: number
  /** The tail of the tool's stderr (else stdout). */
  output: string
  /** What to do about it. */
  fix: string
}

/** An error from a step of the pipeline that ran a tool in a container. */
export class ToolError extends Error implements ToolFailure {
  override name = "ToolError"
  readonly step: string
  readonly command: string
  readonly exitCode: number
  readonly output: string
  readonly fix: string
  constructor(failure: ToolFailure) {
    super(
      `${failure.step} failed: \`${failure.command}\` exited with code ${failure.exitCode}.\n` +
        `${failure.output ? failure.output + "\n" : ""}${failure.fix}`,
    )
    ;({ step: this.step, command: this.command, exitCode: this.exitCode, output: this.output, fix: this.fix } = failure)
  }

  /**
   * The tool's own complaint: the first output line starting with "Error" (Terraform, npm and trivy start
   * their real complaint so), else one mentioning an error, else the last line.
   */
  get complaint(): string {
    const lines = this.output.split("\n").map((l) => l.trim()).filter((l) => l !== "" && l !== "...")
    return lines.find((l) => /^error\b/i.test(l)) ?? lines.find((l) => /\berror\b/i.test(l)) ?? lines[lines.length - 1] ?? ""
  }

  /** One line for a step's detail: "X failed (exit code 1): <cause> — <fix>". */
  get summary(): string {
    const cause = this.complaint
    return `${this.step} failed (exit code ${this.exitCode})${cause ? `: ${cause}` : ""}${this.fix ? ` — ${this.fix}` : ""}`
  }
}

/** True when `err` is a failed container exec: the SDK's ExecError, recognised by its name and fields. */
export function isExecError(err: unknown): err is ExecError {
  if (!(err instanceof Error) || err.name !== "ExecError") return false
  const e = err as Partial<Record<keyof ExecError, unknown>>
  return typeof e.exitCode === "number" && Array.isArray(e.cmd) && typeof e.stdout === "string" && typeof e.stderr === "string"
}

/** Rethrows `err` as a ToolError naming the step when it is an ExecError; otherwise rethrows it as is. */
export function explainExecError(err: unknown, step: string, fix: string): never {
  if (isExecError(err)) {
    throw new ToolError({ step, command: err.cmd.join(" "), exitCode: err.exitCode, output: tail(err.stderr || err.stdout), fix })
  }
  throw err
}
