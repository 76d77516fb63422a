// A real OCI registry on loopback (go-containerregistry's `crane registry serve`, pinned in
// test/tools/setup.mjs) and a real registry client (crane) to push small images into it, so cosign's
// signatures and attestations are written to and read from a registry that speaks the distribution API.
//
// Design choices, and why:
// - Address 127.0.0.1:0: the kernel picks the port and crane logs it ("serving on port N"), so suites never
//   race for a "free" port. Readiness is a real round trip (GET /v2/ answers 200), not the log line alone.
// - Blobs in memory: a suite's registry holds a few kilobytes and dies with it; nothing to clean up.
// - crane runs under `sh`, which waits on its stdin: stdin is a pipe from this process, so when we exit for
//   any reason (a vitest worker SIGKILLed included) the pipe closes and sh kills crane. An `exit` hook alone
//   cannot cover that, and a Go binary has no way to watch its parent by itself.
// - Images are one layer of files written as a tar here with fixed times and owners (no `tar` binary, no
//   clock): the same files give the same digest on every run, so stderr texts that name a digest can be
//   kept as fixtures.
import { spawn, execFile, type ChildProcess } from "node:child_process"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { toolPath } from "../tools/paths.js"

const run = promisify(execFile)

export interface PushedImage {
  /** `host:port/repository@sha256:…`: what cosign signs and verifies. */
  ref: string
  /** `sha256:…`, the manifest digest. */
  digest: string
  /** `host:port/repository:tag`. */
  tagRef: string
}

export interface OciRegistry {
  /** `127.0.0.1:PORT`, the registry part of every reference. */
  host: string
  port: number
  /**
   * Pushes a one-layer image (an empty base plus `files`) as `repository:tag` with crane and answers its
   * digest. The same files give the same digest.
   */
  pushImage(repository: string, tag: string, files: Record<string, string | Uint8Array>): Promise<PushedImage>
  /** The digest the registry holds for a tag or digest reference (`crane digest`). */
  digest(ref: string): Promise<string>
  /** Stops the registry and waits until it has exited. Idempotent. */
  stop(): Promise<void>
}

export interface StartOciRegistryOptions {
  /** How long to wait for the registry to answer. Default 15 000 ms (it starts in ~50 ms). */
  readyTimeoutMs?: number
}

// $0 is crane. `cat` returns when our end of stdin closes, whatever the reason, and sh then ends crane.
const WATCHDOG = `"$0" registry serve --address 127.0.0.1:0 & crane=$!; cat >/dev/null; kill $crane 2>/dev/null; wait $crane`

const live = new Set<ChildProcess>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on("exit", () => {
    for (const child of live) child.stdin?.destroy()
  })
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once("exit", () => resolve()))
}

/** Starts a registry on a kernel-chosen loopback port; resolves once GET /v2/ answers 200. */
export async function startOciRegistry(options: StartOciRegistryOptions = {}): Promise<OciRegistry> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000
  const crane = toolPath("go", "crane")
  const child = spawn("sh", ["-c", WATCHDOG, crane], { stdio: ["pipe", "pipe", "pipe"] })
  installExitHook()
  live.add(child)
  child.once("exit", () => live.delete(child))

  let output = ""
  const onData = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-8_000)
  }
  child.stdout!.on("data", onData)
  child.stderr!.on("data", onData)

  const stop = async () => {
    child.stdin?.end()
    const timer = setTimeout(() => child.kill("SIGKILL"), 3_000)
    await exited(child)
    clearTimeout(timer)
  }

  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`crane registry serve did not report a port within ${readyTimeoutMs} ms`)),
        readyTimeoutMs,
      )
      const check = () => {
        const m = /serving on port (\d+)/.exec(output)
        if (m) {
          clearTimeout(timer)
          resolve(Number(m[1]))
        }
      }
      child.stderr!.on("data", check)
      child.once("exit", (code, signal) => {
        clearTimeout(timer)
        reject(new Error(`crane registry serve exited before it was ready (code ${code}, signal ${signal})`))
      })
    })
    const host = `127.0.0.1:${port}`
    const deadline = Date.now() + readyTimeoutMs
    for (;;) {
      const status = await fetch(`http://${host}/v2/`).then((r) => r.status, (err: Error) => err.message)
      if (status === 200) break
      if (Date.now() > deadline) throw new Error(`the registry at ${host} did not answer GET /v2/ with 200 (last: ${status})`)
      await new Promise((r) => setTimeout(r, 50))
    }

    const craneRun = async (args: string[], what: string): Promise<string> => {
      try {
        return (await run(crane, [...args, "--insecure"], { encoding: "utf8" })).stdout.trim()
      } catch (err) {
        const e = err as { code?: number; stderr?: string }
        throw new Error(`${what} failed (crane exit ${e.code}): ${(e.stderr ?? "").trim().split("\n").pop()}`)
      }
    }

    const pushImage = async (repository: string, tag: string, files: Record<string, string | Uint8Array>): Promise<PushedImage> => {
      const dir = await mkdtemp(join(tmpdir(), "oci-image-"))
      try {
        const layer = join(dir, "layer.tar")
        await writeFile(layer, tarOf(files))
        const tagRef = `${host}/${repository}:${tag}`
        // crane append without a base appends to an empty image and prints repository@digest.
        const ref = await craneRun(["append", "--new_layer", layer, "--new_tag", tagRef], `pushing ${tagRef}`)
        const digest = ref.slice(ref.indexOf("@") + 1)
        if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new Error(`crane append of ${tagRef} printed '${ref}', not repository@sha256:…`)
        return { ref: `${host}/${repository}@${digest}`, digest, tagRef }
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    }

    return {
      host,
      port,
      pushImage,
      digest: (ref) => craneRun(["digest", ref], `crane digest ${ref}`),
      stop,
    }
  } catch (err) {
    await stop()
    throw new Error(`${(err as Error).message}\n--- crane registry output (tail) ---\n${output.slice(-2_000)}`)
  }
}

/** A ustar archive of regular files (mode 0644, owner 0, mtime 0), names ≤ 100 bytes. */
export function tarOf(files: Record<string, string | Uint8Array>): Buffer {
  const blocks: Buffer[] = []
  for (const [name, text] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
    const body = typeof text === "string" ? Buffer.from(text, "utf8") : Buffer.from(text)
    if (Buffer.byteLength(name) > 100) throw new Error(`tar entry name '${name}' is longer than 100 bytes`)
    const header = Buffer.alloc(512)
    const field = (offset: number, length: number, value: string) => header.write(value, offset, length, "ascii")
    const octal = (offset: number, length: number, n: number) => field(offset, length, n.toString(8).padStart(length - 1, "0") + "\0")
    header.write(name, 0, 100, "utf8")
    octal(100, 8, 0o644)
    octal(108, 8, 0)
    octal(116, 8, 0)
    octal(124, 12, body.length)
    octal(136, 12, 0)
    field(148, 8, "        ") // checksum is computed with its own field as spaces
    field(156, 1, "0")
    field(257, 8, "ustar\u000000")
    let sum = 0
    for (const byte of header) sum += byte
    field(148, 8, sum.toString(8).padStart(6, "0") + "\0 ")
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512))
  }
  blocks.push(Buffer.alloc(1024))
  return Buffer.concat(blocks)
}
