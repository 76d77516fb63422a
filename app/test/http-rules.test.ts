import { describe, expect, it } from "vitest"
import { chooseEncoding, contentTypeFor, etagMatches, isCompressible, securityHeaders, type Encoding } from "../src/http-rules.js"

const all: Encoding[] = ["br", "gzip", "identity"]

describe("chooseEncoding", () => {
  it.each([
    [undefined, "identity"],
    ["", "identity"],
    ["gzip", "gzip"],
    ["gzip, deflate, br", "br"],
    ["br;q=0.2, gzip;q=0.8", "gzip"],
    ["BR", "br"],
    ["x-gzip", "gzip"],
    ["*", "br"],
    ["*;q=0.5, br;q=0", "gzip"],
    ["gzip;q=0, br;q=0", "identity"],
    ["deflate", "identity"],
    ["identity;q=0, gzip", "gzip"],
    ["br;q=0.5, identity;q=1", "identity"],
  ] as const)("%j → %s", (header, expected) => {
    expect(chooseEncoding(header, all)).toBe(expected)
  })

  it("returns undefined when the client forbids everything we hold", () => {
    expect(chooseEncoding("identity;q=0", ["identity"])).toBeUndefined()
    expect(chooseEncoding("*;q=0", all)).toBeUndefined()
  })

  it("only offers encodings that exist for the resource", () => {
    expect(chooseEncoding("br, gzip", ["identity", "gzip"])).toBe("gzip")
    expect(chooseEncoding("br", ["identity"])).toBe("identity")
  })
})

describe("etagMatches", () => {
  it.each([
    ['"abc"', '"abc"', true],
    ['W/"abc"', '"abc"', true],
    ['"x", "abc"', '"abc"', true],
    ["*", '"abc"', true],
    ['"abcd"', '"abc"', false],
    [undefined, '"abc"', false],
    ["", '"abc"', false],
  ] as const)("If-None-Match %j vs %s → %s", (header, etag, expected) => {
    expect(etagMatches(header, etag)).toBe(expected)
  })
})

describe("content types", () => {
  it("knows what it serves and refuses to guess the rest", () => {
    expect(contentTypeFor("style.css")).toBe("text/css; charset=utf-8")
    expect(contentTypeFor("logo.SVG")).toBe("image/svg+xml")
    expect(contentTypeFor("README")).toBeUndefined()
    expect(contentTypeFor("x.exe")).toBeUndefined()
    expect(isCompressible("image/svg+xml")).toBe(true)
    expect(isCompressible("image/png")).toBe(false)
  })
})

describe("securityHeaders", () => {
  it("adds HSTS only when the edge terminated TLS", () => {
    expect(securityHeaders({ https: false })["strict-transport-security"]).toBeUndefined()
    expect(securityHeaders({ https: true })["strict-transport-security"]).toMatch(/^max-age=\d+/)
  })

  it("allows no script at all", () => {
    const csp = securityHeaders({ https: false })["content-security-policy"]!
    expect(csp).toContain("default-src 'none'")
    expect(csp).not.toMatch(/script-src/)
  })
})
