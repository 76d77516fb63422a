// The drift check with real Terraform and the real AWS provider against moto. The staging stack is
// deployed the way the pipeline deploys it (backend bootstrap, init with the module's backend
// settings, state list → probes → imports.tf, plan -out, apply of that plan, with the module's own
// variables file), once, as the first deploy-staging creates it; then the module's refresh-only plan
// (driftCommands(), the argv checkDrift runs), its `terraform show -json` and the module's parser and
// summary (analyzeDrift with AWS_OWNERSHIP, driftLines, renderDrift) judge the stack as that deploy
// left it, and what was changed by hand in moto through boto3. No second deploy: right after creation
// is the hard case, where the first refresh fills in what creation left empty (drift.ts's rule); a
// later deploy's apply stores what its own refresh read, after which Terraform lists no resource
// drift at all for an untouched stack.
//
// Not the pipeline's exact run: the AWS provider is 5.100.0, the only release on this machine (the
// stack pins 6.20.0; the copy's constraints name 5.100.0 and one 6.x attribute name is mapped back, see
// test/support/terraform-local.ts), Terraform is the local 1.11 binary instead of the pipeline's 1.13
// image, and a provider override file points every service at moto. terraform/ itself is not changed:
// each run copies it as it is at that moment.
//
// Left out of the apply (-target of everything else): the state bucket's TLS-only policy
// (LEFT_OUT). moto evaluates bucket policies without a request context, so a Deny conditioned on
// aws:SecureTransport = false counts as met for every request, over HTTPS too (moto 5.2,
// iam/policy_conditions.py: no value for the key → condition true). Once applied it refuses every
// later write of the S3 backend ("Failed to persist state", 403), and the run ends with no state.
//
// Not held by moto, so every later plan against it would update them in place: the ECS service's
// health_check_grace_period_seconds and availability_zone_rebalancing, and the lock table's
// server_side_encryption. A refresh does not report them as drift.
//
// Skipped, with the reason in the suite's name, on a machine without terraform or the provider mirror.
import { readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parseSettings, type Settings } from "../../dagger/src/config/settings.js"
import { DEFAULT_LOCK_TIMEOUT, PLAN_FILE, Stack } from "../../dagger/src/terraform/apply.js"
import { bootstrapAwsBackend } from "../../dagger/src/terraform/backend.js"
import { TFVARS_FILE } from "../../dagger/src/terraform/container.js"
import { driftCommands } from "../../dagger/src/terraform/drift-check.js"
import { analyzeDrift, driftLines, renderDrift, type DriftReport } from "../../dagger/src/terraform/drift.js"
import { IMPORTS_FILE, entriesToProbe, parseStateList, planImports, renderImportBlocks } from "../../dagger/src/terraform/import.js"
import { outputValues, type AwsOutputs } from "../../dagger/src/terraform/outputs.js"
import { AWS_OWNERSHIP } from "../../dagger/src/terraform/ownership.js"
import { probeAws, type AwsTarget } from "../../dagger/src/terraform/probes/aws.js"
import { awsStack, backendConfigArgs, type StackDefinition } from "../../dagger/src/terraform/stacks.js"
import { botoCalls } from "../support/boto3.js"
import { startMoto, type Moto } from "../support/moto.js"
import { repoRoot } from "../tools/paths.js"
import { localTerraformMissing, prepareAwsStack, targetsExcept, type LocalAwsStack } from "../support/terraform-local.js"

const missing = localTerraformMissing()
if (missing) console.warn(`test/terraform/drift-moto.test.ts skipped: ${missing}`)

const LEFT_OUT = ["module.state_backend.aws_s3_bucket_policy.state"]
const HAND_EDITED_PATH = "/hand-edited-health"
const HAND_EDITED_RETENTION = 30

const OUTPUTS_USED = [
  "task_definition_arn",
  "task_family",
  "execution_role_arn",
  "task_role_arn",
  "cluster_name",
  "service_name",
  "target_group_arn",
  "log_group_name",
] as const satisfies readonly (keyof AwsOutputs)[]
type Outputs = Pick<AwsOutputs, (typeof OUTPUTS_USED)[number]>

interface RefreshPlanJson {
  resource_drift?: unknown[]
}

interface DriftRun {
  exitCode: number
  planJson: RefreshPlanJson | undefined
  report: DriftReport
  lines: string[]
  summary: string
}

