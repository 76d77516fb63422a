// Drift: what changed in the cloud outside Terraform since the last apply, read from a refresh-only
// plan (`terraform show -json` of `terraform plan -refresh-only`: resource_drift[] with the state
// before and the cloud after). Fields the pipeline owns (ownership.ts) change on every deploy and are
// not drift. Pure.
//
// Not every difference Terraform lists is a change someone made. Right after the apply that creates a
// stack, state holds what the create calls answered; the first refresh then reads back what creation
// left empty (`tags` null → {}, unset lists and numbers → [] and 0) and what Terraform copies from
// other resources (a role's `inline_policy` from its aws_iam_role_policy, a target group's
// `load_balancer_arns` through the listener, a bucket's `lifecycle_rule` from its lifecycle
// configuration): 28 lines for a stack nobody touched (test/terraform/drift-moto.test.ts). The rule,
// from the plan's own JSON and no list per resource type:
// 1. null, [], {}, "" and absent are one "unset" value: unset → unset is no change.
// 2. What the configuration declares (`configuration` expressions, nested blocks included) always
//    counts, as does any attribute state held a value for: provider defaults (an ALB's idle_timeout)
//    and `tags_all` from default_tags, where a hand-edited tag shows.
// 3. An attribute neither declared nor held by state that gains a value was filled in by the read,
//    and is ignored when every string and number in the new value is "" or 0 (the provider's zero
//    values; booleans and nulls identify nothing) or held by a resource that refers to this one in
//    the configuration (the copy from a sibling). Anything else, such as a rule added by hand to the
//    adopted default security group or an inline policy added to the task role, is reported: "only
//    declared attributes" alone would hide exactly those.
// Terraform's `relevant_attributes` is no help here: it lists the attributes other expressions
// reference (names, ARNs, ids) and holds neither a health check path nor a log retention.
import { z } from "#zod"
import type { OwnedFields } from "./ownership.js"
import { ResourceChangeSchema } from "./guard.js"

/** A module of the plan's `configuration`: its resources' expressions and its module calls. */
interface ConfigModule {
  resources?: { address: string; expressions?: Record<string, unknown> }[]
  module_calls?: Record<string, { module?: ConfigModule }>
}
const ConfigModuleSchema: z.ZodType<ConfigModule> = z.lazy(() =>
  z.object({
    resources: z.array(z.object({ address: z.string(), expressions: z.record(z.string(), z.unknown()).optional() })).optional(),
    module_calls: z.record(z.string(), z.object({ module: ConfigModuleSchema.optional() })).optional(),
  }),
)

/** A module of the plan's `prior_state` (the refreshed state): its resources' values and child modules. */
interface StateModule {
  resources?: { address: string; values?: unknown }[]
  child_modules?: StateModule[]
}
const StateModuleSchema: z.ZodType<StateModule> = z.lazy(() =>
  z.object({
    resources: z.array(z.object({ address: z.string(), values: z.unknown().optional() })).optional(),
    child_modules: z.array(StateModuleSchema).optional(),
  }),
)

