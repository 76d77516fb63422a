// Real Terraform against moto, outside any container: a copy of the staging stack (terraform/aws and
// terraform/modules) made runnable here, and a runner for Terraform commands in it.
//
// What differs from the pipeline's run, and why (nothing else in the copy is touched):
// - The AWS provider: the stack pins 6.20.0, but this machine holds only 5.100.0, in a filesystem mirror
//   (LOCAL_PROVIDER_MIRROR). The copy's version constraints (root and modules) name the mirror's
//   version, and one 6.x-only attribute is translated to its 5.x name (PROVIDER_5_RENAMES): without it
//   5.100.0 refuses the configuration ("Unsupported attribute"). Everything else is the stack as written.
// - The pipeline runs Terraform 1.13 (images.terraform) in a container; here the local binary runs.
// - A provider override file (`moto_override.tf`) sends every service the stack uses to moto and skips
//   the account and metadata look-ups an emulator cannot answer. The backend stays the stack's own S3
//   backend, pointed at moto by the same AWS_ENDPOINT_URL and -backend-config the pipeline passes.
// - The CLI configuration installs providers from the mirror only, and HTTP(S)_PROXY points at a closed
//   loopback port: a request that tries to leave the machine fails instead of reaching the internet.
import { execFile } from "node:child_process"
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { delimiter, join, resolve } from "node:path"
import { TFVARS_FILE } from "../../dagger/src/terraform/container.js"
import type { StackDefinition } from "../../dagger/src/terraform/stacks.js"
import type { Moto } from "./moto.js"
import { loadModule } from "./terraform-hcl.js"
import { repoRoot } from "../tools/paths.js"

export const LOCAL_PROVIDER_MIRROR = "/opt/tf-plugins"
/** The only hashicorp/aws release in the mirror; the stack itself pins 6.20.0. */
export const LOCAL_AWS_PROVIDER_VERSION = "5.100.0"
const PROVIDER_DIR = join(LOCAL_PROVIDER_MIRROR, "registry.terraform.io/hashicorp/aws", LOCAL_AWS_PROVIDER_VERSION, "linux_amd64")

/** Attributes renamed in provider 6.0, mapped back for 5.x: `data.aws_region.X.region` was `.name`. */
const PROVIDER_5_RENAMES: readonly [RegExp, string][] = [[/\b(data\.aws_region\.[A-Za-z0-9_-]+)\.region\b/g, "$1.name"]]

/**
 * Services the stack's resources and data sources call, each sent to moto. AWS_ENDPOINT_URL (set by the
 * stack's own env) also sends any service missing here to moto.
 */
const MOTO_SERVICES = ["cloudwatch", "dynamodb", "ec2", "ecr", "ecs", "elbv2", "iam", "kms", "logs", "s3", "sns", "sts"] as const

/** Absolute path of the terraform binary on PATH, or undefined. */
export function terraformBinary(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const p = join(dir, "terraform")
    if (dir && existsSync(p) && statSync(p).isFile()) return p
  }
  return undefined
}

/** Why real Terraform cannot run on this machine, or undefined when it can. */
export function localTerraformMissing(): string | undefined {
  if (!terraformBinary()) return "no terraform binary on PATH"
  if (!existsSync(join(PROVIDER_DIR, `terraform-provider-aws_v${LOCAL_AWS_PROVIDER_VERSION}_x5`))) {
    return `the hashicorp/aws ${LOCAL_AWS_PROVIDER_VERSION} provider is not in the filesystem mirror ${PROVIDER_DIR}`
  }
  return undefined
}

export interface TerraformRun {
  args: string[]
  exitCode: number
  stdout: string
  stderr: string
  ms: number
}

export interface LocalAwsStack {
  /** The copy's root module (the stack's terraform/aws). */
  workdir: string
  /** Edits made to the copy besides the override and CLI files, for the log. */
  edits: string[]
  /** Runs `terraform ...` (argv as the module builds it, "terraform" first) in the root module. */
  run(argv: readonly string[], options?: { acceptExitCodes?: readonly number[] }): Promise<TerraformRun>
  remove(): void
}

function providerOverride(moto: Moto): string {
  const endpoints = MOTO_SERVICES.map((s) => `    ${s.padEnd(10)} = "${moto.endpoint}"`).join("\n")
  return [
    "# Written by test/support/terraform-local.ts for a run against moto; not part of the stack.",
    'provider "aws" {',
    "  skip_credentials_validation = true",
    "  skip_requesting_account_id  = true",
    "  skip_metadata_api_check     = true",
    "  s3_use_path_style           = true",
    "",
    "  endpoints {",
    endpoints,
    "  }",
    "}",
    "",
  ].join("\n")
}

const CLI_CONFIG = [
  "disable_checkpoint = true",
  "provider_installation {",
  "  filesystem_mirror {",
  `    path = "${LOCAL_PROVIDER_MIRROR}"`,
  "  }",
  "}",
  "",
].join("\n")

function tfFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".tf")).map((f) => join(dir, f))
}