describe.skipIf(missing !== undefined)(
  `drift check with real Terraform against moto${missing ? ` (skipped: ${missing})` : ""}`,
  () => {
    let moto: Moto
    let settings: Settings
    let def: StackDefinition
    let target: AwsTarget
    let stack: LocalAwsStack
    let outputs: Outputs
    let afterCreation: DriftRun
    const timings: string[] = []
    const lap = (what: string, ms: number) => timings.push(`${what}: ${(ms / 1000).toFixed(1)} s`)

    // checkDrift's branches (drift-check.ts): 0 = no drift (no JSON read), 2 = read the plan's JSON.
    async function driftCheck(label: string): Promise<DriftRun> {
      const { plan, show } = driftCommands()
      const planned = await stack.run(plan, { acceptExitCodes: [0, 2] })
      lap(`drift check ${label}: refresh-only plan (exit ${planned.exitCode})`, planned.ms)
      if (planned.exitCode === 0) {
        const report: DriftReport = { drifted: [], ownedOnly: [] }
        return { exitCode: 0, planJson: undefined, report, lines: [], summary: renderDrift(Stack.AWS, report) }
      }
      const planJson = JSON.parse((await stack.run(show)).stdout) as RefreshPlanJson
      const report = analyzeDrift(planJson, AWS_OWNERSHIP)
      return { exitCode: planned.exitCode, planJson, report, lines: driftLines(Stack.AWS, report), summary: renderDrift(Stack.AWS, report) }
    }

    // One plan and apply as deploy-staging runs them (apply.ts planStack, applyPlan): state list →
    // probes of what is not in state → imports.tf → plan -out → apply of that plan file.
    async function planAndApply(label: string): Promise<string[]> {
      const inState = parseStateList(await stack.run(["terraform", "state", "list"], { acceptExitCodes: [0, 1] }))
      const toProbe = entriesToProbe(inState, def.manifest)
      const imports = planImports(inState, def.manifest, toProbe.length > 0 ? await probeAws(toProbe, target) : new Map())
      const importsTf = renderImportBlocks(imports.imports)
      if (importsTf) writeFileSync(join(stack.workdir, IMPORTS_FILE), importsTf)
      const planned = await stack.run([
        ...["terraform", "plan", "-input=false", "-no-color", `-lock-timeout=${DEFAULT_LOCK_TIMEOUT}`, `-var-file=${TFVARS_FILE}`, `-out=${PLAN_FILE}`],
        ...(await targetsExcept(stack.workdir, LEFT_OUT)),
      ])
      lap(`${label}: plan`, planned.ms)
      const applied = await stack.run(["terraform", "apply", "-input=false", "-no-color", `-lock-timeout=${DEFAULT_LOCK_TIMEOUT}`, PLAN_FILE])
      lap(`${label}: apply (${/Apply complete! (.*)\./.exec(applied.stdout)?.[1] ?? "?"})`, applied.ms)
      // imports.tf lives only in the plan's container; the drift check inits a fresh copy of terraform/.
      rmSync(join(stack.workdir, IMPORTS_FILE), { force: true })
      return imports.imports.map((i) => i.address)
    }

    beforeAll(async () => {
      const started = Date.now()
      moto = await startMoto()
      // The repository's settings with staging pointed at moto, as an emulator run configures it.
      const committed = parseSettings(readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8"))
      settings = { ...committed, staging: { ...committed.staging, aws: { region: moto.region, endpointUrl: moto.endpoint } } }
      def = awsStack(settings)
      target = { region: moto.region, endpoint: moto.endpoint, credentials: moto.credentials }

      // The plan's order (apply.ts planStack): backend first, since init needs it.
      const { stateBucket, lockTable } = settings.staging.terraform
      await bootstrapAwsBackend(target, { bucket: stateBucket, lockTable })
      stack = prepareAwsStack(def, moto)
      const init = await stack.run(["terraform", "init", "-input=false", "-no-color", `-lock-timeout=${DEFAULT_LOCK_TIMEOUT}`, ...backendConfigArgs(def.backendConfig)])
      lap("init", init.ms)
      const adopted = await planAndApply("first deploy (creates the stack)")
      afterCreation = await driftCheck("right after the creating apply")

      // -target leaves outputs that depend on no targeted resource (region, container_name) unset, so
      // the module's strict parseAwsOutputs cannot read them; these are the ones the edits need.
      const values = outputValues((await stack.run(["terraform", "output", "-no-color", "-json"])).stdout)
      outputs = Object.fromEntries(
        OUTPUTS_USED.map((k) => {
          const v = values[k]
          if (typeof v !== "string" || v === "") throw new Error(`output ${k} is ${JSON.stringify(v)} after apply; expected a string`)
          return [k, v]
        }),
      ) as Outputs
      lap("beforeAll in all (moto, bootstrap, init, the creating deploy, one drift check)", Date.now() - started)
      console.info(
        `left out of the apply: ${LEFT_OUT.join(", ")}; adopted by import: ${adopted.join(", ") || "none"}; ` +
          `copy edits: ${stack.edits.join("; ")}`,
      )
    }, 1_200_000)

    afterAll(async () => {
      if (timings.length > 0) console.info(`drift-moto timings:\n  ${timings.join("\n  ")}`)
      stack?.remove()
      await moto?.stop()
    })

    // The first refresh reads back what creation left empty (`tags` null → {}, unset lists → [], the
    // role's inline_policy from its aws_iam_role_policy, the target group's load_balancer_arns through
    // the listener, the bucket's lifecycle_rule from its lifecycle configuration): Terraform lists
    // those resources as drifted (28 attributes before drift.ts's rule), and none of it is drift.
    it("a stack as the creating deploy left it is quiet: Terraform lists the first refresh's fills, none is reported", () => {
      expect(afterCreation.exitCode).toBe(2)
      expect(afterCreation.planJson?.resource_drift?.length ?? 0).toBeGreaterThan(0)
      expect(afterCreation.lines, afterCreation.summary).toEqual([])
      expect(afterCreation.report).toEqual({ drifted: [], ownedOnly: [] })
      expect(afterCreation.summary).toBe("**AWS**: no drift.\n")
    })

    it("fields the pipeline owns, changed by hand (task definition, desired count), are seen by Terraform but not reported", async () => {
      const [current] = await botoCalls(moto, [["ecs", "describe_task_definition", { taskDefinition: outputs.task_definition_arn }]])
      const td = (current as { taskDefinition: Record<string, unknown> }).taskDefinition
      const [registered] = await botoCalls(moto, [
        [
          "ecs",
          "register_task_definition",
          {
            family: outputs.task_family,
            containerDefinitions: td.containerDefinitions,
            requiresCompatibilities: td.requiresCompatibilities,
            networkMode: td.networkMode,
            cpu: td.cpu,
            memory: td.memory,
            executionRoleArn: outputs.execution_role_arn,
            taskRoleArn: outputs.task_role_arn,
          },
        ],
      ])
      const nextRevision = (registered as { taskDefinition: { taskDefinitionArn: string } }).taskDefinition.taskDefinitionArn
      expect(nextRevision).not.toBe(outputs.task_definition_arn)
      await botoCalls(moto, [
        ["ecs", "update_service", { cluster: outputs.cluster_name, service: outputs.service_name, taskDefinition: nextRevision, desiredCount: 3 }],
      ])

      const r = await driftCheck("owned fields changed")
      // Terraform does see the service differ: the silence below is the ownership rule's doing.
      expect(r.exitCode).toBe(2)
      expect(r.report.ownedOnly).toEqual(["module.service.aws_ecs_service.this"])
      expect(r.lines).toEqual([])
      expect(r.summary).toBe("**AWS**: no drift.\n")
    }, 300_000)

    it("a hand-edited target group health path and log retention are named by address and attribute; the owned fields stay silent", async () => {
      const [groups] = await botoCalls(moto, [["logs", "describe_log_groups", { logGroupNamePrefix: outputs.log_group_name }]])
      const applied = (groups as { logGroups: { logGroupName: string; retentionInDays?: number }[] }).logGroups.find(
        (g) => g.logGroupName === outputs.log_group_name,
      )?.retentionInDays
      expect(applied).not.toBe(HAND_EDITED_RETENTION)
      await botoCalls(moto, [
        ["elbv2", "modify_target_group", { TargetGroupArn: outputs.target_group_arn, HealthCheckPath: HAND_EDITED_PATH }],
        ["logs", "put_retention_policy", { logGroupName: outputs.log_group_name, retentionInDays: HAND_EDITED_RETENTION }],
      ])

      const r = await driftCheck("hand edits")
      expect(r.exitCode).toBe(2)
      expect([...r.lines].sort()).toEqual(
        [
          `AWS module.service.aws_cloudwatch_log_group.app.retention_in_days: ${applied} → ${HAND_EDITED_RETENTION}`,
          `AWS module.service.aws_lb_target_group.this.health_check[0].path: "${settings.app.healthPath}" → "${HAND_EDITED_PATH}"`,
        ].sort(),
      )
      expect(r.summary).toContain("### AWS: 2 resources drifted outside Terraform")
      expect(r.summary).toContain("- `module.service.aws_lb_target_group.this`\n  - `health_check[0].path`")
      expect(r.summary).toContain("- `module.service.aws_cloudwatch_log_group.app`\n  - `retention_in_days`")
      expect(r.summary).not.toContain("aws_ecs_service")
      // The previous test's hand-made deploy is still there, and still not drift.
      expect(r.report.ownedOnly).toEqual(["module.service.aws_ecs_service.this"])
    }, 300_000)
  },
)
