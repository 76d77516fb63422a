// Stop-staging verdict latency: how long after staging has actually stopped does the pipeline know it?
// Goal ≤ 2 s. Baseline beside it: the AWS SDK's `waitUntilServicesStable` with its defaults.
//
//   npm run bench:stop    (= npx tsx --tsconfig dagger/tsconfig.json bench/stop-staging.ts: the module's
//                          own tsconfig, since the root one maps @aws-sdk/client-* to .d.ts for tsc only)
//
// A. moto (real moto_server, real SDK client): the whole stop — DescribeServices, TagResource,
//    UpdateService, polls — timed end to end, next to UpdateService + waitUntilServicesStable.
//    moto applies a scale-down instantly, so both see "stopped" on their first poll: this measures the
//    cost of each path's API calls, not its polling schedule.
// B. Draining (scripted ECS endpoint, real SDK client): tasks keep running DRAIN_MS after UpdateService,
//    as on real ECS. Measured: our verdict and the SDK waiter's verdict, each minus DRAIN_MS.
// C. Longer drains (an ALB deregistration delay alone defaults to 300 s): COMPUTED, not measured, by
//    simulating the SDK waiter's exact schedule (first poll at once; then min 15 s, max 600 s, delay
//    uniform in [15 s, min(15 s·2^(k-1), 600 s)] — @smithy/core util-waiter as shipped with
//    @aws-sdk/client-ecs 3.1164.0) and ours (pause uniform in [1 s, 2 s]).
import { performance } from "node:perf_hooks"
import { stopStaging } from "../dagger/src/aws/stop-aws.js"
import type { StagingTarget } from "../dagger/src/aws/staging-service.js"
import { startScriptedEcs } from "../test/support/ecs-scripted.js"
import { startMoto } from "../test/support/moto.js"
import { createEcsClient, loadEcsSdk, type ECSClient } from "../dagger/src/aws/ecs-client.js"

