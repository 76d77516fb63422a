// The engine double itself: the SDK's real client against it, in-process (withDouble) and through the
// SDK's real module entrypoint (callFunction) on a fixture module.
import { ExecError, GraphQLRequestError, ReturnType, dag, type DirectoryID } from "@dagger.io/dagger"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import {
  callFunction,
  engineError,
  execError,
  fields,
  hasLink,
  startEngineDouble,
  withDouble,
  type EngineDouble,
} from "../support/engine-double.js"
import { repoRoot } from "../support/introspect.js"

let double: EngineDouble
beforeEach(async () => {
  double = await startEngineDouble()
})
afterEach(async () => {
  await double.close()
})

describe("recording chains", () => {
  it("records a leaf as its complete chain of fields and arguments", async () => {
    double.setScript([{ leaf: "stdout", value: "hi\n" }])
    const out = await withDouble(double, () => dag.container().from("alpine:3.20").withEnvVariable("GREETING", "hi").withExec(["echo", "hi"]).stdout())
    expect(out).toBe("hi\n")
    expect(double.calls).toHaveLength(1)
    const [call] = double.calls
    expect(fields(call?.chain ?? [])).toEqual(["container", "from", "withEnvVariable", "withExec", "stdout"])
    expect(call?.chain[1]?.args).toEqual({ address: "alpine:3.20" })
    expect(call?.chain[3]?.args).toEqual({ args: ["echo", "hi"] })
    expect(call?.path).toBe('container.from(address: "alpine:3.20").withEnvVariable(name: "GREETING", value: "hi").withExec(args: ["echo","hi"]).stdout')
  })

  it("resolves ids back through node(): a chain continued after sync() and an object argument are complete from the root", async () => {
    double.setScript([{ leaf: "stdout", value: "ok" }])
    await withDouble(double, async () => {
      const base = await dag.container().from("alpine:3.20").withExec(["apk", "add", "curl"]).sync()
      const src = dag.directory().withNewFile("a.txt", "A")
      await base.withDirectory("/src", src).withExec(["curl", "--version"]).stdout()
    })
    const stdout = double.findChains((c) => c[c.length - 1]?.field === "stdout")
    expect(stdout).toHaveLength(1)
    const chain = stdout[0]?.chain ?? []
    expect(fields(chain)).toEqual(["container", "from", "withExec", "withDirectory", "withExec", "stdout"])
    // The directory argument is an id; the double knows the chain behind it.
    const dirId = chain[3]?.args["source"]
    expect(typeof dirId).toBe("string")
    expect(fields(double.resolve(String(dirId)))).toEqual(["directory", "withNewFile"])
    // sync answered with an id that stands for the container itself.
    const sync = double.calls.find((c) => c.leaf === "sync")
    expect(fields(double.resolve(String(sync?.answer)))).toEqual(["container", "from", "withExec"])
  })

  it("gives structurally equal chains the same id and different chains different ids", async () => {
    const [a, b, c] = await withDouble(double, () =>
      Promise.all([dag.container().from("a").id(), dag.container().from("a").id(), dag.container().from("b").id()]),
    )
    expect(a).toBe(b)
    expect(a).not.toBe(c)
  })

  it("fails an unscripted leaf loudly, naming its chain, and lists it", async () => {
    const run = withDouble(double, () => dag.container().from("alpine:3.20").withExec(["false"]).stdout())
    await expect(run).rejects.toThrow(GraphQLRequestError)
    await expect(run).rejects.toThrow('no script answers leaf "stdout" of container.from(address: "alpine:3.20").withExec(args: ["false"]).stdout')
    expect(double.unscripted.map((c) => c.path)).toEqual(['container.from(address: "alpine:3.20").withExec(args: ["false"]).stdout'])
  })

  it("rejects a client without the session token", async () => {
    const res = await fetch(`http://127.0.0.1:${double.port}/query`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Basic ${Buffer.from("wrong:").toString("base64")}` },
      body: JSON.stringify({ query: "{ container { id } }" }),
    })
    expect(res.status).toBe(401)
    expect(double.calls).toHaveLength(0)
  })
})

describe("scripts", () => {
  it("answers from a function of the chain, from matchers in order, and honours `times`", async () => {
    double.setScript([
      { leaf: "stdout", when: (c) => hasLink(c, "withExec", (a) => JSON.stringify(a["args"]) === '["date"]'), value: "monday", times: 1 },
      { leaf: "stdout", when: (c) => hasLink(c, "withExec", (a) => JSON.stringify(a["args"]) === '["date"]'), value: "tuesday" },
    ])
    double.addScript((q) => (q.leaf === "contents" ? `contents of ${String(q.chain[q.chain.length - 2]?.args["path"])}` : undefined))
    const got = await withDouble(double, async () => {
      const c = dag.container().from("alpine:3.20").withExec(["date"])
      return [await c.stdout(), await c.stdout(), await c.file("/etc/hostname").contents()]
    })
    expect(got).toEqual(["monday", "tuesday", "contents of /etc/hostname"])
  })

  it("accepts a plain (chain) => value function, and scripted lists of objects", async () => {
    double.setScript((chain) => (chain[chain.length - 1]?.field === "stdout" ? `ran ${chain.length - 1} steps` : undefined))
    double.addScript([{ leaf: "envVariables", value: [{ name: "A", value: "1" }, { name: "B", value: "2" }] }])
    const [out, names] = await withDouble(double, async () => {
      const c = dag.container().from("alpine:3.20").withExec(["true"])
      const vars = await c.envVariables()
      return [await c.stdout(), await Promise.all(vars.map((v) => v.name()))] as const
    })
    expect(out).toBe("ran 3 steps")
    expect(names).toEqual(["A", "B"])
  })

  it("surfaces an exec failure as the SDK's ExecError with command, exit code, stdout and stderr", async () => {
    double.setScript([
      {
        leaf: "stdout",
        when: (c) => hasLink(c, "withExec"),
        value: execError({ exitCode: 2, stdout: "partial output", stderr: "terraform: state lock held" }),
      },
    ])
    const err = await withDouble(double, () => dag.container().from("hashicorp/terraform:1.9.8").withExec(["terraform", "apply"]).stdout()).catch(
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(ExecError)
    const e = err as ExecError
    expect(e.exitCode).toBe(2)
    expect(e.stdout).toBe("partial output")
    expect(e.stderr).toBe("terraform: state lock held")
    expect(e.cmd).toEqual(["terraform", "apply"])
    expect(e.message).toBe('process "terraform apply" did not complete successfully: exit code: 2')
  })

  it("answers a plain engine error as a GraphQLRequestError", async () => {
    double.setScript([{ leaf: "publish", value: engineError("registry said 401 unauthorized") }])
    const run = withDouble(double, () => dag.container().from("alpine:3.20").publish("registry.invalid/x:1"))
    await expect(run).rejects.toThrow(GraphQLRequestError)
    await expect(run).rejects.toThrow("registry said 401 unauthorized")
  })
})

describe("exec view and ordering", () => {
  it("lists each exec once with its image, env, secret env, mounts and workdir", async () => {
    double.setScript([{ leaf: "stdout", value: "" }])
    await withDouble(double, async () => {
      const token = dag.setSecret("registry-token", "tok-123456")
      const c = dag
        .container()
        .from("alpine:3.20")
        .withEnvVariable("A", "1")
        .withEnvVariable("B", "2")
        .withoutEnvVariable("B")
        .withSecretVariable("TOKEN", token)
        .withMountedDirectory("/src", dag.directory().withNewFile("x", "y"))
        .withMountedCache("/cache", dag.cacheVolume("trivy-db"))
        .withWorkdir("/src")
        .withExec(["make", "test"])
      await c.stdout()
      await c.withExec(["make", "lint"]).stdout()
    })
    const execs = double.execs()
    expect(execs.map((e) => e.args)).toEqual([["make", "test"], ["make", "lint"]])
    const [first] = execs
    expect(first?.image).toBe("alpine:3.20")
    expect(first?.env).toEqual({ A: "1" })
    expect(Object.keys(first?.secretEnv ?? {})).toEqual(["TOKEN"])
    expect(fields(first?.secretEnv["TOKEN"] ?? [])).toEqual(["setSecret"])
    expect(first?.workdir).toBe("/src")
    expect(first?.mounts.map((m) => [m.op, m.path, fields(m.source ?? [])])).toEqual([
      ["withMountedDirectory", "/src", ["directory", "withNewFile"]],
      ["withMountedCache", "/cache", ["cacheVolume"]],
    ])
  })

  it("orders execs by when a leaf made them run: the scan ran on the tarball before publish", async () => {
    double.setScript([
      { leaf: "stdout", value: "no findings" },
      { leaf: "publish", value: "registry.invalid/app@sha256:0000" },
    ])
    await withDouble(double, async () => {
      const image = dag.container().from("node:20-alpine").withExec(["npm", "ci"])
      const scan = dag.container().from("aquasec/trivy:0.56.2").withMountedFile("/image.tar", image.asTarball()).withExec(["trivy", "image", "--input", "/image.tar"])
      await scan.stdout()
      await image.publish("registry.invalid/app:1")
    })
    const trivy = double.execs().find((e) => e.args[0] === "trivy")
    const npm = double.execs().find((e) => e.args[0] === "npm")
    const publish = double.calls.find((c) => c.leaf === "publish")
    expect(trivy?.ranSeq).toBeDefined()
    expect(publish).toBeDefined()
    expect(trivy?.ranSeq ?? Infinity).toBeLessThan(publish?.seq ?? -Infinity)
    // The build exec ran as part of the scan (through the tarball argument), i.e. also before publish.
    expect(npm?.ranSeq).toBe(trivy?.ranSeq)
    expect(trivy?.mounts[0]?.source && fields(trivy.mounts[0].source)).toEqual(["container", "from", "withExec", "asTarball"])
  })

  it("does not count an exec as run when only its id was taken", async () => {
    await withDouble(double, () => dag.container().from("alpine:3.20").withExec(["rm", "-rf", "/"]).id())
    const [rm] = double.execs()
    expect(rm?.args).toEqual(["rm", "-rf", "/"])
    expect(rm?.ranSeq).toBeUndefined()
  })

  it("reads an exec's exit code when the code asks not to fail (expect: ANY)", async () => {
    double.setScript([{ leaf: "exitCode", when: (c) => hasLink(c, "withExec", (a) => a["expect"] === "ANY"), value: 3 }])
    const code = await withDouble(double, () => dag.container().from("alpine:3.20").withExec(["false"], { expect: ReturnType.Any }).exitCode())
    expect(code).toBe(3)
    expect(double.execs()[0]?.options).toEqual({ expect: "ANY" })
  })
})

describe("secrets", () => {
  it("answers plaintext for setSecret and finds no leak when secrets travel as secrets", async () => {
    const plain = await withDouble(double, async () => {
      const s = dag.setSecret("api", "p4ssw0rd-value")
      double.setScript([{ leaf: "stdout", value: "" }])
      await dag.container().from("alpine:3.20").withSecretVariable("API", s).withExec(["deploy"]).stdout()
      return await s.plaintext()
    })
    expect(plain).toBe("p4ssw0rd-value")
    expect(double.secretPlaintexts()).toEqual(["p4ssw0rd-value"])
    expect(double.secretLeaks()).toEqual([])
  })

  it("reports a plaintext that reached withEnvVariable or exec args", async () => {
    double.setScript([{ leaf: "stdout", value: "" }])
    const secret = double.secret("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-example")
    await withDouble(double, async () => {
      const plain = await dag.loadSecretFromID(secret.id as Parameters<typeof dag.loadSecretFromID>[0]).plaintext()
      await dag.container().from("amazon/aws-cli:2.22.0").withEnvVariable("AWS_SECRET_ACCESS_KEY", plain).withExec(["aws", "--secret", plain]).stdout()
    })
    const leaks = double.secretLeaks()
    expect(leaks.map((l) => l.field)).toEqual(["withEnvVariable", "withExec"])
    expect(leaks[0]?.path).toContain("withEnvVariable")
  })
})

describe("host directories", () => {
  it("answers reads of a hostDirectory from the real disk", async () => {
    const repo = double.hostDirectory(repoRoot)
    const [json, entries, exists] = await withDouble(double, async () => {
      const dir = dag.loadDirectoryFromID(repo.id as DirectoryID)
      return [await dir.file("dagger.json").contents(), await dir.directory("test").entries(), await dir.exists("nope.txt")]
    })
    expect(JSON.parse(json as string)).toMatchObject({ name: "portfolio-pipeline", source: "dagger" })
    expect(entries).toEqual(expect.arrayContaining(["harness/", "support/"]))
    expect(exists).toBe(false)
  })

  it("leaves out what the directory's exclude patterns ignore, as the engine does when it uploads", async () => {
    const repo = double.hostDirectory(repoRoot, { exclude: ["**/node_modules", ".git"] })
    const [top, nested, gitExists] = await withDouble(double, async () => {
      const dir = dag.loadDirectoryFromID(repo.id as DirectoryID)
      return [await dir.entries(), await dir.directory("dagger").entries(), await dir.exists(".git/HEAD")]
    })
    expect(top).toEqual(expect.arrayContaining(["dagger/", "test/"]))
    expect(top).not.toContain("node_modules/")
    expect(top).not.toContain(".git/")
    expect(nested).not.toContain("node_modules/")
    expect(gitExists).toBe(false)
    const missing = withDouble(double, () => dag.loadDirectoryFromID(repo.id as DirectoryID).file("node_modules/graphql/package.json").contents())
    await expect(missing).rejects.toThrow(/does not exist \(or is excluded/)
  })
})

// Through the SDK's real module entrypoint, in a child process: slow (a TypeScript scan of the module).
const echoModule = { dir: join(repoRoot, "test", "fixtures", "echo-module"), name: "echo-module" }

describe("callFunction drives a module function end to end through the SDK entrypoint", () => {
  it("decodes string, enum and default arguments, runs the constructor first and returns the value", async () => {
    double.setScript([{ leaf: "stdout", when: (c) => hasLink(c, "withExec"), value: "HELLO\nHELLO\n" }])
    const r = await callFunction(double, { fn: "echo", args: { message: "hello", volume: "Loud", times: 2 }, module: echoModule })
    expect(r.error).toBeUndefined()
    expect(r.result).toBe("HELLO\nHELLO\n")
    // The constructor ran with its default image and the contextual directory from the repository.
    expect(r.parentState).toMatchObject({ image: "alpine:3.20" })
    const [exec] = double.execs()
    expect(exec?.image).toBe("alpine:3.20")
    expect(exec?.args.slice(-2)).toEqual(["2", "HELLO"])
    // What the entrypoint asked the double, as `dagger call` would have answered it.
    expect(r.calls.map((c) => c.leaf)).toEqual(expect.arrayContaining(["name", "parentName", "parent", "value", "returnValue"]))
  }, 180_000)

  it("passes a Secret and a contextual Directory as ids; the secret stays a secret", async () => {
    double.setScript([{ leaf: "stdout", value: "uploaded" }])
    const token = double.secret("UPLOAD_TOKEN", "tok-do-not-leak-42")
    const r = await callFunction(double, { fn: "upload", args: { token }, module: echoModule })
    expect(r.error).toBeUndefined()
    expect(r.result).toBe("uploaded")
    const [exec] = double.execs()
    expect(exec?.args).toEqual(["upload", "--to", "https://upload.invalid", "/src"])
    expect(exec?.secretEnv["UPLOAD_TOKEN"]).toEqual(token.chain)
    expect(exec?.mounts[0]?.source).toEqual([
      { field: "host", args: {} },
      { field: "directory", args: { path: echoModule.dir } },
    ])
    expect(Object.keys(exec?.env ?? {})).toEqual(["CACHE_BUSTER"])
    expect(double.secretLeaks()).toEqual([])
  }, 180_000)

  it("returns a Container as its id, whose chain the test can inspect", async () => {
    const r = await callFunction(double, {
      fn: "build",
      module: echoModule,
      parentState: { image: "node:20-alpine", source: double.hostDirectory(echoModule.dir).id },
    })
    expect(fields(r.resultChain ?? [])).toEqual(["container", "from", "withDirectory", "withWorkdir"])
    expect(r.resultChain?.[1]?.args).toEqual({ address: "node:20-alpine" })
  }, 180_000)

  it("returns a failing exec as the function's error with exit code and stderr, and the entrypoint exits 1", async () => {
    double.setScript([{ leaf: "stdout", value: execError({ exitCode: 127, stderr: "sh: upload: not found" }) }])
    const r = await callFunction(double, { fn: "upload", args: { token: double.secret("T", "xyzw-secret") }, module: echoModule })
    expect(r.result).toBeUndefined()
    expect(r.error?.message).toBe('process "upload --to https://upload.invalid /src" did not complete successfully: exit code: 127')
    expect(r.error?.values).toMatchObject({ exitCode: 127, stderr: "sh: upload: not found" })
    expect(r.exitCode).toBe(1)
  }, 180_000)

  it("reads files of the contextual directory from disk", async () => {
    const r = await callFunction(double, { fn: "read", args: { path: "index.ts" }, module: echoModule })
    expect(r.result).toEqual(expect.stringContaining("export class EchoModule"))
  }, 180_000)

  it("shares a warm process between calls unless freshProcess is asked for, as the real runtime does", async () => {
    const warm1 = await callFunction(double, { fn: "invocation-count", module: echoModule })
    const warm2 = await callFunction(double, { fn: "invocation-count", module: echoModule })
    expect(warm2.result).toBe(Number(warm1.result) + 1)
    const fresh1 = await callFunction(double, { fn: "invocation-count", module: echoModule, freshProcess: true })
    const fresh2 = await callFunction(double, { fn: "invocation-count", module: echoModule, freshProcess: true })
    expect([fresh1.result, fresh2.result]).toEqual([1, 1])
  }, 300_000)

  it("refuses unknown functions and arguments before starting anything", async () => {
    await expect(callFunction(double, { fn: "shout", module: echoModule })).rejects.toThrow(/has no function "shout"; it has echo, upload, exit-code, build, invocation-count, read/)
    await expect(callFunction(double, { fn: "echo", args: { message: "x", loud: true }, module: echoModule })).rejects.toThrow(/has no argument "loud"/)
    await expect(callFunction(double, { fn: "echo", module: echoModule })).rejects.toThrow(/needs --message/)
  })
})

describe("callFunction on the real module (dagger/src)", () => {
  it("loads every module file in the SDK entrypoint and constructs the main object with the repository as --source", async () => {
    const r = await callFunction(double, { fn: "" })
    expect(r.error).toBeUndefined()
    const state = r.parentState as { source?: string }
    expect(typeof state.source).toBe("string")
    expect(double.resolve(state.source ?? "")).toEqual([
      { field: "host", args: {} },
      { field: "directory", args: { path: repoRoot, exclude: ["**/node_modules", ".git", ".tools", "**/.terraform"] } },
    ])
  }, 300_000)
})
