// The moto fixture's own tests: it starts a real server, reset really clears state, stop really kills it,
// and the server cannot outlive a test process that is killed outright.
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startMoto, type Moto } from "../support/moto.js"
import { repoRoot } from "../tools/paths.js"

/** One ECS JSON-protocol call over plain HTTP, so the fixture is tested without any SDK in between. */
async function ecs(moto: Moto, action: string, body: object): Promise<Record<string, unknown>> {
  const res = await fetch(moto.endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `AmazonEC2ContainerServiceV20141113.${action}`,
      // moto routes by the service and region in the credential scope; it does not check the signature.
      authorization: `AWS4-HMAC-SHA256 Credential=${moto.credentials.accessKeyId}/20250101/${moto.region}/ecs/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(body),
  })
  expect(res.status, `${action} answered ${res.status}`).toBe(200)
  return (await res.json()) as Record<string, unknown>
}

/** True while the process exists and is not a zombie (an exited child nobody has reaped yet). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    // /proc/PID/stat: "pid (comm) STATE ..."; comm may contain spaces, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z"
  } catch {
    return true // no procfs (macOS): kill(0) is all we can know
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (condition()) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return condition()
}

describe("startMoto", () => {
  let moto: Moto
  beforeAll(async () => {
    moto = await startMoto()
  })
  afterAll(async () => {
    await moto?.stop()
  })

  it("is ready when it resolves: a loopback endpoint that answers AWS API calls", async () => {
    expect(moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(moto.port).toBeGreaterThan(0)
    expect(moto.credentials.accessKeyId).not.toBe("")
    const created = await ecs(moto, "CreateCluster", { clusterName: "fixture-ready" })
    expect(created.cluster).toMatchObject({ clusterName: "fixture-ready", status: "ACTIVE" })
  })

  it("reset() clears resources created before it", async () => {
    await ecs(moto, "CreateCluster", { clusterName: "fixture-reset" })
    const before = (await ecs(moto, "ListClusters", {})).clusterArns as string[]
    expect(before.some((arn) => arn.endsWith("/fixture-reset"))).toBe(true)

    await moto.reset()

    expect((await ecs(moto, "ListClusters", {})).clusterArns).toEqual([])
  })

  it("two fixtures run side by side on different ports with separate state", async () => {
    const other = await startMoto()
    try {
      expect(other.port).not.toBe(moto.port)
      await ecs(other, "CreateCluster", { clusterName: "only-in-other" })
      const mine = (await ecs(moto, "ListClusters", {})).clusterArns as string[]
      expect(mine.some((arn) => arn.endsWith("/only-in-other"))).toBe(false)
    } finally {
      await other.stop()
    }
  })
})

describe("stopping moto", () => {
  it("stop() kills the process and frees the endpoint; a second stop() is harmless", async () => {
    const moto = await startMoto()
    expect(alive(moto.pid)).toBe(true)

    await moto.stop()

    expect(alive(moto.pid)).toBe(false)
    await expect(fetch(`${moto.endpoint}/moto-api/reset`, { method: "POST" })).rejects.toThrow()
    await expect(moto.stop()).resolves.toBeUndefined()
  })

  it("the server dies with a test process that is SIGKILLed (no exit hook can run then)", async () => {
    // A separate Node process starts moto, prints its pid and idles; we kill that process outright.
    const script = `
      import { startMoto } from ${JSON.stringify(join(repoRoot, "test/support/moto.ts"))}
      const moto = await startMoto()
      console.log("MOTO_PID=" + moto.pid)
      setInterval(() => {}, 1000)
    `
    // `node --import tsx` (not the tsx CLI, which forks a second Node process) so the pid we kill is the
    // one that owns moto's stdin pipe.
    const parent = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "inherit"],
    })
    const motoPid = await new Promise<number>((resolve, reject) => {
      let out = ""
      parent.stdout!.on("data", (c: Buffer) => {
        out += c.toString()
        const m = /MOTO_PID=(\d+)/.exec(out)
        if (m) resolve(Number(m[1]))
      })
      parent.once("exit", (code) => reject(new Error(`child exited early with code ${code}`)))
    })
    expect(alive(motoPid)).toBe(true)

    parent.kill("SIGKILL")

    expect(await waitFor(() => !alive(motoPid), 10_000)).toBe(true)
  })

  it("fails loudly, with moto's output, when the server is not ready in time", async () => {
    await expect(startMoto({ readyTimeoutMs: 1 })).rejects.toThrow(/did not report a listening port within 1 ms[\s\S]*moto_server output/)
  })
})