const RUNS = Number(process.env["BENCH_RUNS"] ?? 7)
const DRAIN_MS = 3_000
const CLUSTER = "portfolio-prod-cluster"
const SERVICE = "portfolio-prod-service"
const SDK_WAITER = { minDelay: 15, maxDelay: 600 } // ECS waitUntilServicesStable defaults, seconds

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b)
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!
  return { median: q(0.5), p90: q(0.9), max: s[s.length - 1]! }
}
const fmt = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`)
function row(label: string, xs: number[], note = "") {
  const { median, p90, max } = stats(xs)
  console.log(`  ${label.padEnd(46)} ${fmt(median).padStart(9)} ${fmt(p90).padStart(9)} ${fmt(max).padStart(9)}  ${note}`)
}
function header(title: string) {
  console.log(`\n${title}`)
  console.log(`  ${"".padEnd(46)} ${"median".padStart(9)} ${"p90".padStart(9)} ${"max".padStart(9)}`)
}

async function seedMoto(ecs: ECSClient) {
  const sdk = await loadEcsSdk()
  await ecs.send(new sdk.CreateClusterCommand({ clusterName: CLUSTER }))
  await ecs.send(
    new sdk.RegisterTaskDefinitionCommand({ family: "portfolio-prod-task", containerDefinitions: [{ name: "portfolio", image: "portfolio:1", memory: 512 }] }),
  )
  await ecs.send(
    new sdk.CreateServiceCommand({ cluster: CLUSTER, serviceName: SERVICE, taskDefinition: "portfolio-prod-task", desiredCount: 1, launchType: "FARGATE" }),
  )
}

async function benchMoto() {
  const moto = await startMoto()
  try {
    const ecs = await createEcsClient({ region: moto.region, credentials: moto.credentials, endpointUrl: moto.endpoint })
    const sdk = await loadEcsSdk()
    const target: StagingTarget = {
      region: moto.region,
      endpointUrl: moto.endpoint,
      cluster: CLUSTER,
      service: SERVICE,
      containerName: "portfolio",
      desiredCount: 1,
      budgetMs: 60_000,
      intervalMs: 2_000,
    }
    const ours: number[] = []
    const baseline: number[] = []
    for (let i = 0; i < RUNS + 1; i++) {
      await moto.reset()
      await seedMoto(ecs)
      let t0 = performance.now()
      const out = await stopStaging(target, moto.credentials, new AbortController().signal)
      if (out.verdict.state !== "success") throw new Error(`stopStaging did not succeed: ${out.verdict.detail}`)
      if (i > 0) ours.push(performance.now() - t0) // run 0 warms moto's ECS backend and the SDK

      await moto.reset()
      await seedMoto(ecs)
      t0 = performance.now()
      await ecs.send(new sdk.UpdateServiceCommand({ cluster: CLUSTER, service: SERVICE, desiredCount: 0 }))
      const w = await sdk.waitUntilServicesStable({ client: ecs, maxWaitTime: 900, ...SDK_WAITER }, { cluster: CLUSTER, services: [SERVICE] })
      if (w.state !== "SUCCESS") throw new Error(`waiter ended ${w.state}`)
      if (i > 0) baseline.push(performance.now() - t0)
    }
    header(`A. moto 5.2.5, stop from desired 1 (${RUNS} runs, measured; moto stops tasks instantly)`)
    row("ours: stopStaging (describe+tag+update+verdict)", ours, "4 API calls")
    row("SDK: UpdateService + waitUntilServicesStable", baseline, "2 API calls, no tag, no verdict on deployments")
    ecs.destroy()
    return stats(ours).median
  } finally {
    await moto.stop()
  }
}

/** Scripted endpoint where the service keeps one task for DRAIN_MS after the scale-down. */
async function drainingEndpoint() {
  const server = await startScriptedEcs()
  let updatedAt = 0
  let desired = 1
  const service = () => {
    const running = desired === 0 && performance.now() - updatedAt >= DRAIN_MS ? 0 : 1
    return {
      serviceArn: `arn:aws:ecs:us-west-1:123456789012:service/${CLUSTER}/${SERVICE}`,
      serviceName: SERVICE,
      status: "ACTIVE",
      desiredCount: desired,
      runningCount: running,
      pendingCount: 0,
      deployments: [{ id: "ecs-svc/1", status: "PRIMARY", desiredCount: desired, runningCount: running, rolloutState: "COMPLETED" }],
      tags: [],
    }
  }
  server.script("DescribeServices", () => ({ services: [service()], failures: [] }))
  server.script("TagResource", {})
  server.script("UpdateService", (body) => {
    desired = Number(body["desiredCount"])
    updatedAt = performance.now()
    return { service: service() }
  })
  return {
    server,
    reset() {
      desired = 1
      updatedAt = 0
    },
    stoppedAt: () => updatedAt + DRAIN_MS,
  }
}

async function benchDraining() {
  const { server, reset, stoppedAt } = await drainingEndpoint()
  try {
    const credentials = { accessKeyId: "bench", secretAccessKey: "bench" }
    const target: StagingTarget = {
      region: "us-west-1",
      endpointUrl: server.endpoint,
      cluster: CLUSTER,
      service: SERVICE,
      containerName: "portfolio",
      desiredCount: 1,
      budgetMs: 120_000,
      intervalMs: 2_000,
    }
    const ours: number[] = []
    for (let i = 0; i < RUNS; i++) {
      reset()
      await stopStaging(target, credentials, new AbortController().signal)
      ours.push(performance.now() - stoppedAt())
    }
    // The SDK waiter: one measured run (it takes ≥ 15 s by construction).
    reset()
    const ecs = await createEcsClient({ region: "us-west-1", credentials, endpointUrl: server.endpoint })
    const sdk = await loadEcsSdk()
    await ecs.send(new sdk.UpdateServiceCommand({ cluster: CLUSTER, service: SERVICE, desiredCount: 0 }))
    const w = await sdk.waitUntilServicesStable({ client: ecs, maxWaitTime: 900, ...SDK_WAITER }, { cluster: CLUSTER, services: [SERVICE] })
    const sdkLatency = performance.now() - stoppedAt()
    ecs.destroy()
    header(`B. tasks drain for ${DRAIN_MS / 1000} s after the scale-down (scripted ECS endpoint); latency after the last task stopped`)
    row(`ours: poll ≤ 2 s with jitter (${RUNS} runs, measured)`, ours)
    row(`SDK waitUntilServicesStable (1 run, measured)`, [sdkLatency], `waiter ${w.state}`)
    return { ours: stats(ours).median, sdk: sdkLatency }
  } finally {
    await server.close()
  }
}

/** Time of the first poll at or after `doneAt` (s), for a schedule of pauses. */
function firstPollAfter(doneAt: number, nextPause: (k: number) => number): number {
  let t = 0
  for (let k = 1; t < doneAt; k++) t += nextPause(k)
  return t
}
const sdkPause = (k: number) => {
  const { minDelay, maxDelay } = SDK_WAITER
  const ceiling = Math.log(maxDelay / minDelay) / Math.log(2) + 1
  if (k > ceiling) return maxDelay
  const capped = Math.min(minDelay * 2 ** (k - 1), maxDelay)
  return minDelay + Math.random() * (capped - minDelay)
}
const ourPause = () => 1 + Math.random()

function computed() {
  console.log("\nC. longer drains — COMPUTED by simulating both schedules (10 000 draws each), latency after the last task stopped")
  console.log(`  ${"drain".padEnd(10)} ${"ours median".padStart(12)} ${"ours max".padStart(10)} ${"SDK median".padStart(12)} ${"SDK max".padStart(10)}`)
  for (const drain of [3, 30, 60, 120, 300]) {
    const o: number[] = []
    const s: number[] = []
    for (let i = 0; i < 10_000; i++) {
      o.push(firstPollAfter(drain, ourPause) - drain)
      s.push(firstPollAfter(drain, sdkPause) - drain)
    }
    const os = stats(o)
    const ss = stats(s)
    console.log(
      `  ${(drain + " s").padEnd(10)} ${(os.median.toFixed(1) + " s").padStart(12)} ${(os.max.toFixed(1) + " s").padStart(10)} ` +
        `${(ss.median.toFixed(1) + " s").padStart(12)} ${(ss.max.toFixed(1) + " s").padStart(10)}`,
    )
  }
  console.log("  (excludes API round trips; the SDK waiter also says \"stable\" for a rolled-back deployment — see rollout-verdict.ts)")
}

async function main() {
  console.log("Stop-staging verdict latency — goal ≤ 2 s after staging has stopped")
  const motoMedian = await benchMoto()
  const draining = await benchDraining()
  computed()
  const ok = motoMedian <= 2_000 && draining.ours <= 2_000
  console.log(
    `\nGoal ≤ 2 s: ${ok ? "met" : "NOT met"} (moto end-to-end median ${fmt(motoMedian)}; after draining median ${fmt(draining.ours)}` +
      ` vs SDK waiter ${fmt(draining.sdk)}).`,
  )
}

main().catch((err: unknown) => {
  console.error(err)
  process.exitCode = 1
})
