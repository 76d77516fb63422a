// A scripted ECS endpoint: a local HTTP server speaking the ECS JSON protocol (awsJson1_1) that answers
// each action from a per-test queue of replies. It is the documented seam for what moto cannot model —
// rollout state transitions, circuit-breaker rollbacks, throttling — while the code under test still
// uses the real @aws-sdk/client-ecs client (signing, serialisation, retries, error parsing).
//
// A queue's last reply repeats. An action with no script answers HTTP 400 `UnscriptedAction` and is
// recorded in `unscripted`, so a test can never pass by accident on a call it did not expect.
import { createServer, type IncomingMessage } from "node:http"
import type { AddressInfo } from "node:net"

export interface ScriptedError {
  /** AWS error code, sent as `__type` (e.g. ThrottlingException). */
  error: string
  message?: string
  /** HTTP status. Default 400. */
  status?: number
}

export type Reply = object | ScriptedError | ((request: Record<string, unknown>) => object | ScriptedError)

export interface RecordedCall {
  action: string
  body: Record<string, unknown>
  at: number
}

export interface ScriptedEcs {
  endpoint: string
  /** Every call in order. */
  calls: RecordedCall[]
  /** Calls to actions that had no script. */
  unscripted: string[]
  /** Appends replies for an action (X-Amz-Target suffix, e.g. "DescribeServices"). */
  script(action: string, ...replies: Reply[]): void
  /** Drops the replies scripted for an action. */
  clear(action: string): void
  callsOf(action: string): RecordedCall[]
  close(): Promise<void>
}

const TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."

function isError(reply: object): reply is ScriptedError {
  return typeof (reply as ScriptedError).error === "string"
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = ""
  for await (const chunk of req) body += chunk
  return body
}

export async function startScriptedEcs(): Promise<ScriptedEcs> {
  const queues = new Map<string, Reply[]>()
  const calls: RecordedCall[] = []
  const unscripted: string[] = []

  const server = createServer(async (req, res) => {
    const target = String(req.headers["x-amz-target"] ?? "")
    const action = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target
    const text = await readBody(req)
    const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>
    calls.push({ action, body, at: Date.now() })

    const queue = queues.get(action)
    let reply: Reply | undefined = queue && queue.length > 1 ? queue.shift() : queue?.[0]
    if (typeof reply === "function") reply = reply(body)
    if (reply === undefined) {
      unscripted.push(action)
      reply = { error: "UnscriptedAction", message: `the scripted ECS endpoint has no reply for ${action}` }
    }
    const status = isError(reply) ? (reply.status ?? 400) : 200
    const payload = isError(reply) ? { __type: reply.error, message: reply.message ?? reply.error } : reply
    res.writeHead(status, { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": `req-${calls.length}` })
    res.end(JSON.stringify(payload))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo

  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    unscripted,
    script(action, ...replies) {
      queues.set(action, [...(queues.get(action) ?? []), ...replies])
    },
    clear(action) {
      queues.delete(action)
    },
    callsOf(action) {
      return calls.filter((c) => c.action === action)
    },
    close() {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
