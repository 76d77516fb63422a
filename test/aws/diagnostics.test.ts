// aws/diagnostics.ts: what a failed staging deploy shows an operator. Against moto (stopped tasks and their
// reasons, target health through the module's signed ELBv2 call, log stream links from the task definition),
// and against the scripted ECS endpoint for what moto does not model (service events, a container's exit
// code and reason) — where the load balancer cannot be read, which must cost only that one part.
import { CreateClusterCommand, CreateServiceCommand, DescribeTasksCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { diagnoseEcsService, logStream, logStreamUrl } from "../../dagger/src/aws/diagnostics.js"
import { createEcsClient } from "../../dagger/src/aws/ecs-client.js"
import type { Diagnostic } from "../../dagger/src/report/run-record.js"
import { botoCalls } from "../support/boto3.js"
import { startScriptedEcs, type ScriptedEcs } from "../support/ecs-scripted.js"
import { startMoto, type Moto } from "../support/moto.js"
import { repoRoot } from "../tools/paths.js"

const ref = { cluster: "portfolio-prod-cluster", service: "portfolio-prod-service" }
const LOG_GROUP = "/ecs/portfolio-prod"

let moto: Moto
beforeAll(async () => {
  moto = await startMoto()
})
afterAll(async () => {
  await moto?.stop()
})

const titles = (ds: Diagnostic[]) => ds.map((d) => d.title)

describe("ECS diagnostics against moto", () => {
  let ecs: ECSClient
  let sdk: ECSClient
  let targetGroupArn: string
  let instances: { running: string; stopped: string }
  let taskIds: string[]

  // One world for the cases below: none of them changes it.
  beforeAll(async () => {
    await moto.reset()
    const cfg = { region: moto.region, endpoint: moto.endpoint, credentials: moto.credentials }
    sdk = new ECSClient(cfg)
    ecs = await createEcsClient({ region: moto.region, credentials: moto.credentials, endpointUrl: moto.endpoint })
    const [vpcOut] = await botoCalls(moto, [["ec2", "create_vpc", { CidrBlock: "10.50.0.0/16" }]])
    const vpcId = (vpcOut as { Vpc: { VpcId: string } }).Vpc.VpcId
    const made = await botoCalls(moto, [
      ["elbv2", "create_target_group", { Name: "portfolio-prod-tg", Protocol: "HTTP", Port: 8080, VpcId: vpcId, TargetType: "instance" }],
      ["ec2", "run_instances", { ImageId: "ami-12c6146b", MinCount: 2, MaxCount: 2 }],
    ])
    targetGroupArn = (made[0] as { TargetGroups: { TargetGroupArn: string }[] }).TargetGroups[0]!.TargetGroupArn
    const ids = (made[1] as { Instances: { InstanceId: string }[] }).Instances.map((i) => i.InstanceId)
    instances = { running: ids[0]!, stopped: ids[1]! }
    // A stopped instance is the unhealthy target moto models (state "unused", reason Target.InvalidState).
    await botoCalls(moto, [
      ["elbv2", "register_targets", { TargetGroupArn: targetGroupArn, Targets: ids.map((Id) => ({ Id, Port: 8080 })) }],
      ["ec2", "stop_instances", { InstanceIds: [instances.stopped] }],
    ])

    await sdk.send(new CreateClusterCommand({ clusterName: ref.cluster }))
    // moto 5.2.5 cannot start an awsvpc task (its ENI lacks private_dns_name), so these tasks use bridge
    // networking; the network mode plays no part in what is diagnosed.
    const td = await sdk.send(
      new RegisterTaskDefinitionCommand({
        family: "portfolio-prod-task",
        networkMode: "bridge",
        containerDefinitions: [
          {
            name: "portfolio",
            image: "example/app:1",
            essential: true,
            memory: 512,
            logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": LOG_GROUP, "awslogs-region": moto.region, "awslogs-stream-prefix": "app" } },
          },
        ],
      }),
    )
    const tdArn = td.taskDefinition!.taskDefinitionArn!
    await sdk.send(
      new CreateServiceCommand({
        cluster: ref.cluster,
        serviceName: ref.service,
        taskDefinition: tdArn,
        desiredCount: 1,
        launchType: "FARGATE",
        loadBalancers: [{ targetGroupArn, containerName: "portfolio", containerPort: 8080 }],
      }),
    )
    // Three of the service's tasks stop; a task of another group stops too.
    const run = async (group: string) =>
      (await sdk.send(new RunTaskCommand({ cluster: ref.cluster, taskDefinition: tdArn, launchType: "FARGATE", group }))).tasks![0]!.taskArn!
    const reasons = [
      "Essential container in task exited",
      "Task failed container health checks",
      "Scaling activity initiated by (deployment ecs-svc/1281894607538416024)",
    ]
    taskIds = []
    for (const reason of reasons) {
      const arn = await run(`service:${ref.service}`)
      await sdk.send(new StopTaskCommand({ cluster: ref.cluster, task: arn, reason }))
      taskIds.push(arn.split("/").at(-1)!)
    }
    const other = await run("family:someone-else")
    await sdk.send(new StopTaskCommand({ cluster: ref.cluster, task: other, reason: "someone else's task" }))
  }, 120_000)

  it("lists the service's most recently stopped tasks with their reasons and log links, and the unhealthy target", async () => {
    const api = { region: moto.region, endpoint: moto.endpoint, credentials: moto.credentials }
    const found = await diagnoseEcsService({ ecs, ref, api }, new AbortController().signal, { events: 8, stoppedTasks: 3, targets: 10 })

    // What moto answered, so the order below is checked against the cloud, not assumed.
    const described = await sdk.send(new DescribeTasksCommand({ cluster: ref.cluster, tasks: taskIds }))
    expect(described.tasks!.every((t) => t.stoppedReason)).toBe(true)

    const tasks = found.filter((d) => d.title.startsWith("task "))
    // The service's three (moto gives no stop times to order them by); never another group's task.
    expect(titles(tasks).sort()).toEqual(
      [
        `task ${taskIds[0]!.slice(0, 12)} stopped: Essential container in task exited`,
        `task ${taskIds[1]!.slice(0, 12)} stopped: Task failed container health checks`,
        `task ${taskIds[2]!.slice(0, 12)} stopped: Scaling activity initiated by (deployment ecs-svc/1281894607538416024)`,
      ].sort(),
    )
    expect(JSON.stringify(found)).not.toContain("someone else's task")
    const last = tasks.find((d) => d.title.includes(taskIds[2]!.slice(0, 12)))!
    expect(last.lines[0]).toMatch(/^task definition portfolio-prod-task:1/)
    expect(last.lines).toContainEqual(expect.stringMatching(/^container portfolio: .*exit code 0/))
    expect(last.links).toEqual([
      { label: `logs of portfolio in task ${taskIds[2]!.slice(0, 12)} (CloudWatch)`, url: logStreamUrl(moto.region, LOG_GROUP, `app/portfolio/${taskIds[2]}`) },
    ])

    const health = found.find((d) => d.title.startsWith("target group "))!
    expect(health.title).toBe("target group portfolio-prod-tg: 1 of 2 targets not healthy")
    expect(health.lines).toEqual([`${instances.stopped}:8080 unused (Target.InvalidState): Target is in the stopped state`])

    // moto writes no service events: the part is there, empty, with the console link to look at.
    expect(found[0]).toMatchObject({ source: "ecs", title: `service ${ref.service}: last 0 events`, lines: [] })
    expect(found.every((d) => d.source === "ecs")).toBe(true)
  })

  it("a service that is not there is one line saying so, not a rejection", async () => {
    const api = { region: moto.region, endpoint: moto.endpoint, credentials: moto.credentials }
    const found = await diagnoseEcsService({ ecs, ref: { ...ref, service: "gone" }, api }, new AbortController().signal)
    expect(found).toEqual([{ source: "ecs", title: "service gone could not be read", lines: [expect.stringMatching(/not found|does not exist/)] }])
  })

  it("sends nothing once the signal has aborted, and rejects with its reason", async () => {
    const api = { region: moto.region, endpoint: moto.endpoint, credentials: moto.credentials }
    const reason = new Error("diagnostics budget spent")
    await expect(diagnoseEcsService({ ecs, ref, api }, AbortSignal.abort(reason))).rejects.toBe(reason)
  })
})

describe("ECS diagnostics on the shapes moto does not model (scripted ECS endpoint)", () => {
  let server: ScriptedEcs
  beforeAll(async () => {
    server = await startScriptedEcs()
  })
  afterAll(async () => {
    await server?.close()
  })

  it("the last events newest first, a container's exit code and reason; an unreadable load balancer costs only its own part", async () => {
    const fixture = JSON.parse(readFileSync(join(repoRoot, "test/fixtures/ecs-rollout/alarm-rollback-started.json"), "utf8")) as {
      describeServices: { services: { events: { message: string }[] }[] }
    }
    server.script("DescribeServices", fixture.describeServices)
    const taskArn = "arn:aws:ecs:us-west-1:123456789012:task/portfolio-prod-cluster/3f2a9c0e5b7d4c1e8a6f0b2d4e6c8a01"
    const earlier = "arn:aws:ecs:us-west-1:123456789012:task/portfolio-prod-cluster/0aa0aa0aa0aa4c1e8a6f0b2d4e6c8a02"
    server.script("ListTasks", { taskArns: [earlier, taskArn] })
    server.script("DescribeTasks", {
      tasks: [
        {
          taskArn: earlier,
          group: "service:portfolio-prod-service",
          lastStatus: "STOPPED",
          desiredStatus: "STOPPED",
          stoppedReason: "Task failed ELB health checks in (target-group portfolio-prod-tg)",
          stoppedAt: 1764080800.5,
          taskDefinitionArn: "arn:aws:ecs:us-west-1:123456789012:task-definition/portfolio-prod-task:8",
          containers: [{ name: "portfolio", lastStatus: "STOPPED", exitCode: 0 }],
        },
        {
          taskArn,
          group: "service:portfolio-prod-service",
          lastStatus: "STOPPED",
          desiredStatus: "STOPPED",
          stopCode: "EssentialContainerExited",
          stoppedReason: "Essential container in task exited",
          stoppedAt: 1764080920.5,
          taskDefinitionArn: "arn:aws:ecs:us-west-1:123456789012:task-definition/portfolio-prod-task:8",
          containers: [{ name: "portfolio", lastStatus: "STOPPED", exitCode: 137, reason: "OutOfMemoryError: Container killed due to memory usage" }],
        },
      ],
      failures: [],
    })
    server.script("DescribeTaskDefinition", {
      taskDefinition: {
        taskDefinitionArn: "arn:aws:ecs:us-west-1:123456789012:task-definition/portfolio-prod-task:8",
        containerDefinitions: [{ name: "portfolio", logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": LOG_GROUP, "awslogs-stream-prefix": "app" } } }],
      },
    })
    const ecs = await createEcsClient({ region: "us-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" }, endpointUrl: server.endpoint, maxAttempts: 1 })
    // The load balancer's API answers nowhere: that part must fail alone.
    const api = { region: "us-west-1", endpoint: "http://127.0.0.1:9", credentials: { accessKeyId: "test", secretAccessKey: "test" } }
    const found = await diagnoseEcsService({ ecs, ref, api }, new AbortController().signal, { events: 2, stoppedTasks: 1, targets: 10 })
    ecs.destroy()

    const events = fixture.describeServices.services[0]!.events
    expect(found[0]!.lines).toEqual([expect.stringMatching(/Z \(service portfolio-prod-service\) rolling back to deployment/), expect.stringContaining(events[1]!.message)])
    expect(found[1]).toMatchObject({
      title: "task 3f2a9c0e5b7d stopped: Essential container in task exited",
      lines: [
        "task definition portfolio-prod-task:8, stop code EssentialContainerExited, stopped 2025-11-25T14:28:40.500Z",
        "container portfolio: STOPPED, exit code 137 — OutOfMemoryError: Container killed due to memory usage",
      ],
      links: [{ url: "https://us-west-1.console.aws.amazon.com/cloudwatch/home?region=us-west-1#logsV2:log-groups/log-group/$252Fecs$252Fportfolio-prod/log-events/app$252Fportfolio$252F3f2a9c0e5b7d4c1e8a6f0b2d4e6c8a01" }],
    })
    expect(found[2]).toMatchObject({ title: "target health of portfolio-prod-tg could not be read" })
    // One stopped task was asked for: the one that stopped last.
    expect(found).toHaveLength(3)
    expect(server.unscripted).toEqual([])
  }, 60_000)
})

describe("log streams of the awslogs driver", () => {
  it("are <prefix>/<container>/<task id>, and unknown without the driver or a prefix", () => {
    const c = { name: "portfolio", logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/ecs/x", "awslogs-stream-prefix": "app", "awslogs-region": "eu-west-1" } } }
    expect(logStream(c, "abc")).toEqual({ group: "/ecs/x", name: "app/portfolio/abc", region: "eu-west-1" })
    expect(logStream({ ...c, logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/ecs/x" } } }, "abc")).toBeUndefined()
    expect(logStream({ ...c, logConfiguration: { logDriver: "json-file", options: c.logConfiguration.options } }, "abc")).toBeUndefined()
    expect(logStreamUrl("cn-north-1", "/g", "s")).toMatch(/^https:\/\/cn-north-1\.console\.amazonaws\.cn\//)
  })
})
