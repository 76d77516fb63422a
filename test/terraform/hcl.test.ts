// The Terraform code checked without a provider: parsed with HashiCorp's HCL parser and held against
// the pipeline code that depends on it (import manifest, outputs, ownership, variables, backends).
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { relative } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { parse as parseHcl } from "@cdktf/hcl2json"
import { PREVIOUS_DESIRED_COUNT_TAG } from "../../dagger/src/aws/ecs.js"
import { AWS_OWNERSHIP, GCP_OWNERSHIP, type OwnedFields } from "../../dagger/src/terraform/ownership.js"
import { parseSettings, type Settings } from "../../dagger/src/config/settings.js"
import type { ImportEntry } from "../../dagger/src/terraform/import.js"
import {
  awsStack,
  gcpStack,
  type StackDefinition,
} from "../../dagger/src/terraform/stacks.js"
import {
  allTerraformFiles,
  evaluate,
  ignoreChanges,
  loadStack,
  moduleScope,
  parseAddress,
  resolveAddress,
  rootScope,
  unwrap,
  type Body,
  type LoadedStack,
  type Scope,
} from "../support/terraform-hcl.js"
import { repoRoot, toolPath } from "../tools/paths.js"

const settings: Settings = parseSettings(readFileSync(`${repoRoot}/ci/pipeline.yaml`, "utf8"))

interface Case {
  stack: StackDefinition
  hcl: LoadedStack
  ownership: readonly OwnedFields[]
}
const cases: Record<"aws" | "gcp", Case> = {} as Record<"aws" | "gcp", Case>

beforeAll(async () => {
  cases.aws = { stack: awsStack(settings), hcl: await loadStack("aws"), ownership: AWS_OWNERSHIP }
  cases.gcp = { stack: gcpStack(settings), hcl: await loadStack("gcp"), ownership: GCP_OWNERSHIP }
})

/** Scope of the module holding an address, with count.index set from the address. */
function scopeFor(c: Case, address: string): Scope {
  const a = parseAddress(address)
  const base = a.modulePath[0]
    ? moduleScope(c.hcl, a.modulePath[0], c.stack.variables)
    : rootScope(c.hcl, c.stack.variables)
  return a.index === undefined ? base : { ...base, countIndex: a.index }
}

function attr(c: Case, address: string, path: string): unknown {
  const { body } = resolveAddress(c.hcl, address)
  let cur: unknown = body
  for (const key of path.split(".")) cur = (cur as Body | undefined)?.[key]
  if (cur === undefined) throw new Error(`${address} has no attribute ${path}`)
  return evaluate(cur, scopeFor(c, address))
}

/** Resource addresses in the same module as `address` (to check references between probes). */
function sibling(address: string, typeAndName: string): string {
  const a = parseAddress(address)
  return [...a.modulePath.map((m) => `module.${m}`), typeAndName].join(".")
}

/**
 * What Terraform will name the resource, compared with what the probe looks for. If these differ,
 * the probe reports "absent", apply tries to create a duplicate, and the run fails (or worse, succeeds).
 */
