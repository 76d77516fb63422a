import { describe, expect, it } from "vitest"
import {
  ImageRefError,
  artifactRegistryAddress,
  buildIdentity,
  ecrRepositoryAddress,
  formatImageRef,
  isDigestRef,
  parseImageRef,
  publishedRef,
  registryHostFromEndpoint,
  requireCommit,
  requireDigestRef,
  resolveVersion,
  withTag,
} from "../../dagger/src/supply-chain/image-ref.js"

const D = "sha256:" + "ab".repeat(32)
const ECR = "123456789012.dkr.ecr.us-west-1.amazonaws.com"

describe("parseImageRef", () => {
  it.each([
    [`${ECR}/portfolio-prod:1.2.3@${D}`, { registry: ECR, repository: "portfolio-prod", tag: "1.2.3", digest: D }],
    [`${ECR}/portfolio-prod@${D}`, { registry: ECR, repository: "portfolio-prod", digest: D }],
    ["us-west1-docker.pkg.dev/p-123/repo/app:abc1234", { registry: "us-west1-docker.pkg.dev", repository: "p-123/repo/app", tag: "abc1234" }],
    ["localhost:5000/a/b", { registry: "localhost:5000", repository: "a/b" }],
    ["127.0.0.1:5000/app:v1", { registry: "127.0.0.1:5000", repository: "app", tag: "v1" }],
  ])("parses %s and formats it back unchanged", (text, expected) => {
    expect(parseImageRef(text)).toEqual(expected)
    expect(formatImageRef(parseImageRef(text))).toBe(text)
  })

  it.each([
    ["node:20", /no registry host/],
    ["library/node:20", /where the registry host should be/],
    [`${ECR}/App:1`, /path component 'App'/],
    [`${ECR}/app:-bad`, /tag '-bad'/],
    [`${ECR}/app@sha256:abc`, /digest 'sha256:abc'/],
    [` ${ECR}/app`, /whitespace/],
    ["", /empty/],
  ])("rejects %j naming the problem", (text, why) => {
    expect(() => parseImageRef(text)).toThrow(ImageRefError)
    expect(() => parseImageRef(text)).toThrow(why)
  })
})

describe("digest-only references for deploys", () => {
  it("drops the tag and keeps the digest", () => {
    expect(requireDigestRef(`${ECR}/portfolio-prod:1.2.3@${D}`)).toBe(`${ECR}/portfolio-prod@${D}`)
    expect(isDigestRef(`${ECR}/portfolio-prod@${D}`)).toBe(true)
  })

  it("refuses a tag-only reference and says how to get a pinned one", () => {
    expect(() => requireDigestRef(`${ECR}/portfolio-prod:1.2.3`, "--image")).toThrow(
      /--image '.*portfolio-prod:1.2.3' is not pinned by digest.*reference printed by `publish`/,
    )
    expect(isDigestRef(`${ECR}/portfolio-prod:1.2.3`)).toBe(false)
    expect(isDigestRef("not a ref")).toBe(false)
  })

  it("accepts the registry's answer only for the repository that was pushed", () => {
    expect(publishedRef(`${ECR}/portfolio-prod:abc1234`, `${ECR}/portfolio-prod:abc1234@${D}`)).toBe(`${ECR}/portfolio-prod@${D}`)
    expect(() => publishedRef(`${ECR}/portfolio-prod:abc1234`, `${ECR}/other:abc1234@${D}`)).toThrow(/another repository/)
    expect(() => publishedRef(`${ECR}/portfolio-prod:abc1234`, `${ECR}/portfolio-prod:abc1234`)).toThrow(/without a digest/)
  })
})

describe("versions and tags", () => {
  const sha = "0123456789abcdef0123456789abcdef01234567"

  it("defaults the version to the short commit", () => {
    expect(resolveVersion(sha)).toBe("0123456")
    expect(resolveVersion(sha, "")).toBe("0123456")
    expect(resolveVersion(sha, "1.4.2-rc.1")).toBe("1.4.2-rc.1")
  })

  it("rejects a version that cannot be a tag, with an example of one that can", () => {
    expect(() => resolveVersion(sha, "1.4.2+build")).toThrow(/--version '1.4.2\+build' cannot be used as an image tag.*1.4.2-rc.1/)
  })

  it("requires a real git SHA for --commit", () => {
    expect(requireCommit("abc1234")).toBe("abc1234")
    expect(() => requireCommit("HEAD")).toThrow(/--commit 'HEAD' is not a git SHA.*git rev-parse HEAD/)
    expect(() => requireCommit("ABC1234")).toThrow(/not a git SHA/)
  })

  it("tags a bare address and refuses an already tagged one", () => {
    expect(withTag(`${ECR}/portfolio-prod`, "abc1234")).toBe(`${ECR}/portfolio-prod:abc1234`)
    expect(() => withTag(`${ECR}/portfolio-prod:x`, "abc1234")).toThrow(/already has a tag/)
  })
})

describe("registry addresses", () => {
  it("builds the ECR repository address from ECR's proxy endpoint", () => {
    const host = registryHostFromEndpoint(`https://${ECR}`)
    expect(host).toBe(ECR)
    expect(ecrRepositoryAddress(host, "portfolio-prod")).toBe(`${ECR}/portfolio-prod`)
    expect(() => registryHostFromEndpoint("not a url")).toThrow(/not a URL/)
    expect(() => registryHostFromEndpoint(`https://${ECR}/v2/`)).toThrow(/has a path/)
  })

  it("builds the Artifact Registry address region-docker.pkg.dev/project/repository/image", () => {
    expect(artifactRegistryAddress("us-west1", "portfolio-test-476200", "portfolio-prod", "portfolio")).toBe(
      "us-west1-docker.pkg.dev/portfolio-test-476200/portfolio-prod/portfolio",
    )
  })
})

describe("buildIdentity (builds outside a release)", () => {
  it("uses the commit when given, else 'unknown' and 0.0.0-dev", () => {
    expect(buildIdentity("abcdef0123")).toEqual({ commit: "abcdef0123", version: "abcdef0" })
    expect(buildIdentity()).toEqual({ commit: "unknown", version: "0.0.0-dev" })
    expect(buildIdentity(undefined, "1.2.3")).toEqual({ commit: "unknown", version: "1.2.3" })
    expect(() => buildIdentity(undefined, "a b")).toThrow(/--version .a b. cannot be used as an image tag/)
    expect(() => buildIdentity(undefined, "_1.0")).toThrow(/starting with a letter or digit/)
    expect(() => buildIdentity(undefined, "1".repeat(65))).toThrow(/at most 64/)
    expect(() => buildIdentity("main")).toThrow(/not a git SHA/)
  })
})
