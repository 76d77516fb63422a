// plan / apply end to end without an engine: the SDK's real module entrypoint (or `dag` in process)
// against the engine double, the cloud side against moto (AWS) and a fake of the Google APIs (GCP).
// Terraform itself cannot run here, so the double answers its outputs; what is asserted is what the
// module asks the engine to do: order (state list → probe → imports.tf → plan → apply of that plan),
// the container (pinned image, plugin cache, secret variables, lock timeout, cache buster) and the
// destroy guard.
import { parse as parseHcl } from "@cdktf/hcl2json"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { parseSettings, type Settings } from "../../dagger/src/config/settings.js"
import { IMPORTS_FILE } from "../../dagger/src/terraform/import.js"
import { AWS_OUTPUTS } from "../../dagger/src/terraform/outputs.js"
import { awsStack, gcpNames } from "../../dagger/src/terraform/stacks.js"
import { PLAN_FILE, Stack, cloudAdapter, planStack, stackCredentials } from "../../dagger/src/terraform/apply.js"
import { CACHE_BUSTER_ENV, PLUGIN_CACHE_DIR, TFVARS_FILE } from "../../dagger/src/terraform/container.js"
import {
  callFunction,
  execError,
  startEngineDouble,
  withDouble,
  type Chain,
  type EngineDouble,
  type ExecInfo,
  type LeafCall,
  type ScriptFn,
} from "../support/engine-double.js"
import { startGoogleApisFake, type GoogleApisFake } from "../support/google-apis-fake.js"
import { expectFunction } from "../support/signature.js"
import { introspectModule } from "../support/introspect.js"
import { botoCalls } from "../support/boto3.js"
import { startMoto, type Moto } from "../support/moto.js"
import { repoRoot } from "../tools/paths.js"

const settingsText = readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8")
const ACCESS_KEY = "AKIATERRAFORMTEST01"
const SECRET_KEY = "terraform-test-secret-access-key-0123456789"

// ---------------------------------------------------------------------------------------------------
// What Terraform would print, answered by the double.

function lastExec(chain: Chain): string[] | undefined {
  for (let i = chain.length - 1; i >= 0; i--) {
    const l = chain[i]!
    if (l.field === "withExec") return (l.args["args"] as string[] | undefined) ?? []
  }
  return undefined
}

const isTf = (args: string[] | undefined, ...sub: string[]) => !!args && args[0] === "terraform" && sub.every((s, i) => args[i + 1] === s)

interface TerraformScript {
  /** Addresses `terraform state list` prints; "none" = no state file yet. */
  state: string[] | "none"
  /** The JSON `terraform show -json tfplan` prints. */
  planJson: unknown
  /** What `terraform output -json` prints (values only; wrapped as Terraform does). */
  outputs: Record<string, string>
  /** Make `terraform init` fail like this. */
  initFails?: { exitCode: number; stderr: string }
}

function terraform(s: TerraformScript): ScriptFn {
  return (q) => {
    const args = lastExec(q.chain)
    if (isTf(args, "init") && q.leaf === "sync" && s.initFails) return execError(s.initFails)
    if (isTf(args, "state", "list")) {
      if (q.leaf === "exitCode") return s.state === "none" ? 1 : 0
      if (q.leaf === "stdout") return s.state === "none" ? "" : s.state.map((a) => `${a}\n`).join("")
      if (q.leaf === "stderr") return s.state === "none" ? "No state file was found!\n" : ""
    }
    if (isTf(args, "show", "-no-color") && q.leaf === "stdout") return "Terraform will perform the following actions:\n"
    if (isTf(args, "show", "-json") && q.leaf === "contents") return JSON.stringify(s.planJson)
    if (isTf(args, "apply") && q.leaf === "stdout") return "Apply complete! Resources: 1 added, 0 changed, 0 destroyed.\n"
    if (isTf(args, "output") && q.leaf === "stdout") {
      return JSON.stringify(Object.fromEntries(Object.entries(s.outputs).map(([k, v]) => [k, { value: v, type: "string", sensitive: false }])))
    }
    return undefined
  }
}

