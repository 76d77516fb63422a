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

/** An error from a step of the pipeline that ran a tool in a container. */
export class ToolError extends Error {
  override name = "ToolError"
  constructor(
    message: string,
    readonly exitCode?: number,
  ) {
    super(message)
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
    const out = tail(err.stderr || err.stdout)
    throw new ToolError(
      `${step} failed: \`${err.cmd.join(" ")}\` exited with code ${err.exitCode}.\n${out ? out + "\n" : ""}${fix}`,
      err.exitCode,
    )
  }
  throw err
}
