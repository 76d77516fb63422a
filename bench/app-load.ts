// Load benchmark for the portfolio app (run on demand: `npm run bench:app`, never part of `npm test`).
//
// Measures requests/s and p50/p99 latency for GET / and GET /health on the REAL app (started by
// test/support/app-server.ts, access log on, written to a pipe as under a container runtime), with a
// plain node:http hello-world measured in the same run as the baseline. Both servers run in their own
// process on loopback; autocannon drives them from this process.
//
//   npm run bench:app -- --duration 10 --connections 50 --pipelining 1
import { spawn, type ChildProcess } from "node:child_process"
import { once } from "node:events"
import os from "node:os"
import { parseArgs } from "node:util"
import autocannon from "autocannon"
import { startApp } from "../test/support/app-server.js"

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "50" },
    pipelining: { type: "string", default: "1" },
    warmup: { type: "string", default: "2" },
  },
})
const seconds = Number(values.duration)
const connections = Number(values.connections)
const pipelining = Number(values.pipelining)
const warmup = Number(values.warmup)
for (const [name, v] of Object.entries({ duration: seconds, connections, pipelining, warmup })) {
  if (!Number.isFinite(v) || v < 0 || (name !== "warmup" && v === 0)) {
    throw new Error(`--${name} must be a positive number, got '${String(values[name as keyof typeof values])}'`)
  }
}

// The baseline: the least a node:http server can do per request, in its own process like the app.
const HELLO = `
const http = require("node:http")
const server = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/plain" })
  res.end("hello world")
})
server.listen(0, "127.0.0.1", () => console.log(server.address().port))
process.on("SIGTERM", () => server.close(() => process.exit(0)))
`

async function startHello(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["-e", HELLO], { stdio: ["ignore", "pipe", "inherit"] })
  const [chunk] = (await once(child.stdout!, "data")) as [Buffer]
  return { url: `http://127.0.0.1:${chunk.toString().trim()}`, child }
}

interface Row {
  target: string
  rps: number
  p50: number
  p99: number
  mbps: number
  errors: number
  non2xx: number
}

async function measure(target: string, url: string, headers: Record<string, string> = {}): Promise<Row> {
  if (warmup > 0) await autocannon({ url, connections, pipelining, duration: warmup, headers })
  const r = await autocannon({ url, connections, pipelining, duration: seconds, headers })
  return {
    target,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    mbps: r.throughput.average / 1e6,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  }
}

function table(rows: Row[]): string {
  const base = rows[0]!.rps
  const head = ["target", "req/s", "% of baseline", "p50 ms", "p99 ms", "MB/s", "errors", "non-2xx"]
  const body = rows.map((r) => [
    r.target, r.rps.toFixed(0), `${((r.rps / base) * 100).toFixed(0)} %`, r.p50.toFixed(2), r.p99.toFixed(2),
    r.mbps.toFixed(1), String(r.errors), String(r.non2xx),
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n")
}

const hello = await startHello()
const app = await startApp({ version: "bench", commit: "0000000", keepLogs: false })
try {
  console.log(`node ${process.version} · ${os.cpus()[0]?.model ?? "cpu"} × ${os.cpus().length} · ` +
    `${connections} connections, pipelining ${pipelining}, ${seconds}s per target after ${warmup}s warm-up\n`)
  const rows: Row[] = []
  rows.push(await measure("node:http hello world (baseline)", hello.url))
  rows.push(await measure("app GET /health", `${app.url}/health`))
  rows.push(await measure("app GET / (br, as browsers ask)", `${app.url}/`, { "accept-encoding": "gzip, deflate, br" }))
  rows.push(await measure("app GET / (identity)", `${app.url}/`))
  console.log(table(rows))
  const bad = rows.filter((r) => r.errors > 0 || r.non2xx > 0)
  if (bad.length > 0) {
    console.error(`\nerrors or non-2xx answers for: ${bad.map((r) => r.target).join(", ")} — the figures above are not valid`)
    process.exitCode = 1
  }
} finally {
  hello.child.kill("SIGTERM")
  await app.stop()
}
