// Accepted findings: ci/.trivyignore.yaml, in Trivy's own YAML ignore-file format (so Trivy applies it
// directly with --ignorefile), plus two rules of ours that Trivy does not enforce:
//   - every entry states a reason (`statement`) and an expiry (`expired_at`, a date);
//   - an expired entry FAILS the scan, naming the entry. (Trivy silently drops expired entries, which
//     would turn an accepted risk into a surprise failure — or, worse, nobody would notice it expired.)
// Pure: text and today's date in, entries or an IgnoreFileError out.
import { parse as parseYaml } from "#yaml"
import { z } from "#zod"

const KINDS = ["vulnerabilities", "misconfigurations", "secrets", "licenses"] as const
export type IgnoreKind = (typeof KINDS)[number]

const DATE = /^\d{4}-\d{2}-\d{2}$/

function isRealDate(text: string): boolean {
  if (!DATE.test(text)) return false
  const d = new Date(`${text}T00:00:00Z`)
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === text
}

const entry = z.strictObject({
  id: z.string().trim().min(1, "must name the finding (CVE-..., AVD-..., a secret rule or a license)"),
  statement: z
    .string({ error: "is required: say why this finding is accepted" })
    .trim()
    .min(10, "must explain why the finding is accepted (at least 10 characters)"),
  expired_at: z
    .string({ error: "is required: a date (YYYY-MM-DD) when this acceptance must be reviewed again" })
    .refine(isRealDate, "must be a date written YYYY-MM-DD"),
  paths: z.array(z.string().min(1)).optional(),
  purls: z.array(z.string().regex(/^pkg:/, "must be a package URL starting with 'pkg:'")).optional(),
})

const ignoreFileSchema = z.strictObject(
  Object.fromEntries(KINDS.map((k) => [k, z.array(entry).nullish()])) as Record<
    IgnoreKind,
    z.ZodOptional<z.ZodNullable<z.ZodArray<typeof entry>>>
  >,
)

/** One accepted finding. */
export interface IgnoreEntry {
  kind: IgnoreKind
  /** Position in the file, for messages: `vulnerabilities[2]`. */
  where: string
  id: string
  statement: string
  /** YYYY-MM-DD; the entry is expired from this day on (as Trivy compares it to the current time). */
  expiresOn: string
  paths: string[]
}

/** A problem with the ignore file; the message lists each entry at fault and what to do. */
export class IgnoreFileError extends Error {
  override name = "IgnoreFileError"
  constructor(
    readonly source: string,
    readonly problems: string[],
    fix: string,
  ) {
    super(`${source}: ${problems.length === 1 ? problems[0] : "\n" + problems.map((p) => `  - ${p}`).join("\n")}\n${fix}`)
  }
}

/** Parses and validates the ignore file text (reason and expiry required on every entry). */
export function parseIgnoreFile(text: string, source: string): IgnoreEntry[] {
  let data: unknown
  try {
    data = parseYaml(text)
  } catch (err) {
    throw new IgnoreFileError(source, [`not valid YAML: ${(err as Error).message.split("\n")[0]}`], "Fix the YAML syntax.")
  }
  if (data === null || data === undefined) return []
  const result = ignoreFileSchema.safeParse(data)
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const at = issue.path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i ? "." : ""}${String(p)}`)).join("")
      if (issue.code === "unrecognized_keys") {
        return `${at ? at + ": " : ""}unknown key(s) ${issue.keys.join(", ")} (allowed: ${at ? "id, statement, expired_at, paths, purls" : KINDS.join(", ")})`
      }
      return `${at || "(top level)"}: ${issue.message}`
    })
    throw new IgnoreFileError(
      source,
      problems,
      "Each entry needs id, statement (why it is accepted) and expired_at (YYYY-MM-DD); see Trivy's YAML ignore-file format.",
    )
  }
  const entries: IgnoreEntry[] = []
  for (const kind of KINDS) {
    ;(result.data[kind] ?? []).forEach((e, i) => {
      entries.push({
        kind,
        where: `${kind}[${i}]`,
        id: e.id,
        statement: e.statement,
        expiresOn: e.expired_at,
        paths: e.paths ?? [],
      })
    })
  }
  return entries
}

/** Entries whose expiry date is today or earlier (`today` is YYYY-MM-DD, UTC). */
export function expiredEntries(entries: readonly IgnoreEntry[], today: string): IgnoreEntry[] {
  if (!isRealDate(today)) throw new Error(`today must be a YYYY-MM-DD date, got '${today}'`)
  // Trivy treats an entry as expired once expired_at (midnight UTC) is before now, i.e. from that day on.
  return entries.filter((e) => e.expiresOn <= today)
}

/**
 * Validates the file and fails on any expired entry, naming each one. Returns the active entries.
 * `today` is YYYY-MM-DD (UTC) — passed in so the rule is testable and every caller uses one clock.
 */
export function checkIgnoreFile(text: string, source: string, today: string): IgnoreEntry[] {
  const entries = parseIgnoreFile(text, source)
  const expired = expiredEntries(entries, today)
  if (expired.length > 0) {
    throw new IgnoreFileError(
      source,
      expired.map(
        (e) => `entry ${e.where} (${e.id}) expired on ${e.expiresOn} — accepted because: "${e.statement}"`,
      ),
      "The scan fails until each is resolved: fix the finding (upgrade the package or base image) and delete the " +
        "entry, or re-review the risk and set a new expired_at.",
    )
  }
  return entries
}

/** Today's date as YYYY-MM-DD in UTC. */
export function utcDate(now: Date): string {
  return now.toISOString().slice(0, 10)
}
