// When a run is announced. NotifyMode is the one definition of the choice: the `--notify` flag's enum
// (its doc comments are the CLI's --help text), the type of `notifications.mode` in ci/pipeline.yaml
// (config/settings.ts derives its schema from it) and what notifyRun decides with.
import type { RunVerdict } from "../report/run-record.js"

/** When a deploy announces itself on the configured webhooks. */
export enum NotifyMode {
  /** Every run, whatever its verdict. */
  ALWAYS = "ALWAYS",
  /** Only runs that failed or were rolled back. */
  FAILURES_ONLY = "FAILURES_ONLY",
  /** Never (the report is still returned). */
  NEVER = "NEVER",
}

/** Whether a run with this verdict is announced under this mode (a run still `running` never is). */
export function shouldNotify(mode: NotifyMode, verdict: RunVerdict | "running"): boolean {
  if (verdict === "running" || mode === NotifyMode.NEVER) return false
  return mode === NotifyMode.ALWAYS || verdict !== "succeeded"
}

/** The per-run override (`--notify`) wins over the settings file. */
export function effectiveMode(settingsMode: NotifyMode, override?: NotifyMode): NotifyMode {
  return override ?? settingsMode
}
