// Transport errors as undici raises them, mapped to the failure kinds the verdict counts.
import { describe, expect, it } from "vitest"
import { classifyTransportError } from "../../dagger/src/health/transport.js"

// ---------------------------------------------------------------------------------------------
describe("transport error classification (pure, on undici's error shapes)", () => {
  const fetchFailed = (cause: object) => Object.assign(new TypeError("fetch failed"), { cause })
  const withCode = (message: string, code: string) => Object.assign(new Error(message), { code })
  it.each([
    ["refused", fetchFailed(withCode("connect ECONNREFUSED 127.0.0.1:1", "ECONNREFUSED")), "refused"],
    ["refused via AggregateError (IPv4 and IPv6 both tried)", fetchFailed(Object.assign(new AggregateError([withCode("a", "ECONNREFUSED"), withCode("b", "ECONNREFUSED")]), { code: "ECONNREFUSED" })), "refused"],
    ["dns", fetchFailed(withCode("getaddrinfo ENOTFOUND x.invalid", "ENOTFOUND")), "dns"],
    ["dns temporary", fetchFailed(withCode("getaddrinfo EAI_AGAIN x", "EAI_AGAIN")), "dns"],
    ["socket closed", fetchFailed(withCode("other side closed", "UND_ERR_SOCKET")), "reset"],
    ["body cut short", Object.assign(new TypeError("terminated"), { cause: withCode("other side closed", "UND_ERR_SOCKET") }), "reset"],
    ["reset", fetchFailed(withCode("read ECONNRESET", "ECONNRESET")), "reset"],
    ["our AbortSignal.timeout", new DOMException("The operation was aborted due to timeout", "TimeoutError"), "timeout"],
    ["undici connect timeout", fetchFailed(withCode("Connect Timeout Error", "UND_ERR_CONNECT_TIMEOUT")), "timeout"],
    ["tls", fetchFailed(withCode("wrong version number", "ERR_SSL_WRONG_VERSION_NUMBER")), "tls"],
    ["self-signed", fetchFailed(withCode("self-signed certificate", "DEPTH_ZERO_SELF_SIGNED_CERT")), "tls"],
    ["fetch refusing a port", fetchFailed(new Error("bad port")), "other"],
  ])("%s", (_name, err, failure) => {
    expect(classifyTransportError(err, 2000).failure).toBe(failure)
  })
})