const change = (address: string, type: string, actions: string[], importing?: string) => ({
  address,
  type,
  mode: "managed",
  change: { actions, ...(importing ? { importing: { id: importing } } : {}) },
})

const awsOutputs = Object.fromEntries(AWS_OUTPUTS.map((k) => [k, k === "service_url" ? "http://portfolio-alb-1.us-west-1.elb.amazonaws.com" : `${k}-value`]))

// ---------------------------------------------------------------------------------------------------
// Looking at what the module asked for.

/** The distinct execs whose args start with `terraform <sub...>`. */
function tfExecs(double: EngineDouble, ...sub: string[]): ExecInfo[] {
  return double.execs().filter((e) => isTf(e.args, ...sub))
}

function only(execs: ExecInfo[], what: string): ExecInfo {
  expect(execs, `exactly one ${what}`).toHaveLength(1)
  return execs[0]!
}

/** The contents of a file written with withNewFile(path) in a chain (last write wins). */
function newFile(chain: Chain, path: string): string | undefined {
  let contents: string | undefined
  for (const l of chain) if (l.field === "withNewFile" && l.args["path"] === path) contents = String(l.args["contents"])
  return contents
}

function firstLeaf(calls: readonly LeafCall[], pred: (c: LeafCall) => boolean): LeafCall {
  const found = calls.find(pred)
  if (!found) throw new Error("no such leaf was resolved")
  return found
}

// ---------------------------------------------------------------------------------------------------

describe("plan and apply signatures", () => {
  it("plan --stack=AWS|GCP takes credentials only as Secrets and returns a TerraformPlan; apply has --allow-destroy", async () => {
    const typedefs = await introspectModule()
    const creds = {
      "aws-access-key-id": { type: "Secret", optional: true },
      "aws-secret-access-key": { type: "Secret", optional: true },
      "aws-session-token": { type: "Secret", optional: true },
      "gcp-credentials": { type: "Secret", optional: true },
      "gcp-access-token": { type: "Secret", optional: true },
      "initial-image": { type: "String", optional: true },
    }
    expectFunction(typedefs, "plan", {
      args: { stack: { type: "Stack", required: true, enumValues: ["AWS", "GCP"] }, ...creds },
      returns: "TerraformPlan",
      cache: "never",
    })
    expectFunction(typedefs, "apply", {
      args: {
        stack: { type: "Stack", required: true },
        ...creds,
        "allow-destroy": { type: "Boolean", default: false, description: "Default: false" },
      },
      returns: "TerraformApply",
      cache: "never",
    })
    expectFunction(typedefs, "apply", {
      object: "TerraformPlan",
      args: { "allow-destroy": { type: "Boolean", default: false } },
      returns: "TerraformApply",
      cache: "never",
    })
  })
})

