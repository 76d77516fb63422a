// Drift: what changed in the cloud outside Terraform since the last apply, read from a refresh-only
// plan (`terraform show -json` of `terraform plan -refresh-only`: resource_drift[] with the state
// before and the cloud after). Fields the pipeline owns (ownership.ts) change on every deploy and are
// not drift. Pure.
import { z } from "#zod"
import type { OwnedFields } from "./ownership.js"
import { ResourceChangeSchema } from "./guard.js"

const RefreshPlanSchema = z.object({
  format_version: z.string().optional(),
  resource_drift: z.array(ResourceChangeSchema).optional(),
})

/** One attribute that differs between state and the cloud. */
export interface DriftedAttribute {
  /** Path in Terraform's notation, e.g. `health_check[0].path`. */
  path: string
  before: unknown
  after: unknown
}

export interface DriftedResource {
  address: string
  type: string
  /** "changed": attributes differ; "deleted": the resource is gone from the cloud. */
  kind: "changed" | "deleted"
  attributes: DriftedAttribute[]
}

export interface DriftReport {
  drifted: DriftedResource[]
  /** Addresses whose only differences are fields the pipeline owns (not drift), for the log. */
  ownedOnly: string[]
}

/** Reads a refresh-only plan's JSON; throws naming what is wrong when it is not one. */
export function analyzeDrift(planJson: unknown, ownership: readonly OwnedFields[]): DriftReport {
  const parsed = RefreshPlanSchema.safeParse(planJson)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(
      `the refresh-only plan's JSON is not in Terraform's plan format (${issue?.path.join(".") || "top level"}: ` +
        `${issue?.message}); was it produced by \`terraform show -json\` of a \`terraform plan -refresh-only\`?`,
    )
  }
  const drifted: DriftedResource[] = []
  const ownedOnly: string[] = []
  for (const entry of parsed.data.resource_drift ?? []) {
    if (entry.mode !== undefined && entry.mode !== "managed") continue
    if (entry.change.actions.includes("delete") && (entry.change.after === null || entry.change.after === undefined)) {
      drifted.push({ address: entry.address, type: entry.type, kind: "deleted", attributes: [] })
      continue
    }
    const owned = ownedFieldsOf(entry.address, ownership)
    const all = differences(entry.change.before, entry.change.after, "")
    const attributes = all.filter((a) => !owned.some((field) => covers(field, a.path)))
    if (attributes.length > 0) drifted.push({ address: entry.address, type: entry.type, kind: "changed", attributes })
    else if (all.length > 0) ownedOnly.push(entry.address)
  }
  return { drifted, ownedOnly }
}

// An address with a count/for_each index (`...this[0]`) is owned as the address without it.
function ownedFieldsOf(address: string, ownership: readonly OwnedFields[]): readonly string[] {
  const base = address.replace(/\[[^\]]*\]$/, "")
  return ownership.filter((o) => o.address === address || o.address === base).flatMap((o) => o.fields)
}

// `traffic` covers `traffic[0].percent`; `template[0].containers[0].env` covers its elements.
function covers(field: string, path: string): boolean {
  return path === field || path.startsWith(`${field}.`) || path.startsWith(`${field}[`)
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v)
}

/** Leaf paths where `before` and `after` differ; a list of different length is one difference. */
function differences(before: unknown, after: unknown, path: string): DriftedAttribute[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()
    return keys.flatMap((k) => differences(before[k], after[k], path ? `${path}.${k}` : k))
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return before.flatMap((b, i) => differences(b, after[i], `${path}[${i}]`))
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ path: path || "(whole resource)", before, after }]
}

const show = (v: unknown): string => {
  const text = v === undefined ? "(absent)" : JSON.stringify(v)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

/** The drift of one stack as Markdown; empty drift renders as one quiet line. */
export function renderDrift(stack: string, report: DriftReport): string {
  if (report.drifted.length === 0) return `**${stack}**: no drift.\n`
  const lines = [
    `### ${stack}: ${report.drifted.length} resource${report.drifted.length === 1 ? "" : "s"} drifted outside Terraform`,
    "",
  ]
  for (const r of report.drifted) {
    if (r.kind === "deleted") {
      lines.push(`- \`${r.address}\`: deleted outside Terraform`)
      continue
    }
    lines.push(`- \`${r.address}\``)
    for (const a of r.attributes) lines.push(`  - \`${a.path}\`: ${show(a.before)} → ${show(a.after)}`)
  }
  lines.push(
    "",
    "State says the first value, the cloud the second. Either revert the change in the cloud, or make it in " +
      "terraform/ and apply it, so the next apply does not undo it silently.",
  )
  return lines.join("\n") + "\n"
}

/** One line per drifted address and attribute, for a notification. */
export function driftLines(stack: string, report: DriftReport): string[] {
  return report.drifted.flatMap((r) =>
    r.kind === "deleted"
      ? [`${stack} ${r.address}: deleted outside Terraform`]
      : r.attributes.map((a) => `${stack} ${r.address}.${a.path}: ${show(a.before)} → ${show(a.after)}`),
  )
}
