// Adopt-or-create, the pure part. Each stack declares a manifest: Terraform address → the cloud
// resource it stands for → how to probe whether that resource exists. Before a plan the pipeline
// reads the addresses already in state, probes only the others, and writes an `import {}` block for
// each one that exists. A resource that does not exist is left to `apply` to create, and a second
// run finds everything in state and imports nothing.
//
// Why not `terraform import` or unconditional import blocks: an import block fails when the
// resource does not exist, and `terraform import` fails when it is already managed.
//
// Only resources whose creation would collide with (or duplicate) an existing one are listed.
// Settings-style resources that AWS creates with an idempotent "put" (bucket versioning, encryption,
// lifecycle and role policies, ECR lifecycle policy) adopt themselves on apply and need no import.

/** How to find out whether an AWS resource exists (and its import ID when that is not its name). */
export type AwsProbe =
  | { kind: "s3-bucket"; bucket: string }
  | { kind: "dynamodb-table"; table: string }
  | { kind: "ecr-repository"; name: string }
  | { kind: "vpc"; nameTag: string }
  | { kind: "subnet"; nameTag: string }
  | { kind: "internet-gateway"; nameTag: string }
  | { kind: "route-table"; nameTag: string }
  | { kind: "route-table-association"; subnetNameTag: string; routeTableNameTag: string }
  | { kind: "security-group"; groupName: string; vpcNameTag: string }
  | { kind: "load-balancer"; name: string }
  | { kind: "target-group"; name: string }
  | { kind: "listener"; loadBalancerName: string; port: number }
  | { kind: "log-group"; name: string }
  | { kind: "cloudwatch-alarm"; name: string }
  | { kind: "iam-role"; name: string }
  | { kind: "ecs-cluster"; name: string }
  | { kind: "ecs-service"; cluster: string; service: string }

/** How to find out whether a GCP resource exists; its import ID is its full resource name. */
export type GcpProbe =
  | { kind: "gcs-bucket"; bucket: string }
  | { kind: "artifact-registry-repository"; project: string; location: string; repository: string }
  | { kind: "cloud-run-service"; project: string; location: string; service: string }
  | { kind: "service-account"; project: string; email: string }

export type Probe = AwsProbe | GcpProbe

/** One resource Terraform may have to adopt. */
export interface ImportEntry {
  /** Address in the root module, e.g. `module.network.aws_subnet.public[0]`. */
  address: string
  /** What the resource is called in the cloud, for people: "VPC tagged Name=portfolio-prod-vpc". */
  cloudId: string
  probe: Probe
}

/** What a probe found. `importId` is the ID Terraform's import expects for this resource type. */
export type ProbeResult =
  | { status: "found"; importId: string }
  | { status: "absent" }
  | { status: "failed"; reason: string }

export type ProbeResults = ReadonlyMap<string, ProbeResult>

export interface PlannedImport {
  address: string
  importId: string
  cloudId: string
}

export interface ImportPlan {
  /** Exist in the cloud but not in state: written as import blocks. */
  imports: PlannedImport[]
  /** Exist nowhere yet: `apply` creates them. */
  creates: { address: string; cloudId: string }[]
  /** Already in state: nothing to do. */
  managed: string[]
}

/** A probe failed or was never run, so adopting safely is impossible; the message lists each case. */
export class ImportPlanError extends Error {
  override name = "ImportPlanError"
  constructor(readonly problems: string[]) {
    super(
      `cannot decide what to import (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n") +
        "\nNothing was planned or applied. Fix the access problem (or remove the duplicate) and run again.",
    )
  }
}

/** Manifest entries that are not in state yet: the only ones worth probing. */
export function entriesToProbe(stateAddresses: readonly string[], manifest: readonly ImportEntry[]): ImportEntry[] {
  const inState = new Set(stateAddresses)
  return manifest.filter((e) => !inState.has(e.address))
}

/**
 * Decides, for every manifest entry, whether to import it, leave it to apply, or leave it alone.
 * Pure: state addresses and probe results in, decisions out. Throws ImportPlanError when an entry
 * that is not in state has no usable probe result.
 */
export function planImports(
  stateAddresses: readonly string[],
  manifest: readonly ImportEntry[],
  probes: ProbeResults,
): ImportPlan {
  const seen = new Set<string>()
  for (const e of manifest) {
    if (seen.has(e.address)) throw new Error(`import manifest lists ${e.address} twice; each address must appear once`)
    seen.add(e.address)
  }
  const inState = new Set(stateAddresses)
  const plan: ImportPlan = { imports: [], creates: [], managed: [] }
  const problems: string[] = []
  for (const entry of manifest) {
    if (inState.has(entry.address)) {
      plan.managed.push(entry.address)
      continue
    }
    const result = probes.get(entry.address)
    if (!result) {
      problems.push(`${entry.address} (${entry.cloudId}) was not probed`)
    } else if (result.status === "failed") {
      problems.push(`${entry.address} (${entry.cloudId}): ${result.reason}`)
    } else if (result.status === "found") {
      plan.imports.push({ address: entry.address, importId: result.importId, cloudId: entry.cloudId })
    } else {
      plan.creates.push({ address: entry.address, cloudId: entry.cloudId })
    }
  }
  if (problems.length > 0) throw new ImportPlanError(problems)
  return plan
}

// HCL string literal: JSON escaping plus HCL's template sequences, so an ID is always taken literally.
function hclString(value: string): string {
  return JSON.stringify(value).replace(/\$\{/g, "$${").replace(/%\{/g, "%%{")
}

/** Name of the generated file inside the stack directory (only ever written inside the container). */
export const IMPORTS_FILE = "imports.tf"

/** Renders import blocks in `terraform fmt` style; an empty plan renders to null (write no file). */
export function renderImportBlocks(imports: readonly PlannedImport[]): string | null {
  if (imports.length === 0) return null
  const header =
    "# Generated by the pipeline for this run only (dagger/src/terraform/import.ts): these resources\n" +
    "# exist in the cloud but not in state, so Terraform adopts them instead of failing to create them.\n"
  const blocks = imports.map(
    (i) => `# ${i.cloudId}\nimport {\n  to = ${i.address}\n  id = ${hclString(i.importId)}\n}\n`,
  )
  return header + "\n" + blocks.join("\n")
}

/** What `terraform state list` printed and returned. */
export interface StateListResult {
  exitCode: number
  stdout: string
  stderr: string
}

/**
 * Addresses in state from `terraform state list`. A stack that has never been applied has no state
 * file yet; Terraform reports that as an error, which here means "nothing is managed".
 */
export function parseStateList(result: StateListResult): string[] {
  if (result.exitCode === 0) {
    return result.stdout
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.length > 0)
  }
  if (/No state file was found/i.test(result.stderr + result.stdout)) return []
  const detail = (result.stderr || result.stdout).trim().split("\n").slice(-15).join("\n")
  throw new Error(
    `\`terraform state list\` exited with code ${result.exitCode}, so the addresses already managed are unknown:\n` +
      `${detail}\nCheck the backend settings (ci/pipeline.yaml *.terraform) and the credentials, then run again.`,
  )
}
