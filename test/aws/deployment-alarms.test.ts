// aws/deployment-alarms.ts against moto's CloudWatch (alarms made with boto3, read with the module's own
// signed DescribeAlarms), and the rollout verdict that uses it: a deployment alarm's rollback, scripted on
// the ECS side (moto models no deployment alarms), names the alarm CloudWatch reports in ALARM.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { describeAlarmStates, firingAlarms } from "../../dagger/src/aws/deployment-alarms.js"
import { waitForRollout } from "../../dagger/src/aws/ecs.js"
import { createEcsClient } from "../../dagger/src/aws/ecs-client.js"
import type { AwsTarget } from "../../dagger/src/aws/signed-api.js"
import { botoCalls, type BotoCall } from "../support/boto3.js"
import { startScriptedEcs, type ScriptedEcs } from "../support/ecs-scripted.js"
import { startMoto, type Moto } from "../support/moto.js"
import { virtualTime } from "../support/virtual-time.js"
import { repoRoot } from "../tools/paths.js"

const RATE = "portfolio-prod-5xx-rate"
const LATENCY = "portfolio-prod-p95-latency"

let moto: Moto
let target: AwsTarget
beforeAll(async () => {
  moto = await startMoto()
  target = { region: moto.region, endpoint: moto.endpoint, credentials: moto.credentials }
})
afterAll(async () => {
  await moto?.stop()
})
beforeEach(async () => {
  await moto.reset()
  await botoCalls(moto, [
    ...[RATE, LATENCY].map((AlarmName): BotoCall => [
      "cloudwatch",
      "put_metric_alarm",
      { AlarmName, Namespace: "AWS/ApplicationELB", MetricName: "TargetResponseTime", Statistic: "Average", Period: 60, EvaluationPeriods: 2, Threshold: 1, ComparisonOperator: "GreaterThanThreshold" },
    ]),
    ["cloudwatch", "set_alarm_state", { AlarmName: RATE, StateValue: "ALARM", StateReason: "Threshold Crossed: 2 datapoints [12.5, 9.0] were greater than the threshold (5.0)." }],
  ])
})

describe("deployment alarm states (moto CloudWatch)", () => {
  it("reads each named alarm's state and reason; unknown names are left out", async () => {
    const states = await describeAlarmStates(target, [RATE, LATENCY, "no-such-alarm"])
    expect(states.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: RATE, state: "ALARM", reason: expect.stringContaining("greater than the threshold (5.0)") },
      { name: LATENCY, state: "OK", reason: expect.any(String) },
    ])
  })

  it("firingAlarms answers the ones in ALARM, and undefined (never an error) when CloudWatch cannot be read", async () => {
    expect(await firingAlarms(target, [RATE, LATENCY])).toEqual([RATE])
    expect(await firingAlarms({ ...target, endpoint: "http://127.0.0.1:9" }, [RATE])).toBeUndefined()
  }, 60_000)

  it("sends nothing once the signal has aborted", async () => {
    const aborted = AbortSignal.abort(new Error("step timed out"))
    await expect(firingAlarms(target, [RATE], aborted)).rejects.toThrow("step timed out")
  })
})

describe("waitForRollout after a deployment alarm rolled back (scripted ECS, moto CloudWatch)", () => {
  let ecsServer: ScriptedEcs
  beforeAll(async () => {
    ecsServer = await startScriptedEcs()
  })
  afterAll(async () => {
    await ecsServer?.close()
  })

  it("is a failure naming the alarm in ALARM, with ECS's rollback deployment to verify", async () => {
    const fixture = JSON.parse(readFileSync(join(repoRoot, "test/fixtures/ecs-rollout/alarm-rollback-started.json"), "utf8")) as {
      deploymentId: string
      describeServices: object
      expected: { rollbackDeploymentId: string }
    }
    ecsServer.script("DescribeServices", fixture.describeServices)
    const ecs = await createEcsClient({ region: "us-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" }, endpointUrl: ecsServer.endpoint })
    const ref = { cluster: "portfolio-prod-cluster", service: "portfolio-prod-service" }
    const outcome = await waitForRollout(ecs, ref, fixture.deploymentId, { budgetMs: 60_000, intervalMs: 1_000, ...virtualTime() }, (names, signal) =>
      firingAlarms(target, names, signal),
    )
    expect(outcome.verdict).toMatchObject({
      state: "failure",
      kind: "rolled-back",
      trigger: "alarm",
      alarms: [RATE],
      rollbackDeploymentId: fixture.expected.rollbackDeploymentId,
    })
    expect(outcome.verdict.detail).toMatch(new RegExp(`deployment alarm ${RATE} went into ALARM`))
    expect(ecsServer.unscripted).toEqual([])
    ecs.destroy()
  })
})