function expectProbeMatchesHcl(c: Case, e: ImportEntry): void {
  const p = e.probe
  const at = e.address
  switch (p.kind) {
    case "s3-bucket":
      expect(attr(c, at, "bucket")).toBe(p.bucket)
      return
    case "dynamodb-table":
      expect(attr(c, at, "name")).toBe(p.table)
      return
    case "ecr-repository":
    case "load-balancer":
    case "target-group":
    case "log-group":
    case "iam-role":
    case "ecs-cluster":
      expect(attr(c, at, "name")).toBe(p.name)
      return
    case "cloudwatch-alarm":
      expect(attr(c, at, "alarm_name")).toBe(p.name)
      return
    case "vpc":
    case "subnet":
    case "internet-gateway":
    case "route-table":
      expect(attr(c, at, "tags.Name")).toBe(p.nameTag)
      return
    case "route-table-association": {
      const i = parseAddress(at).index
      expect(unwrap(resolveAddress(c.hcl, at).body.subnet_id)).toBe("aws_subnet.public[count.index].id")
      expect(attr(c, sibling(at, `aws_subnet.public[${i}]`), "tags.Name")).toBe(p.subnetNameTag)
      expect(unwrap(resolveAddress(c.hcl, at).body.route_table_id)).toBe("aws_route_table.public.id")
      expect(attr(c, sibling(at, "aws_route_table.public"), "tags.Name")).toBe(p.routeTableNameTag)
      return
    }
    case "security-group":
      expect(attr(c, at, "name")).toBe(p.groupName)
      // The group lives in the VPC the network module tags; the probe searches that VPC.
      expect(attr(c, "module.network.aws_vpc.this", "tags.Name")).toBe(p.vpcNameTag)
      return
    case "listener":
      expect(attr(c, at, "port")).toBe(p.port)
      expect(attr(c, sibling(at, "aws_lb.this"), "name")).toBe(p.loadBalancerName)
      return
    case "ecs-service":
      expect(attr(c, at, "name")).toBe(p.service)
      expect(unwrap(resolveAddress(c.hcl, at).body.cluster)).toBe("aws_ecs_cluster.this.id")
      expect(attr(c, sibling(at, "aws_ecs_cluster.this"), "name")).toBe(p.cluster)
      return
    case "gcs-bucket":
      expect(attr(c, at, "name")).toBe(p.bucket)
      return
    case "artifact-registry-repository":
      expect(attr(c, at, "repository_id")).toBe(p.repository)
      expect(attr(c, at, "location")).toBe(p.location)
      expect(attr(c, at, "project")).toBe(p.project)
      return
    case "cloud-run-service":
      expect(attr(c, at, "name")).toBe(p.service)
      expect(attr(c, at, "location")).toBe(p.location)
      expect(attr(c, at, "project")).toBe(p.project)
      return
    case "service-account":
      expect(`${attr(c, at, "account_id")}@${attr(c, at, "project")}.iam.gserviceaccount.com`).toBe(p.email)
      return
  }
}

describe.each(["aws", "gcp"] as const)("terraform/%s", (name) => {
  it("every address in the import manifest resolves to a resource in the HCL", () => {
    const problems: string[] = []
    for (const e of cases[name].stack.manifest) {
      try {
        resolveAddress(cases[name].hcl, e.address)
      } catch (err) {
        problems.push((err as Error).message)
      }
    }
    expect(problems).toEqual([])
    expect(cases[name].stack.manifest.length).toBeGreaterThan(3)
  })

  it("every probe looks for exactly the name (or tag) Terraform gives the resource", () => {
    for (const e of cases[name].stack.manifest) {
      try {
        expectProbeMatchesHcl(cases[name], e)
      } catch (err) {
        throw new Error(`${e.address} (${e.cloudId}): ${(err as Error).message}`)
      }
    }
  })

  it("declares every output the pipeline reads, and each resolves to a module output", () => {
    const { root, children } = cases[name].hcl
    const missing = cases[name].stack.outputs.filter((o) => !(o in root.outputs))
    expect(missing).toEqual([])
    for (const [out, body] of Object.entries(root.outputs)) {
      expect(typeof body.description, `output ${out} needs a description`).toBe("string")
      for (const m of String(body.value).matchAll(/module\.([a-z_]+)\.([a-z_]+)/g)) {
        expect(children[m[1]!]?.outputs, `output ${out} reads module.${m[1]}.${m[2]}`).toHaveProperty(m[2]!)
      }
    }
  })

  it("declares (with a description) every variable the pipeline passes", () => {
    const vars = cases[name].hcl.root.variables
    for (const key of Object.keys(cases[name].stack.variables)) {
      expect(vars, `the pipeline passes ${key}`).toHaveProperty(key)
    }
    for (const [v, body] of Object.entries(vars)) expect(typeof body.description, `variable ${v}`).toBe("string")
  })

  it("passes each module exactly its declared inputs, every required one included", () => {
    const { root, children } = cases[name].hcl
    const meta = new Set(["source", "depends_on", "providers", "count", "for_each", "version"])
    for (const [call, body] of Object.entries(root.modules)) {
      const declared = children[call]!.variables
      const passed = Object.keys(body).filter((k) => !meta.has(k))
      expect(passed.filter((k) => !(k in declared)), `module ${call}: unknown inputs`).toEqual([])
      const required = Object.entries(declared)
        .filter(([, d]) => !("default" in d))
        .map(([k]) => k)
      expect(required.filter((k) => !passed.includes(k)), `module ${call}: missing inputs`).toEqual([])
    }
  })

  it("ignore_changes of every resource is exactly the ownership list in test/terraform/ownership.ts", () => {
    const { hcl, ownership } = cases[name]
    for (const owned of ownership) {
      expect(ignoreChanges(resolveAddress(hcl, owned.address).body), owned.address).toEqual([...owned.fields])
    }
    // The reverse: no resource ignores changes the contract does not list.
    const listed = new Set(ownership.map((o) => o.address))
    for (const [call, mod] of [["", hcl.root] as const, ...Object.entries(hcl.children)]) {
      for (const [type, byName] of Object.entries(mod.resources)) {
        for (const [rname, body] of Object.entries(byName)) {
          const address = `${call ? `module.${call}.` : ""}${type}.${rname}`
          if (ignoreChanges(body).length > 0) expect(listed, `${address} ignores changes`).toContain(address)
        }
      }
    }
  })

  it("pins its provider to an exact version, and the pinned Terraform image satisfies required_version", () => {
    const tf = cases[name].hcl.root.terraform[0]!
    expect(tf.required_version).toBe(">= 1.10.0, < 2.0.0")
    const tag = /:(\d+)\.(\d+)\.(\d+)(?:@|$)/.exec(settings.images.terraform)
    expect(tag, `images.terraform '${settings.images.terraform}' needs a version tag`).not.toBeNull()
    const [major, minor] = [Number(tag![1]), Number(tag![2])]
    expect(major === 1 && minor >= 10, `images.terraform ${settings.images.terraform} must be >= 1.10 (S3 lock file) and < 2`).toBe(true)
    const providers = (tf.required_providers as Body[])[0]!
    for (const [p, spec] of Object.entries(providers)) {
      expect((spec as Body).version, `provider ${p}`).toMatch(/^\d+\.\d+\.\d+$/)
    }
  })
})

