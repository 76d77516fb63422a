// The image's HEALTHCHECK: `node dist/healthcheck.js`. The runtime image has no curl or wget, and a
// node one-liner in the Dockerfile would be untestable, so this is a real module with a test.
// Exits 0 when GET /health on loopback answers 200 within the timeout, 1 otherwise (with the reason
// on stderr, which Docker keeps in `docker inspect` health logs).
import { request } from "node:http"
import { parsePort } from "./config.js"

const TIMEOUT_MS = 2500

const port = parsePort(process.env.PORT)
if (typeof port === "string" || port === 0) {
  process.stderr.write(`healthcheck: ${typeof port === "string" ? port : "PORT=0 has no fixed port to probe"}\n`)
  process.exit(1)
}

const req = request({ host: "127.0.0.1", port, path: "/health", method: "GET", timeout: TIMEOUT_MS }, (res) => {
  res.resume()
  if (res.statusCode === 200) process.exit(0)
  process.stderr.write(`healthcheck: /health answered ${res.statusCode}\n`)
  process.exit(1)
})
req.on("timeout", () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)))
req.on("error", (err) => {
  process.stderr.write(`healthcheck: GET http://127.0.0.1:${port}/health failed: ${err.message}\n`)
  process.exit(1)
})
req.end()
