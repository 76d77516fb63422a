// A real HTTP webhook receiver on loopback, standing in for Slack, Discord or any JSON webhook.
//
// Design choices, and why:
// - Replies are scripted per request up front (a queue, then a default), so a test states a whole
//   scenario ("500, then 429 with Retry-After: 0, then 204") without test-side timers.
// - Every request is recorded with its raw body, so tests can prove what went over the wire (payload
//   shape, that a planted secret never appears).
// - `hang` answers nothing until the receiver closes; `close` destroys the socket without an answer.
// - Port 0 (kernel-chosen), loopback only; close() destroys open sockets so a hanging request cannot
//   keep a test alive.
import { createServer, type IncomingMessage } from "node:http"
import type { AddressInfo, Socket } from "node:net"

export type Reply =
  /** Answer with a status, optional body and headers (e.g. Retry-After). */
  | { kind: "status"; status: number; body?: string; headers?: Record<string, string> }
  /** Never answer (until the receiver closes). */
  | { kind: "hang" }
  /** Close the connection without answering. */
  | { kind: "close" }

export interface RecordedRequest {
  n: number
  method: string
  path: string
  headers: IncomingMessage["headers"]
  body: string
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown
  reply: Reply["kind"]
}

export interface WebhookReceiver {
  /** Base URL, e.g. http://127.0.0.1:40123 — append any path (a token in the path is fine). */
  url: string
  port: number
  requests: RecordedRequest[]
  /** Replaces the queue of replies; `otherwise` answers every request after the queue is used up. */
  script(replies: Reply[], otherwise?: Reply): void
  close(): Promise<void>
}

export async function startWebhookReceiver(
  options: { replies?: Reply[]; otherwise?: Reply } = {},
): Promise<WebhookReceiver> {
  let queue = [...(options.replies ?? [])]
  let otherwise: Reply = options.otherwise ?? { kind: "status", status: 200, body: "ok" }
  const requests: RecordedRequest[] = []
  const sockets = new Set<Socket>()

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8")
      let json: unknown
      try {
        json = JSON.parse(body)
      } catch {
        json = undefined
      }
      const reply = queue.shift() ?? otherwise
      requests.push({
        n: requests.length + 1,
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body,
        json,
        reply: reply.kind,
      })
      switch (reply.kind) {
        case "status":
          res.writeHead(reply.status, { "content-type": "text/plain", ...reply.headers })
          res.end(reply.body ?? "")
          return
        case "close":
          req.socket.destroy()
          return
        case "hang":
          return
      }
    })
  })
  server.on("connection", (s) => {
    sockets.add(s)
    s.on("close", () => sockets.delete(s))
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  let closed = false
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    script(replies, next) {
      queue = [...replies]
      if (next) otherwise = next
    },
    async close() {
      if (closed) return
      closed = true
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** A loopback URL where nothing listens (a port that was bound and released), for "receiver down". */
export async function unreachableUrl(): Promise<string> {
  const r = await startWebhookReceiver()
  await r.close()
  return r.url
}