// The copy's version constraints name the mirror's release; a stack that stops pinning one is an error
// here, so the copy can never silently run something other than what this file says.
function pinToLocalProvider(file: string, text: string): { text: string; edits: string[] } {
  const edits: string[] = []
  const out = text.replace(/(source\s*=\s*"hashicorp\/aws"\s*\n\s*version\s*=\s*)"([^"]+)"/g, (_m, head: string, was: string) => {
    edits.push(`${file}: hashicorp/aws version "${was}" → "${LOCAL_AWS_PROVIDER_VERSION}"`)
    return `${head}"${LOCAL_AWS_PROVIDER_VERSION}"`
  })
  let renamed = out
  for (const [pattern, replacement] of PROVIDER_5_RENAMES) {
    renamed = renamed.replace(pattern, (m: string, ...groups: unknown[]) => {
      const to = replacement.replace("$1", String(groups[0]))
      edits.push(`${file}: ${m} → ${to} (provider 5.x name)`)
      return to
    })
  }
  return { text: renamed, edits }
}

/**
 * Copies terraform/aws and terraform/modules into a temporary directory, made runnable against moto as
 * the file comment says, with the stack's variables written exactly as the pipeline writes them
 * (TFVARS_FILE from the StackDefinition). Terraform's environment is the stack's own `env` (region and
 * AWS_ENDPOINT_URL), moto's credentials in the variables the module sets as secrets, and nothing else
 * of this process's environment but PATH.
 */
export function prepareAwsStack(def: StackDefinition, moto: Moto): LocalAwsStack {
  const tf = terraformBinary()
  if (!tf) throw new Error("terraform is not on PATH; install Terraform >= 1.10 to run the moto-backed Terraform tests")
  const root = mkdtempSync(join(tmpdir(), "tf-moto-"))
  const terraformDir = join(root, "terraform")
  cpSync(join(repoRoot, "terraform", def.dir), join(terraformDir, def.dir), { recursive: true, filter: (s) => !s.includes(".terraform") })
  cpSync(join(repoRoot, "terraform", "modules"), join(terraformDir, "modules"), { recursive: true, filter: (s) => !s.includes(".terraform") })
  const workdir = join(terraformDir, def.dir)

  const edits: string[] = []
  for (const file of tfFiles(terraformDir)) {
    const r = pinToLocalProvider(file.slice(terraformDir.length + 1), readFileSync(file, "utf8"))
    if (r.edits.length > 0) writeFileSync(file, r.text)
    edits.push(...r.edits)
  }
  if (!edits.some((e) => e.startsWith(`${def.dir}/versions.tf: hashicorp/aws version`))) {
    throw new Error(`terraform/${def.dir}/versions.tf pins no hashicorp/aws version this helper recognises; update test/support/terraform-local.ts`)
  }
  writeFileSync(join(workdir, "moto_override.tf"), providerOverride(moto))
  writeFileSync(join(workdir, TFVARS_FILE), JSON.stringify(def.variables, null, 2) + "\n")
  const cliConfig = join(root, "cli.tfrc")
  writeFileSync(cliConfig, CLI_CONFIG)

  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: root,
    TF_CLI_CONFIG_FILE: cliConfig,
    TF_IN_AUTOMATION: "1",
    TF_INPUT: "0",
    CHECKPOINT_DISABLE: "1",
    // Loopback (moto) is never proxied; anything else hits a closed port and fails loudly.
    HTTP_PROXY: "http://127.0.0.1:9",
    HTTPS_PROXY: "http://127.0.0.1:9",
    NO_PROXY: "127.0.0.1,localhost",
    ...def.env,
    AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey,
  }

  const run = (argv: readonly string[], options: { acceptExitCodes?: readonly number[] } = {}) =>
    new Promise<TerraformRun>((resolve, reject) => {
      if (argv[0] !== "terraform") return reject(new Error(`expected a terraform command, got ${JSON.stringify(argv)}`))
      const args = argv.slice(1)
      const started = Date.now()
      execFile(tf, args, { cwd: workdir, env, timeout: 600_000, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
        const exitCode = err ? (typeof err.code === "number" ? err.code : -1) : 0
        const result = { args, exitCode, stdout, stderr, ms: Date.now() - started }
        if ((options.acceptExitCodes ?? [0]).includes(exitCode)) return resolve(result)
        reject(new Error(`terraform ${args.join(" ")} exited with ${exitCode} in ${workdir}:\n${(stderr || stdout).slice(-4_000)}`))
      })
    })

  return { workdir, edits, run, remove: () => rmSync(root, { recursive: true, force: true }) }
}

/**
 * `-target=` arguments for every resource of the copy's root module and its module calls except the
 * given addresses (Terraform 1.11 has no -exclude). Throws when an excluded address is not in the
 * configuration any more, so a left-out resource is always one that exists.
 */
export async function targetsExcept(workdir: string, excluded: readonly string[]): Promise<string[]> {
  const root = await loadModule(workdir)
  const addresses = Object.entries(root.resources).flatMap(([type, byName]) => Object.keys(byName).map((n) => `${type}.${n}`))
  for (const [call, body] of Object.entries(root.modules)) {
    const child = await loadModule(resolve(workdir, String(body.source)))
    for (const [type, byName] of Object.entries(child.resources)) addresses.push(...Object.keys(byName).map((n) => `module.${call}.${type}.${n}`))
  }
  const gone = excluded.filter((a) => !addresses.includes(a))
  if (gone.length > 0) throw new Error(`cannot leave out ${gone.join(", ")}: not in ${workdir} any more; update the test's exclusions`)
  return addresses.filter((a) => !excluded.includes(a)).sort().map((a) => `-target=${a}`)
}