describe("plan / apply of the AWS stack through the module entrypoint (moto behind the probes)", () => {
  let moto: Moto
  let double: EngineDouble
  let repo: string
  let settings: Settings

  beforeAll(async () => {
    moto = await startMoto({ region: parseSettings(settingsText).staging.aws.region })
    double = await startEngineDouble()
    // A checkout whose ci/pipeline.yaml points staging at moto, as an emulator run would configure it.
    repo = mkdtempSync(join(tmpdir(), "terraform-plan-"))
    mkdirSync(join(repo, "ci"))
    const pointed = settingsText.replace(/(\nstaging:\n  aws:\n    region: )[^\n]+\n/, `$1${moto.region}\n    endpointUrl: ${moto.endpoint}\n`)
    settings = parseSettings(pointed)
    expect(settings.staging.aws.endpointUrl).toBe(moto.endpoint)
    writeFileSync(join(repo, "ci/pipeline.yaml"), pointed)
  }, 120_000)
  afterAll(async () => {
    await double?.close()
    await moto?.stop()
    if (repo) rmSync(repo, { recursive: true, force: true })
  })
  beforeEach(async () => {
    await moto.reset()
    double.reset()
  })

  const awsArgs = () => ({
    stack: "AWS",
    awsAccessKeyId: double.secret("AWS_ACCESS_KEY_ID", ACCESS_KEY),
    awsSecretAccessKey: double.secret("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
  })
  const call = (fn: string, args: Record<string, unknown>) =>
    callFunction(double, {
      fn,
      constructorArgs: { source: double.hostDirectory(repo) },
      args: args as never,
      timeoutMs: 180_000,
    })

  it("first run: bootstraps the backend, adopts what exists (import blocks), plans; apply applies that plan file", async () => {
    const names = awsStack(settings)
    // Leftovers of the seed's scripts: they exist but no state knows them.
    await botoCalls(moto, [["ecr", "create_repository", { repositoryName: settings.staging.names.ecrRepository }]])
    await botoCalls(moto, [["logs", "create_log_group", { logGroupName: `/ecs/${settings.staging.names.prefix}` }]])
    double.setScript(
      terraform({
        state: "none",
        planJson: {
          format_version: "1.2",
          resource_changes: [
            change("module.registry.aws_ecr_repository.this", "aws_ecr_repository", ["no-op"], settings.staging.names.ecrRepository),
            change("module.service.aws_ecs_service.this", "aws_ecs_service", ["create"]),
          ],
        },
        outputs: awsOutputs,
      }),
    )

    const planned = await call("plan", awsArgs())
    expect(planned.error, planned.stderr).toBeUndefined()
    const plan = planned.result as Record<string, unknown>
    expect(plan.changes).toBe("1 to import, 1 to add, 0 to change, 0 to replace, 0 to destroy")
    expect(plan.bootstrapped).toEqual([`S3 bucket ${settings.staging.terraform.stateBucket}`, `DynamoDB table ${settings.staging.terraform.lockTable}`])
    // The bucket really exists now (init needs it).
    await botoCalls(moto, [["s3", "head_bucket", { Bucket: settings.staging.terraform.stateBucket }]])
    expect((plan.imported as string[]).sort()).toEqual(
      [
        "module.registry.aws_ecr_repository.this",
        "module.service.aws_cloudwatch_log_group.app",
        "module.state_backend.aws_dynamodb_table.lock",
        "module.state_backend.aws_s3_bucket.state",
      ].sort(),
    )

    // The container: pinned image, plugin cache, settings as variables, secrets only as secret variables.
    const init = only(tfExecs(double, "init"), "terraform init")
    expect(init.image).toBe(settings.images.terraform)
    expect(init.workdir).toBe("/src/terraform/aws")
    expect(init.args).toEqual(expect.arrayContaining(["-input=false", "-lock-timeout=5m"]))
    expect(init.args).toEqual(
      expect.arrayContaining([
        `-backend-config=bucket=${settings.staging.terraform.stateBucket}`,
        `-backend-config=dynamodb_table=${settings.staging.terraform.lockTable}`,
        `-backend-config=key=${settings.staging.terraform.stateKey}`,
        `-backend-config=region=${moto.region}`,
        "-backend-config=use_path_style=true",
      ]),
    )
    expect(init.env).toMatchObject({ TF_PLUGIN_CACHE_DIR: PLUGIN_CACHE_DIR, AWS_ENDPOINT_URL: moto.endpoint, AWS_REGION: moto.region })
    expect(init.env[CACHE_BUSTER_ENV]).toMatch(/^\d{4}-\d\d-\d\dT/)
    expect(init.mounts.find((m) => m.path === PLUGIN_CACHE_DIR)?.op).toBe("withMountedCache")
    expect(Object.keys(init.secretEnv).sort()).toEqual(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
    expect(init.secretEnv.AWS_ACCESS_KEY_ID?.[0]?.args).toEqual({ uri: "env://AWS_ACCESS_KEY_ID" })
    expect(Object.keys(init.env).filter((k) => k.startsWith("GOOGLE"))).toEqual([])
    expect(JSON.parse(newFile(init.chain, TFVARS_FILE)!)).toEqual(names.variables)
    expect(double.secretLeaks()).toEqual([])

    // Order: state list was read before the imports were written into the plan's chain.
    const plan$ = only(tfExecs(double, "plan"), "terraform plan")
    expect(plan$.args).toEqual(["terraform", "plan", "-input=false", "-no-color", "-lock-timeout=5m", `-var-file=${TFVARS_FILE}`, `-out=${PLAN_FILE}`])
    const stateRead = firstLeaf(double.calls, (c) => isTf(lastExec(c.chain), "state", "list") && c.leaf === "exitCode")
    expect(plan$.ranSeq!).toBeGreaterThan(stateRead.seq)
    const importsTf = newFile(plan$.chain, IMPORTS_FILE)!
    const blocks = ((await parseHcl(IMPORTS_FILE, importsTf)) as { import: { to: string; id: string }[] }).import
    expect(Object.fromEntries(blocks.map((b) => [b.to, b.id]))).toEqual({
      "${module.state_backend.aws_s3_bucket.state}": settings.staging.terraform.stateBucket,
      "${module.state_backend.aws_dynamodb_table.lock}": settings.staging.terraform.lockTable,
      "${module.registry.aws_ecr_repository.this}": settings.staging.names.ecrRepository,
      "${module.service.aws_cloudwatch_log_group.app}": `/ecs/${settings.staging.names.prefix}`,
    })

    // Apply the returned plan object: exactly that plan file, in that working directory.
    const applied = await callFunction(double, { object: "TerraformPlan", fn: "apply", parentState: plan, timeoutMs: 180_000 })
    expect(applied.error, applied.stderr).toBeUndefined()
    const result = applied.result as Record<string, unknown>
    expect(result.serviceUrl).toBe(awsOutputs.service_url)
    expect(JSON.parse(result.outputs as string)).toEqual(awsOutputs)
    const apply = only(tfExecs(double, "apply"), "terraform apply")
    expect(apply.args).toEqual(["terraform", "apply", "-input=false", "-no-color", "-lock-timeout=5m", PLAN_FILE])
    // The apply chain continues the plan's chain: same files, same init, same imports, same plan.
    expect(apply.chain.slice(0, plan$.chain.length)).toEqual(plan$.chain)
    expect(apply.ranSeq!).toBeGreaterThan(plan$.ranSeq!)
    expect(Object.keys(apply.secretEnv).sort()).toEqual(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
    expect(double.secretLeaks()).toEqual([])
  }, 240_000)

  it("second run: everything is in state, so nothing is probed or imported (no imports.tf)", async () => {
    const all = awsStack(settings).manifest.map((e) => e.address)
    double.setScript(terraform({ state: all, planJson: { format_version: "1.2", resource_changes: [] }, outputs: awsOutputs }))
    const planned = await call("plan", awsArgs())
    expect(planned.error, planned.stderr).toBeUndefined()
    expect((planned.result as Record<string, unknown>).imported).toEqual([])
    const plan$ = only(tfExecs(double, "plan"), "terraform plan")
    expect(newFile(plan$.chain, IMPORTS_FILE)).toBeUndefined()
    expect((planned.result as Record<string, unknown>).changes).toBe("0 to import, 0 to add, 0 to change, 0 to replace, 0 to destroy")
  }, 240_000)

  it("apply refuses a plan that destroys the state bucket, saying why; --allow-destroy lets it through", async () => {
    const bucket = "module.state_backend.aws_s3_bucket.state"
    double.setScript(
      terraform({
        state: awsStack(settings).manifest.map((e) => e.address),
        planJson: { format_version: "1.2", resource_changes: [change(bucket, "aws_s3_bucket", ["delete"])] },
        outputs: awsOutputs,
      }),
    )
    const refused = await call("apply", awsArgs())
    expect(refused.error?.message).toContain(`refusing to apply the AWS plan: it would destroy 1 stateful resource`)
    expect(refused.error?.message).toContain(`${bucket} (destroyed): the S3 bucket holds Terraform state`)
    expect(refused.error?.message).toContain("--allow-destroy")
    expect(tfExecs(double, "plan")).toHaveLength(1)
    expect(tfExecs(double, "apply")).toEqual([])

    double.reset()
    const allowed = await call("apply", { ...awsArgs(), allowDestroy: true })
    expect(allowed.error, allowed.stderr).toBeUndefined()
    expect((allowed.result as Record<string, unknown>).changes).toBe("0 to import, 0 to add, 0 to change, 0 to replace, 1 to destroy")
    expect(only(tfExecs(double, "apply"), "terraform apply").args.at(-1)).toBe(PLAN_FILE)
  }, 240_000)

  it("apply refuses a plan that replaces the running ECS service, naming it and why; the plan lists it", async () => {
    const service = "module.service.aws_ecs_service.this"
    double.setScript(
      terraform({
        state: awsStack(settings).manifest.map((e) => e.address),
        planJson: {
          format_version: "1.2",
          resource_changes: [{ ...change(service, "aws_ecs_service", ["delete", "create"]), action_reason: "replace_because_cannot_update" }],
        },
        outputs: awsOutputs,
      }),
    )
    const planned = await call("plan", awsArgs())
    expect(planned.error, planned.stderr).toBeUndefined()
    const plan = planned.result as Record<string, unknown>
    expect(plan.statefulDestroys).toEqual([])
    expect(plan.serviceDestroys).toEqual([expect.stringMatching(/^module\.service\.aws_ecs_service\.this \(replace\): .*0\.0\.0-unreleased/)])

    const refused = await callFunction(double, { object: "TerraformPlan", fn: "apply", parentState: plan, timeoutMs: 180_000 })
    expect(refused.error?.message).toContain("refusing to apply the AWS plan: it would destroy 1 resource of the running service")
    expect(refused.error?.message).toContain(`${service} (replaced, i.e. destroyed and re-created, replace_because_cannot_update)`)
    expect(refused.error?.message).toContain("rollback target")
    expect(refused.error?.message).toContain("--allow-destroy")
    expect(tfExecs(double, "apply")).toEqual([])

    const allowed = await callFunction(double, { object: "TerraformPlan", fn: "apply", parentState: plan, args: { allowDestroy: true }, timeoutMs: 180_000 })
    expect(allowed.error, allowed.stderr).toBeUndefined()
    expect(only(tfExecs(double, "apply"), "terraform apply").args.at(-1)).toBe(PLAN_FILE)
  }, 240_000)

  it("apply reads the outputs typed: a stack without service_url fails naming the output and where to declare it", async () => {
    const { service_url: _dropped, ...withoutUrl } = awsOutputs
    double.setScript(
      terraform({
        state: awsStack(settings).manifest.map((e) => e.address),
        planJson: { format_version: "1.2", resource_changes: [] },
        outputs: withoutUrl,
      }),
    )
    const failed = await call("apply", awsArgs())
    expect(failed.error?.message).toMatch(/terraform\/aws outputs lack or mistype: service_url\. .*declare them in terraform\/aws\/outputs\.tf/)
    expect(tfExecs(double, "apply")).toHaveLength(1)
  }, 240_000)

  it("refuses an --initial-image that is not digest-pinned before any container or cloud call, saying how to fix it", async () => {
    for (const [fn, bad] of [["plan", "nginx:latest"], ["apply", "garbage value"]] as const) {
      double.reset()
      const failed = await call(fn, { ...awsArgs(), initialImage: bad })
      const message = failed.error?.message ?? ""
      expect(message, `${fn} --initial-image=${bad}`).toContain("--initial-image")
      expect(message).toContain(`'${bad}'`)
      expect(message).toMatch(/pass the digest-pinned reference `publish` printed \(it ends in @sha256:\.\.\.\)/)
      expect(double.execs()).toEqual([])
    }
    // The state bucket bootstrap (the first cloud call of a plan) never ran.
    const head = botoCalls(moto, [["s3", "head_bucket", { Bucket: settings.staging.terraform.stateBucket }]])
    await expect(head).rejects.toThrow(/\(404\) when calling the HeadBucket operation/)
  }, 240_000)

  it("a failing init is reported with its exit code, Terraform's words and the fix; nothing is planned", async () => {
    double.setScript(
      terraform({
        state: "none",
        planJson: {},
        outputs: {},
        initFails: { exitCode: 1, stderr: "Error: Failed to get existing workspaces: AccessDenied: Access Denied" },
      }),
    )
    const failed = await call("plan", awsArgs())
    expect(failed.error?.message).toMatch(/terraform init \(terraform\/aws\) failed: `terraform init .*` exited with code 1/)
    expect(failed.error?.message).toContain("AccessDenied: Access Denied")
    expect(failed.error?.message).toContain("dagger call plan --stack=AWS")
    expect(tfExecs(double, "plan")).toEqual([])
  }, 240_000)

  it("refuses to start without AWS credentials for the AWS stack, before any container or cloud call", async () => {
    const failed = await call("plan", { stack: "AWS", gcpAccessToken: double.secret("GCP_ACCESS_TOKEN", "ya29.not-for-aws") })
    expect(failed.error?.message).toMatch(/AWS credentials are incomplete: --aws-access-key-id and --aws-secret-access-key not given/)
    expect(double.execs()).toEqual([])
  }, 240_000)
})

describe("plan of the GCP stack through the module entrypoint (Google APIs faked)", () => {
  const TOKEN = "ya29.entrypoint-test-token"
  let double: EngineDouble
  let google: GoogleApisFake
  let repo: string
  let settings: Settings

  beforeAll(async () => {
    double = await startEngineDouble()
    google = await startGoogleApisFake(TOKEN)
    repo = mkdtempSync(join(tmpdir(), "terraform-plan-gcp-"))
    mkdirSync(join(repo, "ci"))
    const pointed = settingsText.replace(/(\nproduction:\n  gcp:\n(?:    [^\n]+\n)*?    region: [^\n]+\n)/, `$1    cloudRunEndpoint: ${google.endpoint}\n`)
    settings = parseSettings(pointed)
    expect(settings.production.gcp.cloudRunEndpoint).toBe(google.endpoint)
    writeFileSync(join(repo, "ci/pipeline.yaml"), pointed)
  })
  afterAll(async () => {
    await double?.close()
    await google?.close()
    if (repo) rmSync(repo, { recursive: true, force: true })
  })

  it("decodes --stack=GCP and --gcp-access-token, probes with that token and never mounts AWS credentials", async () => {
    const n = gcpNames(settings)
    google.existing.add(`/storage/v1/b/${n.stateBucket}`)
    google.existing.add(`/v1/projects/${n.project}/locations/${n.region}/repositories/${n.artifactRepository}`)
    double.setScript(terraform({ state: ["module.state_backend.google_storage_bucket.state"], planJson: { format_version: "1.2" }, outputs: {} }))
    const planned = await callFunction(double, {
      fn: "plan",
      constructorArgs: { source: double.hostDirectory(repo) },
      args: {
        stack: "GCP",
        gcpAccessToken: double.secret("GCP_ACCESS_TOKEN", TOKEN),
        // Given but not for this stack: must not reach the container.
        awsAccessKeyId: double.secret("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        awsSecretAccessKey: double.secret("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
      },
      timeoutMs: 180_000,
    })
    expect(planned.error, planned.stderr).toBeUndefined()
    const plan = planned.result as Record<string, unknown>
    expect(plan.bootstrapped).toEqual([])
    expect(plan.imported).toEqual(["module.registry.google_artifact_registry_repository.this"])
    // The bucket is in state: it was not probed; the other three were, with the token.
    expect(google.requests.every((r) => r.authorized)).toBe(true)
    expect(google.requests.filter((r) => r.path.includes("/repositories/") || r.path.includes("/services/") || r.path.includes("/serviceAccounts/"))).toHaveLength(3)
    const init = only(tfExecs(double, "init"), "terraform init")
    expect(Object.keys(init.secretEnv)).toEqual(["GOOGLE_OAUTH_ACCESS_TOKEN"])
    expect(init.secretEnv.GOOGLE_OAUTH_ACCESS_TOKEN?.[0]?.args).toEqual({ uri: "env://GCP_ACCESS_TOKEN" })
    expect(double.secretLeaks()).toEqual([])
  }, 240_000)

  it("refuses a tag-only --initial-image before any Google API call or container", async () => {
    double.reset()
    google.reset()
    const tagged = `us-west1-docker.pkg.dev/${settings.production.gcp.project}/portfolio-prod/portfolio:1.4.2`
    const failed = await callFunction(double, {
      fn: "apply",
      constructorArgs: { source: double.hostDirectory(repo) },
      args: { stack: "GCP", gcpAccessToken: double.secret("GCP_ACCESS_TOKEN", TOKEN), initialImage: tagged },
      timeoutMs: 180_000,
    })
    expect(failed.error?.message).toContain(`--initial-image '${tagged}' is not pinned by digest`)
    expect(failed.error?.message).toMatch(/`publish`/)
    expect(google.requests).toEqual([])
    expect(double.execs()).toEqual([])
  }, 240_000)
})

describe("plan of the GCP stack (in process, Google APIs faked)", () => {
  const TOKEN = "ya29.terraform-test-token"
  let double: EngineDouble
  let google: GoogleApisFake
  const settings = parseSettings(settingsText)
  const n = gcpNames(settings)

  beforeAll(async () => {
    double = await startEngineDouble()
    google = await startGoogleApisFake(TOKEN)
  })
  afterAll(async () => {
    await double?.close()
    await google?.close()
  })

  it("uses only GCP credentials, bootstraps the GCS bucket and adopts the existing Cloud Run service", async () => {
    google.existing.add(`/v2/projects/${n.project}/locations/${n.region}/services/${n.service}`)
    double.setScript(
      terraform({
        state: "none",
        planJson: { format_version: "1.2", resource_changes: [] },
        outputs: {},
      }),
    )
    const plan = await withDouble(double, async () => {
      const { dag } = await import("@dagger.io/dagger")
      const credentials = stackCredentials(Stack.GCP, {
        gcpAccessToken: dag.loadSecretFromID(double.secret("GCP_ACCESS_TOKEN", TOKEN).id as never),
      })
      return planStack({
        source: dag.loadDirectoryFromID(double.hostDirectory(repoRoot).id as never),
        settings,
        credentials,
        cloud: cloudAdapter(settings, credentials, {
          gcpEndpoints: { storage: google.endpoint, run: google.endpoint, artifactRegistry: google.endpoint, iam: google.endpoint },
        }),
        now: new Date("2026-11-25T12:00:00Z"),
      })
    })
    expect(plan.bootstrapped).toEqual([`GCS bucket ${n.stateBucket}`])
    expect(google.created.map((c) => c.body.name)).toEqual([n.stateBucket])
    expect(plan.imported.sort()).toEqual(["module.service.google_cloud_run_v2_service.this", "module.state_backend.google_storage_bucket.state"])

    const init = only(tfExecs(double, "init"), "terraform init")
    expect(init.workdir).toBe("/src/terraform/gcp")
    expect(init.args).toEqual(
      expect.arrayContaining([`-backend-config=bucket=${n.stateBucket}`, `-backend-config=prefix=${settings.production.terraform.statePrefix}`]),
    )
    expect(Object.keys(init.secretEnv)).toEqual(["GOOGLE_OAUTH_ACCESS_TOKEN"])
    expect(Object.keys(init.env).filter((k) => k.startsWith("AWS"))).toEqual([])
    expect(init.env[CACHE_BUSTER_ENV]).toBe("2026-11-25T12:00:00.000Z")
    const plan$ = only(tfExecs(double, "plan"), "terraform plan")
    expect(newFile(plan$.chain, IMPORTS_FILE)).toContain(`id = "projects/${n.project}/locations/${n.region}/services/${n.service}"`)
    expect(double.secretLeaks()).toEqual([])
  }, 120_000)
})