describe("ownership contract", () => {
  it("lists the fields issue 5 names: ECS count and task definition; Cloud Run image, traffic, client, revision", () => {
    const service = AWS_OWNERSHIP.find((o) => o.address === "module.service.aws_ecs_service.this")
    expect(service?.fields).toEqual(["desired_count", "task_definition"])
    const gcp = GCP_OWNERSHIP.flatMap((o) => o.fields)
    for (const f of ["template[0].containers[0].image", "traffic", "client", "client_version", "template[0].revision"]) {
      expect(gcp).toContain(f)
    }
  })
})

describe("staging service (terraform/aws)", () => {
  it("leaves the tag stop-aws writes to the pipeline, so an apply cannot erase the remembered count", async () => {
    const file = `${repoRoot}/terraform/aws/providers.tf`
    const hcl = (await parseHcl(file, readFileSync(file, "utf8"))) as { provider: { aws: Body[] } }
    const ignore = hcl.provider.aws[0]?.ignore_tags as Body[] | undefined
    expect(ignore?.[0]?.keys).toEqual([PREVIOUS_DESIRED_COUNT_TAG])
  })

  it("rolls a failing deployment back with the circuit breaker", () => {
    const svc = resolveAddress(cases.aws.hcl, "module.service.aws_ecs_service.this").body
    expect(svc.deployment_circuit_breaker).toEqual([{ enable: true, rollback: true }])
  })

  it("rolls back a deployment whose traffic trips a deployment alarm: 5xx share and p95 latency of its own target group", () => {
    const svc = resolveAddress(cases.aws.hcl, "module.service.aws_ecs_service.this").body
    const alarms = (svc.alarms as Body[])[0]!
    expect(alarms).toMatchObject({ enable: true, rollback: true })
    expect(alarms.alarm_names).toEqual([
      "${aws_cloudwatch_metric_alarm.target_5xx_rate.alarm_name}",
      "${aws_cloudwatch_metric_alarm.target_response_time.alarm_name}",
    ])
    const rate = "module.service.aws_cloudwatch_metric_alarm.target_5xx_rate"
    const queries = resolveAddress(cases.aws.hcl, rate).body.metric_query as Body[]
    const metrics = Object.fromEntries(queries.filter((q) => q.metric).map((q) => [q.id, ((q.metric as Body[])[0]!).metric_name]))
    expect(metrics).toEqual({ errors: "HTTPCode_Target_5XX_Count", requests: "RequestCount" })
    expect(queries.find((q) => q.return_data === true)?.expression).toBe("IF(requests > 0, 100 * errors / requests, 0)")
    expect(attr(cases.aws, rate, "threshold")).toBe(5)
    const latency = "module.service.aws_cloudwatch_metric_alarm.target_response_time"
    expect(attr(cases.aws, latency, "metric_name")).toBe("TargetResponseTime")
    expect(attr(cases.aws, latency, "extended_statistic")).toBe("p95")
    expect(attr(cases.aws, latency, "threshold")).toBe(1)
  })

  it("health-checks app.healthPath (/health) and drains stopping tasks quickly", () => {
    const tg = "module.service.aws_lb_target_group.this"
    const hc = (resolveAddress(cases.aws.hcl, tg).body.health_check as Body[])[0]!
    expect(evaluate(hc.path, scopeFor(cases.aws, tg))).toBe("/health")
    expect(settings.app.healthPath).toBe("/health")
    const delay = attr(cases.aws, tg, "deregistration_delay") as number
    expect(delay).toBeGreaterThanOrEqual(0)
    expect(delay).toBeLessThanOrEqual(30)
  })

  it("creates the service with 0 tasks (the pipeline scales it) and its task container reads APP_VERSION/APP_COMMIT", () => {
    expect(attr(cases.aws, "module.service.aws_ecs_service.this", "desired_count")).toBe(0)
    const td = String(resolveAddress(cases.aws.hcl, "module.service.aws_ecs_task_definition.this").body.container_definitions)
    expect(td).toContain('name = "APP_VERSION"')
    expect(td).toContain('name = "APP_COMMIT"')
  })

  it("keeps images immutable and scanned, and state versioned, encrypted and private", () => {
    const ecr = resolveAddress(cases.aws.hcl, "module.registry.aws_ecr_repository.this").body
    expect(ecr.image_tag_mutability).toBe("IMMUTABLE")
    expect(ecr.image_scanning_configuration).toEqual([{ scan_on_push: true }])
    const sb = cases.aws.hcl.children.state_backend!.resources
    expect(sb.aws_s3_bucket_versioning?.state?.versioning_configuration).toEqual([{ status: "Enabled" }])
    expect(sb.aws_s3_bucket_public_access_block?.state).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    })
    expect(sb.aws_s3_bucket_server_side_encryption_configuration?.state).toBeDefined()
  })

  it("uses an S3 backend with locking, configured from the settings", () => {
    const backend = (cases.aws.hcl.root.terraform[0]!.backend as Body).s3 as Body[]
    expect(backend[0]).toMatchObject({ encrypt: true, use_lockfile: true })
    expect(cases.aws.stack.backendConfig).toEqual({
      bucket: settings.staging.terraform.stateBucket,
      key: settings.staging.terraform.stateKey,
      region: settings.staging.aws.region,
      dynamodb_table: settings.staging.terraform.lockTable,
    })
  })
})