const RefreshPlanSchema = z.object({
  format_version: z.string().optional(),
  resource_drift: z.array(ResourceChangeSchema).optional(),
  configuration: z.object({ root_module: ConfigModuleSchema.optional() }).optional(),
  prior_state: z.object({ values: z.object({ root_module: StateModuleSchema.optional() }).optional() }).optional(),
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
  const config = readConfiguration(parsed.data.configuration?.root_module)
  const state = stateValues(parsed.data.prior_state?.values?.root_module)
  for (const entry of parsed.data.resource_drift ?? []) {
    if (entry.mode !== undefined && entry.mode !== "managed") continue
    if (entry.change.actions.includes("delete") && (entry.change.after === null || entry.change.after === undefined)) {
      drifted.push({ address: entry.address, type: entry.type, kind: "deleted", attributes: [] })
      continue
    }
    const owned = ownedFieldsOf(entry.address, ownership)
    const resource = configAddress(entry.address)
    const echoes = leavesOf((config.referrers.get(resource) ?? []).flatMap((r) => state.get(r) ?? []))
    // A resource missing from the configuration (or a plan without it) has every difference counted.
    const declared = config.expressions.has(resource) ? (config.expressions.get(resource) ?? {}) : undefined
    const all = differences(entry.change.before, entry.change.after, "", declared, echoes)
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

/** The address without count/for_each keys, as resources are named in the configuration. */
function configAddress(address: string): string {
  return address.replace(/\[(?:"(?:[^"\\]|\\.)*"|[^\]]*)\]/g, "")
}

interface Configuration {
  /** Each resource's expressions by its configuration address. */
  expressions: Map<string, Record<string, unknown>>
  /** For each resource, the resources whose expressions refer to it. */
  referrers: Map<string, string[]>
}

function readConfiguration(root: ConfigModule | undefined): Configuration {
  const expressions = new Map<string, Record<string, unknown>>()
  const referrers = new Map<string, string[]>()
  const visit = (module: ConfigModule, prefix: string) => {
    const resources = module.resources ?? []
    for (const r of resources) {
      expressions.set(prefix + r.address, r.expressions ?? {})
      const refs = referencesIn(r.expressions)
      for (const target of resources) {
        if (target === r || !refs.some((ref) => ref === target.address || ref.startsWith(`${target.address}.`) || ref.startsWith(`${target.address}[`))) continue
        const key = prefix + target.address
        referrers.set(key, [...(referrers.get(key) ?? []), prefix + r.address])
      }
    }
    for (const [name, call] of Object.entries(module.module_calls ?? {})) if (call.module) visit(call.module, `${prefix}module.${name}.`)
  }
  if (root) visit(root, "")
  return { expressions, referrers }
}

function referencesIn(expressions: unknown): string[] {
  if (Array.isArray(expressions)) return expressions.flatMap(referencesIn)
  if (!isObject(expressions)) return []
  return Object.entries(expressions).flatMap(([k, v]) =>
    k === "references" && Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : referencesIn(v),
  )
}

/** The refreshed state's values by configuration address (all instances of a counted resource). */
function stateValues(root: StateModule | undefined): Map<string, unknown[]> {
  const values = new Map<string, unknown[]>()
  const visit = (module: StateModule) => {
    for (const r of module.resources ?? []) {
      const key = configAddress(r.address)
      values.set(key, [...(values.get(key) ?? []), r.values])
    }
    for (const child of module.child_modules ?? []) visit(child)
  }
  if (root) visit(root)
  return values
}

// Strings and numbers that can identify a value; "", 0, booleans and null identify nothing.
function identifyingLeaves(v: unknown): string[] {
  if (Array.isArray(v)) return v.flatMap(identifyingLeaves)
  if (isObject(v)) return Object.values(v).flatMap(identifyingLeaves)
  return (typeof v === "string" && v !== "") || (typeof v === "number" && v !== 0) ? [JSON.stringify(v)] : []
}

const leavesOf = (values: readonly unknown[]): ReadonlySet<string> => new Set(values.flatMap(identifyingLeaves))

function isUnset(v: unknown): boolean {
  return v === undefined || v === null || v === "" || (Array.isArray(v) ? v.length === 0 : isObject(v) && Object.keys(v).length === 0)
}

// An expression object holds only these keys; any other object is a nested block's expressions.
const isAttributeExpression = (e: Record<string, unknown>) => Object.keys(e).every((k) => k === "constant_value" || k === "references")

/**
 * What the configuration declares inside attribute `expression`: a nested block's expressions, the union
 * over the blocks of a repeated block (a set's order in state is not the configuration's), or undefined
 * for an attribute, which is declared as a whole.
 */
function nestedDeclared(expression: unknown): Record<string, unknown> | undefined {
  if (Array.isArray(expression)) {
    const merged: Record<string, unknown> = {}
    for (const block of expression.filter(isObject)) {
      for (const [k, v] of Object.entries(block)) {
        const had = merged[k]
        merged[k] = Array.isArray(had) && Array.isArray(v) ? [...had, ...v] : (had ?? v)
      }
    }
    return merged
  }
  return isObject(expression) && !isAttributeExpression(expression) ? expression : undefined
}

/**
 * Leaf paths where `before` and `after` differ; a list of different length is one difference. `declared`
 * is what the configuration sets at this level (undefined: count everything); `echoes` the values held
 * by the resources that refer to this one (see the file comment for the rule).
 */
function differences(
  before: unknown,
  after: unknown,
  path: string,
  declared: Record<string, unknown> | undefined,
  echoes: ReadonlySet<string>,
): DriftedAttribute[] {
  if (isUnset(before) && isUnset(after)) return []
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()
    return keys.flatMap((k) => {
      const at = path ? `${path}.${k}` : k
      if (declared !== undefined && Object.hasOwn(declared, k)) return differences(before[k], after[k], at, nestedDeclared(declared[k]), echoes)
      if (declared !== undefined && isUnset(before[k]) && filledInByRead(after[k], echoes)) return []
      return differences(before[k], after[k], at, undefined, echoes)
    })
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return before.flatMap((b, i) => differences(b, after[i], `${path}[${i}]`, declared, echoes))
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ path: path || "(whole resource)", before, after }]
}

// A value the read filled in where neither the configuration nor state had one: zero values, or a
// copy of what a resource referring to this one holds.
function filledInByRead(after: unknown, echoes: ReadonlySet<string>): boolean {
  return identifyingLeaves(after).every((leaf) => echoes.has(leaf))
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
