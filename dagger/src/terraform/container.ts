// The Terraform container of a stack, before any command: the pinned image, the shared plugin cache,
// the repository's terraform/ directory, the settings as a variables file, plain environment, and
// only the stack's own cloud credentials, as secret variables.
import { CacheSharingMode, dag, type Container, type Directory } from "@dagger.io/dagger"
import { withAwsSecrets, withGcpSecrets, type AwsSecrets, type GcpSecrets } from "../config/credentials.js"
import type { StackDefinition } from "./stacks.js"

/** Where the repository's terraform/ directory is mounted in the Terraform container. */
export const TERRAFORM_MOUNT = "/src/terraform"
/** Plugin cache inside the container, backed by a cache volume shared by every run. */
export const PLUGIN_CACHE_DIR = "/root/.terraform.d/plugin-cache"
export const PLUGIN_CACHE_VOLUME = "terraform-plugin-cache"
/** The variables file the pipeline writes (settings → Terraform variables). */
export const TFVARS_FILE = "pipeline.tfvars.json"
/** Changes on every run so no Terraform step is served from Dagger's cache (they read live state). */
export const CACHE_BUSTER_ENV = "PORTFOLIO_TERRAFORM_RUN"

/** The Terraform container for a stack, before any command: image, cache, files, env, credentials. */
export function terraformContainer(input: {
  source: Directory
  image: string
  def: StackDefinition
  /** Only the stack's own cloud credentials: a StackCredentials, typed by shape to keep this file below apply.ts. */
  credentials: { aws: AwsSecrets } | { gcp: GcpSecrets }
  now: Date
}): Container {
  let c = dag
    .container()
    .from(input.image)
    .withMountedCache(PLUGIN_CACHE_DIR, dag.cacheVolume(PLUGIN_CACHE_VOLUME), { sharing: CacheSharingMode.Locked })
    .withEnvVariable("TF_PLUGIN_CACHE_DIR", PLUGIN_CACHE_DIR)
    .withEnvVariable("TF_IN_AUTOMATION", "1")
    .withEnvVariable("TF_INPUT", "0")
    .withEnvVariable("CHECKPOINT_DISABLE", "1")
  for (const [k, v] of Object.entries(input.def.env)) c = c.withEnvVariable(k, v)
  c = "aws" in input.credentials ? withAwsSecrets(c, input.credentials.aws) : withGcpSecrets(c, input.credentials.gcp)
  return c
    .withDirectory(TERRAFORM_MOUNT, input.source.directory("terraform"))
    .withWorkdir(`${TERRAFORM_MOUNT}/${input.def.dir}`)
    .withNewFile(TFVARS_FILE, JSON.stringify(input.def.variables, null, 2) + "\n")
    .withEnvVariable(CACHE_BUSTER_ENV, input.now.toISOString())
}
