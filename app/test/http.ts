// A raw HTTP client for the app tests: no automatic decompression or redirects (fetch would hide exactly
// the headers these tests check), bodies as Buffers.
import { Agent, request } from "node:http"
import { connect, type Socket } from "node:net"

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

export interface GetOptions {
  method?: string
  headers?: Record<string, string>
  agent?: Agent | false
}

export function httpRequest(url: string, opts: GetOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? "GET", headers: opts.headers, agent: opts.agent ?? false }, (res) => {
      const chunks: Buffer[] = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on("error", reject)
    })
    req.on("error", reject)
    req.end()
  })
}

/** A hand-driven TCP connection: write raw request bytes, read the raw response. */
export interface RawConnection {
  socket: Socket
  write(text: string): void
  /** Everything received so far. */
  received(): string
  /** Resolves when the server closes the connection, with everything received. */
  closed: Promise<string>
  /** Resolves once the received text contains `needle`. */
  waitFor(needle: string): Promise<string>
}

export async function openConnection(port: number): Promise<RawConnection> {
  const socket = connect({ host: "127.0.0.1", port })
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve)
    socket.once("error", reject)
  })
  let data = ""
  const waiters: Array<{ needle: string; resolve: (s: string) => void }> = []
  socket.setEncoding("utf8")
  socket.on("data", (chunk: string) => {
    data += chunk
    for (const w of [...waiters]) if (data.includes(w.needle)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(data) }
  })
  socket.on("error", () => { /* a reset shows up as `closed`; the assertion says what was expected */ })
  const closed = new Promise<string>((resolve) => socket.once("close", () => resolve(data)))
  return {
    socket,
    write: (text) => { socket.write(text) },
    received: () => data,
    closed,
    waitFor: (needle) => data.includes(needle) ? Promise.resolve(data) : new Promise((resolve) => waiters.push({ needle, resolve })),
  }
}

/** Splits a raw HTTP/1.1 response text into status, lower-cased headers and body. */
export function parseRawResponse(text: string): { status: number; headers: Record<string, string>; body: string } {
  const end = text.indexOf("\r\n\r\n")
  const [statusLine = "", ...headerLines] = text.slice(0, end).split("\r\n")
  const headers: Record<string, string> = {}
  for (const line of headerLines) {
    const i = line.indexOf(":")
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
  }
  return { status: Number(statusLine.split(" ")[1]), headers, body: text.slice(end + 4) }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
