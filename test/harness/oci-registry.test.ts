// The local OCI registry fixture (test/support/oci-registry.ts): a real registry on loopback, images with
// stable digests, and no registry left behind when the test process dies.
import { spawn } from "node:child_process"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startOciRegistry, type OciRegistry } from "../support/oci-registry.js"
import { repoRoot } from "../tools/paths.js"

const answers = (host: string) => fetch(`http://${host}/v2/`).then((r) => r.status === 200, () => false)

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return check()
}

describe("oci-registry fixture", () => {
  let registry: OciRegistry
  beforeAll(async () => {
    registry = await startOciRegistry()
  })
  afterAll(async () => {
    await registry?.stop()
  })

  it("pushes an image whose digest the registry itself reports; the same files give the same digest", async () => {
    const a = await registry.pushImage("app", "a", { "srv/x.txt": "one\n" })
    const again = await registry.pushImage("app", "again", { "srv/x.txt": "one\n" })
    const other = await registry.pushImage("app", "b", { "srv/x.txt": "two\n" })
    expect(a.ref).toBe(`${registry.host}/app@${a.digest}`)
    expect(await registry.digest(a.tagRef)).toBe(a.digest)
    expect(again.digest).toBe(a.digest)
    expect(other.digest).not.toBe(a.digest)
    const manifest = await fetch(`http://${registry.host}/v2/app/manifests/${a.digest}`, {
      headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json" },
    })
    expect(manifest.status).toBe(200)
  })

  it("stops: the port no longer answers, and a second stop is harmless", async () => {
    const r = await startOciRegistry()
    expect(await answers(r.host)).toBe(true)
    await r.stop()
    expect(await answers(r.host)).toBe(false)
    await expect(r.stop()).resolves.toBeUndefined()
  })

  it("the registry dies with a test process that is SIGKILLed (no exit hook can run then)", async () => {
    const script = `
      import { startOciRegistry } from ${JSON.stringify(join(repoRoot, "test/support/oci-registry.ts"))}
      const r = await startOciRegistry()
      console.log("REGISTRY=" + r.host)
      setInterval(() => {}, 1000)
    `
    // `node --import tsx`, not the tsx CLI (which forks a second Node), so the killed pid owns the pipe.
    const parent = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "inherit"],
    })
    const host = await new Promise<string>((resolve, reject) => {
      let out = ""
      parent.stdout!.on("data", (c: Buffer) => {
        out += c.toString()
        const m = /REGISTRY=(\S+)/.exec(out)
        if (m?.[1]) resolve(m[1])
      })
      parent.once("exit", (code) => reject(new Error(`child exited early with code ${code}`)))
    })
    expect(await answers(host)).toBe(true)

    parent.kill("SIGKILL")

    expect(await waitFor(async () => !(await answers(host)), 10_000)).toBe(true)
  })
})
