// The user's CLI surface (`dagger functions`, `dagger call <fn> --help`), read by the SDK's own
// introspector. The rendered text is a committed snapshot: any renamed function or flag, changed type,
// default or doc comment shows up in review. Update it with `npm run snapshot:update`.
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { introspectModule, renderCliSurface, repoRoot, toKebab, toLowerCamel } from "../support/introspect.js"
import { expectFunction, functionMismatches, surfaceProblems } from "../support/signature.js"

const fixture = (name: string): { dir: string; name: string } => ({ dir: join(repoRoot, "test", "fixtures", name), name })

describe("the module's CLI surface", () => {
  it("documents every function and flag, uses CLI-safe names and takes credentials only as Secrets", async () => {
    const typedefs = await introspectModule()
    expect(typedefs.objects[typedefs.name], `main object ${typedefs.name}`).toBeDefined()
    expect(surfaceProblems(typedefs)).toEqual([])
  })

  it("matches the committed snapshot (run `npm run snapshot:update` after an intended change)", async () => {
    const typedefs = await introspectModule()
    await expect(renderCliSurface(typedefs)).toMatchFileSnapshot("./__snapshots__/cli-surface.txt")
  })

  it("takes the repository checkout as the constructor's --source, defaulting to the git root", async () => {
    expectFunction(await introspectModule(), "", {
      args: { source: { type: "Directory", required: false, defaultPath: "/" } },
    })
  })
})

describe("the rules fire on a bad module", () => {
  it("reports an undocumented function and flags, a String secret, a non-Secret credential and a name that breaks in kebab-case", async () => {
    const problems = surfaceProblems(await introspectModule(fixture("bad-module")))
    const expected = [
      /argument deploy --api-token looks like a credential but is a plain String/,
      /argument deploy --region has no doc comment/,
      /function undocumented has no doc comment/,
      /argument undocumented --webhook has no doc comment/,
      /function read-aws-key-id: "readAWSKeyID" becomes "read-aws-key-id" on the CLI, which maps back to "readAwsKeyId"/,
      /argument read-aws-key-id --aws-key-id: "awsKeyID" becomes "aws-key-id" on the CLI, which maps back to "awsKeyId"/,
    ]
    for (const re of expected) expect(problems, `expected a problem matching ${re}`).toEqual(expect.arrayContaining([expect.stringMatching(re)]))
    // Nothing else: a rule that fires on good arguments would be as useless as one that never fires.
    expect(problems).toHaveLength(expected.length)
  })

  it("accepts the well-formed fixture module", async () => {
    expect(surfaceProblems(await introspectModule(fixture("echo-module")))).toEqual([])
  })

  it("lets a deliberately non-secret name through only when listed", async () => {
    const typedefs = await introspectModule(fixture("bad-module"))
    const listed = surfaceProblems(typedefs, { notSecret: ["api-token"] })
    expect(listed.some((p) => p.includes("--api-token looks like a credential"))).toBe(false)
  })
})

describe("expectFunction", () => {
  it("passes on a matching signature", async () => {
    const typedefs = await introspectModule(fixture("echo-module"))
    expectFunction(typedefs, "echo", {
      args: {
        message: { type: "String", required: true },
        volume: { type: "Loudness", default: "Quiet", enumValues: ["Quiet", "Loud"] },
        times: { type: "Int", default: 1, description: "Default 1." },
      },
      returns: "String",
      cache: "default",
    })
    expectFunction(typedefs, "upload", {
      args: { token: { type: "Secret", required: true }, target: { type: "String", optional: true, default: undefined } },
      cache: "never",
    })
    expectFunction(typedefs, "", {
      args: { image: { type: "String", default: "alpine:3.20" }, source: { type: "Directory", defaultPath: "/test/fixtures/echo-module" } },
    })
  })

  it("lists every mismatch: wrong type, missing and unexpected flags, return type, cache policy", async () => {
    const typedefs = await introspectModule(fixture("echo-module"))
    const mismatches = functionMismatches(typedefs, "upload", {
      args: { token: { type: "String" }, "dry-run": { type: "Boolean" } },
      returns: "Container",
      cache: "default",
    })
    expect(mismatches).toEqual([
      "upload --token: type is Secret, expected String",
      "upload: no flag --dry-run; it has --token, --target",
      "upload: unexpected flag --target",
      "upload: returns String, expected Container",
      "upload: cache policy is never, expected default",
    ])
    expect(() => expectFunction(typedefs, "upload", { args: { token: { type: "String" } }, exactArgs: false })).toThrow(/type is Secret, expected String/)
    expect(functionMismatches(typedefs, "shout", {})).toEqual([expect.stringMatching(/no function "shout" on EchoModule; it has: echo, upload, exit-code, build, invocation-count, read/)])
  })
})

describe("the snapshot notices renames", () => {
  const dirs: string[] = []
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

  it("renders a renamed function and flag differently", async () => {
    // A copy of the fixture with one function and one flag renamed, next to a node_modules link so the
    // introspector resolves @dagger.io/dagger as it does in the repository.
    const dir = mkdtempSync(join(tmpdir(), "cli-surface-rename-"))
    dirs.push(dir)
    symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"))
    const source = readFileSync(join(fixture("echo-module").dir, "index.ts"), "utf8")
    const renamed = source.replace("async echo(message: string,", "async shout(text: string,").replace("@param message What", "@param text What")
    expect(renamed).not.toBe(source)
    writeFileSync(join(dir, "index.ts"), renamed)

    const before = renderCliSurface(await introspectModule(fixture("echo-module")))
    const after = renderCliSurface(await introspectModule({ dir, name: "echo-module" }))
    expect(before).toContain("=== dagger call echo --help")
    expect(after).not.toContain("=== dagger call echo --help")
    expect(after).toContain("=== dagger call shout --help")
    expect(after).toContain("  --text String!")
  })
})

describe("name conversion matches Dagger's (Go strcase)", () => {
  it.each([
    ["deployProduction", "deploy-production"],
    ["skipAwsStop", "skip-aws-stop"],
    ["awsAccessKeyId", "aws-access-key-id"],
    ["awsKeyID", "aws-key-id"],
    ["JSONData", "json-data"],
    ["s3Bucket", "s-3-bucket"],
    ["check", "check"],
  ])("%s → %s", (camel, kebab) => {
    expect(toKebab(camel)).toBe(kebab)
  })

  it("maps CLI names back to field names", () => {
    expect(toLowerCamel("deploy-production")).toBe("deployProduction")
    expect(toLowerCamel("aws-key-id")).toBe("awsKeyId")
    expect(toLowerCamel("s-3-bucket")).toBe("s3Bucket")
  })
})
