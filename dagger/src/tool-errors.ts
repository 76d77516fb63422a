// Turns a failed tool run (an ExecError from a container exec) into an error that says which step
// failed, the exit code, the tail of stderr, and what to do. Other errors pass through unchanged.
import { ExecError } from "@dagger.io/dagger"

/** How much of a tool's stderr an error message keeps (the end is where tools explain themselves). */
export const STDERR_TAIL_CHARS = 2_000

/** Last `max` characters of a tool's output, cut at a line start when possible. */
export function tail(text: string, max = STDERR_TAIL_CHARS): string {
  const t = text.trimEnd()
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

/** Rethrows `err` as a ToolError naming the step when it is an ExecError; otherwise rethrows it as is. */
export function explainExecError(err: unknown, step: string, fix: string): never {
  if (err instanceof ExecError) {
    const out = tail(err.stderr || err.stdout)
    throw new ToolError(
      `${step} failed: \`${err.cmd.join(" ")}\` exited with code ${err.exitCode}.\n${out ? out + "\n" : ""}${fix}`,
      err.exitCode,
    )
  }
  throw err
}
