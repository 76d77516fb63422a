// The drift check of one stack, the imperative shell around drift.ts: init, a refresh-only plan with
// -detailed-exitcode (0 = state matches the cloud, 2 = something differs, 1 = error), its JSON read,
// the pipeline's own fields ignored, and the drift announced on the configured webhooks. Read-only:
// no backend bootstrap, no state lock, nothing applied.
import { ReturnType, func, object } from "@dagger.io/dagger"
import type { Settings } from "../config/settings.js"
import { deliver, type DeliveryResult, type NotifyTarget, type NotifyTargets } from "../notify/delivery.js"
import { WEBHOOK_SCHEMA } from "../notify/webhook.js"
import { redact } from "../shared/redact.js"
import { tail } from "../shared/tool-errors.js"
import { DEFAULT_LOCK_TIMEOUT, Stack, initStack, stackDefinition, type StackCredentials } from "./apply.js"
import type { Directory } from "@dagger.io/dagger"
import { TFVARS_FILE } from "./container.js"
import { analyzeDrift, driftLines, renderDrift } from "./drift.js"
import { AWS_OWNERSHIP, GCP_OWNERSHIP } from "./ownership.js"

export const DRIFT_PLAN_FILE = "drift.tfplan"
export const DRIFT_JSON_FILE = "drift.tfplan.json"

/** What a drift check found in one stack. */
@object()
export class DriftCheck {
  /** Which stack was checked. */
  @func()
  stack: Stack = Stack.AWS

  /** True when something outside the pipeline's own fields differs between state and the cloud. */
  @func()
  drifted: boolean = false

  /** Markdown naming each drifted address and attribute (one quiet line when there is none). */
  @func()
  summary: string = ""

  /** One line per drifted attribute: "<stack> <address>.<attribute>: <state> → <cloud>". */
  @func()
  lines: string[] = []

  /** Webhooks the drift could not be announced on, and why (the URLs never appear). */
  @func()
  warnings: string[] = []

  /** All of the above as one JSON object, for a workflow step. */
  @func()
  json(): string {
    const { stack, drifted, summary, lines, warnings } = this
    return JSON.stringify({ stack, drifted, markdown: summary, lines, warnings })
  }
}

export interface DriftInput {
  source: Directory
  settings: Settings
  credentials: StackCredentials
  /** Webhooks to announce drift on; nothing is sent without drift. Default: none. */
  notify?: NotifyTargets
  /** The run's clock: the cache-buster value. */
  now: Date
}

/**
 * The drift check's Terraform commands after init, in order: the refresh-only plan (read-only: no state
 * lock; exit code 0 = no drift, 2 = drift, other = error) and the JSON of the plan it saved. Pure; the
 * one definition checkDrift runs and the tests run against real Terraform.
 */
export function driftCommands(): { plan: string[]; show: string[] } {
  return {
    plan: [
      "terraform",
      "plan",
      "-refresh-only",
      "-detailed-exitcode",
      "-input=false",
      "-no-color",
      "-lock=false",
      `-var-file=${TFVARS_FILE}`,
      `-out=${DRIFT_PLAN_FILE}`,
    ],
    show: ["terraform", "show", "-json", DRIFT_PLAN_FILE],
  }
}

/** Runs the drift check of a stack; see the file comment for the steps. */
export async function checkDrift(input: DriftInput): Promise<DriftCheck> {
  const stack = input.credentials.stack
  const def = stackDefinition(stack, input.settings)
  const initialized = await initStack({ ...input, def, lockTimeout: DEFAULT_LOCK_TIMEOUT })
  const commands = driftCommands()
  const planned = initialized.withExec(commands.plan, { expect: ReturnType.Any })
  const exitCode = await planned.exitCode()
  const result = Object.assign(new DriftCheck(), { stack })
  if (exitCode === 0) return Object.assign(result, { summary: renderDrift(stack, { drifted: [], ownedOnly: [] }) })
  if (exitCode !== 2) {
    throw new Error(
      `terraform plan -refresh-only (terraform/${def.dir}) failed with exit code ${exitCode}:\n${tail(await planned.stderr())}\n` +
        "Nothing was changed. Check that the credentials may read the state bucket and describe the stack's resources " +
        `(README, "Read-only roles"), then run \`dagger call drift --stack=${stack}\` again.`,
    )
  }
  const jsonText = await planned
    .withExec(commands.show, { redirectStdout: DRIFT_JSON_FILE })
    .file(DRIFT_JSON_FILE)
    .contents()
  const report = analyzeDrift(JSON.parse(jsonText), stack === Stack.AWS ? AWS_OWNERSHIP : GCP_OWNERSHIP)
  const lines = driftLines(stack, report)
  Object.assign(result, { drifted: report.drifted.length > 0, summary: renderDrift(stack, report), lines })
  if (result.drifted && input.notify) result.warnings = await announceDrift(stack, lines, input.notify)
  return result
}

/** The message body for each target: the same lines in each receiver's own shape. */
export function driftPayload(target: NotifyTarget, stack: string, lines: readonly string[]): unknown {
  const title = `Terraform drift in ${stack}: ${lines.length} attribute${lines.length === 1 ? "" : "s"} changed outside Terraform`
  if (target === "slack") return { text: [title, ...lines.map((l) => `• ${l}`)].join("\n") }
  if (target === "discord") return { content: [title, ...lines.map((l) => `- ${l}`)].join("\n").slice(0, 2000) }
  return { schema: WEBHOOK_SCHEMA, kind: "drift", stack, title, lines }
}

/** Sends the drift to every configured webhook; returns warnings, never throws (the summary is the record). */
async function announceDrift(stack: string, lines: readonly string[], targets: NotifyTargets): Promise<string[]> {
  const entries = (Object.entries(targets) as [NotifyTarget, NotifyTargets[NotifyTarget]][]).filter(([, s]) => s !== undefined)
  const results = await Promise.all(
    entries.map(async ([target, secret]): Promise<DeliveryResult> => {
      let url: string
      try {
        url = (await secret!.plaintext()).trim()
      } catch {
        return { target, delivered: false, attempts: 0, error: "could not read the webhook secret" }
      }
      const r = await deliver(target, url, driftPayload(target, stack, lines))
      return { ...r, error: r.error === undefined ? undefined : redact(r.error, [url]) }
    }),
  )
  return results.filter((r) => !r.delivered).map((r) => `drift not announced on ${r.target}: ${r.error ?? "not delivered"}`)
}
