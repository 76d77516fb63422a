// Minting a Sigstore id token from GitHub Actions' request credentials (dagger/src/supply-chain/sign/oidc.ts),
// against a local HTTP server answering as the Actions token service does.
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { mintIdToken } from "../../../dagger/src/supply-chain/sign/oidc.js"

const REQUEST_TOKEN = "planted-request-token-never-in-messages"
const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmFjbWUvcG9ydGZvbGlvIn0.planted-signature"
let server: Server
let base: string
let answer: { status: number; body: string }
const seen: { url: string; authorization?: string }[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? "", authorization: req.headers.authorization })
    res.writeHead(answer.status, { "content-type": "application/json" })
    res.end(answer.body)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/idtoken?api-version=2.0`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

describe("mintIdToken", () => {
  it("asks for the sigstore audience with the request token as bearer, keeping the URL's own query", async () => {
    answer = { status: 200, body: JSON.stringify({ count: 1, value: JWT }) }
    seen.length = 0
    expect(await mintIdToken({ url: base, token: REQUEST_TOKEN }, new AbortController().signal)).toBe(JWT)
    const url = new URL(seen[0]!.url, "http://x")
    expect(url.searchParams.get("api-version")).toBe("2.0")
    expect(url.searchParams.get("audience")).toBe("sigstore")
    expect(seen[0]!.authorization).toBe(`bearer ${REQUEST_TOKEN}`)
  })

  it("a refusal names the status and the permission to check, never the token", async () => {
    answer = { status: 403, body: JSON.stringify({ message: `denied for ${REQUEST_TOKEN}` }) }
    const failure = mintIdToken({ url: base, token: REQUEST_TOKEN }, new AbortController().signal)
    await expect(failure).rejects.toThrow(/answered HTTP 403 for audience 'sigstore'; check that the job grants `id-token: write`/)
    await expect(failure).rejects.not.toThrow(new RegExp(REQUEST_TOKEN))
  })

  it("an answer without a JWT, a bad URL and an unreachable service are errors that say so", async () => {
    answer = { status: 200, body: JSON.stringify({ value: "not-a-jwt" }) }
    await expect(mintIdToken({ url: base, token: REQUEST_TOKEN }, new AbortController().signal)).rejects.toThrow(/answered no id token/)
    await expect(mintIdToken({ url: "not a url", token: REQUEST_TOKEN }, new AbortController().signal)).rejects.toThrow(/--oidc-request-url is not a URL/)
    await expect(mintIdToken({ url: "http://127.0.0.1:9/idtoken", token: REQUEST_TOKEN }, new AbortController().signal)).rejects.toThrow(/did not answer .*re-run the job/)
  })

  it("a cancelled step stops the request with its reason", async () => {
    const cancel = new AbortController()
    cancel.abort(new Error("step cancelled"))
    await expect(mintIdToken({ url: base, token: REQUEST_TOKEN }, cancel.signal)).rejects.toThrow(/step cancelled/)
  })
})