describe("production service (terraform/gcp)", () => {
  const run = "module.service.google_cloud_run_v2_service.this"

  it("probes app.healthPath at startup and for liveness, scales from 0 to a bound", () => {
    const container = ((resolveAddress(cases.gcp.hcl, run).body.template as Body[])[0]!.containers as Body[])[0]!
    for (const probe of ["startup_probe", "liveness_probe"]) {
      const httpGet = ((container[probe] as Body[])[0]!.http_get as Body[])[0]!
      expect(evaluate(httpGet.path, scopeFor(cases.gcp, run)), probe).toBe("/health")
    }
    const scaling = ((resolveAddress(cases.gcp.hcl, run).body.template as Body[])[0]!.scaling as Body[])[0]!
    expect(scaling.min_instance_count).toBe(0)
    const max = evaluate(scaling.max_instance_count, scopeFor(cases.gcp, run)) as number
    expect(max).toBeGreaterThanOrEqual(1)
    expect(max).toBeLessThanOrEqual(10)
  })

  it("lets anyone invoke the portfolio", () => {
    const iam = resolveAddress(cases.gcp.hcl, "module.service.google_cloud_run_v2_service_iam_member.public").body
    expect(iam).toMatchObject({ role: "roles/run.invoker", member: "allUsers" })
  })

  it("uses a GCS backend (native locking), configured from the settings", () => {
    expect((cases.gcp.hcl.root.terraform[0]!.backend as Body).gcs).toEqual([{}])
    expect(cases.gcp.stack.backendConfig).toEqual({
      bucket: settings.production.terraform.stateBucket,
      prefix: settings.production.terraform.statePrefix,
    })
  })
})

describe("terraform fmt", () => {
  it("every .tf file is formatted (hclfmt, the formatter terraform fmt is built on)", () => {
    const hclfmt = toolPath("go", "hclfmt")
    const unformatted: string[] = []
    const files = allTerraformFiles()
    expect(files.length).toBeGreaterThan(20)
    for (const file of files) {
      try {
        execFileSync(hclfmt, ["-require-no-change", file], { stdio: ["ignore", "ignore", "pipe"] })
      } catch {
        unformatted.push(relative(repoRoot, file))
      }
    }
    expect(unformatted, "run `terraform fmt -recursive terraform/` (or hclfmt -w)").toEqual([])
  })
})
