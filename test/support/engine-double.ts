// Engine double: a local HTTP server that speaks the Dagger engine's GraphQL protocol to the SDK's real
// client, so module code runs unmodified without an engine.
//
// How it works (facts in /work/shared/design.md, "Engine double"):
// - The SDK sends one straight chain per awaited leaf, every argument inlined:
//   `{ container { from(address: "alpine") { withExec(args: [...]) { stdout } } } }`. Objects passed as
//   arguments were first resolved to an `id`, and ids come back as `node(id: "...") { ... on T { ... } }`.
// - The double parses each query with graphql's `parse`, walks the selection and records every leaf as a
//   chain of `{ field, args }` links. `node(id:)` is replaced by the chain that produced the id, so every
//   recorded chain is complete from the root (container → from → withExec → ... → stdout).
// - `id` and `sync` get opaque ids. Every other leaf is answered by the test's script; an unscripted leaf
//   is a GraphQL error naming the chain (and is listed in `double.unscripted` in case the code swallowed it).
// - `execError(...)` answers make the SDK throw its real `ExecError`.
// - Built in: secrets made with `setSecret` / `double.secret()` answer `plaintext`; directories made with
//   `double.hostDirectory(path)` answer reads (`contents`, `entries`, `exists`...) from the real disk; and
//   the module-runtime protocol (`currentModule`, `currentFunctionCall`, `returnValue`/`returnError`) used
//   by `callFunction`, which runs the SDK's real module entrypoint in a child process.
//
// Tests assert on recorded chains (`calls`, `findChains`, `execs()`, sequence numbers), never on query text
// or id order.
import { spawn, type ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo, Socket } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import {
  Kind,
  parse,
  valueFromASTUntyped,
  type FieldNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql"
import {
  clientGenFile,
  introspectModule,
  registeredDefault,
  repoRoot,
  resolveModule,
  sdkDir,
  toKebab,
  type ArgumentDef,
  type FunctionDef,
  type ModuleTypedefs,
  type ObjectDef,
  constructorOf,
} from "./introspect.js"
import { runtimeNodePath } from "../tools/paths.js"

// ---------------------------------------------------------------------------------------------------
// Recorded data

/** JSON-like value as parsed from a GraphQL literal (enums arrive as their name, a string). */
export type GqlValue = string | number | boolean | null | GqlValue[] | { [key: string]: GqlValue }

/** One step of a call chain. `index` marks the i-th element of a list-of-objects field. */
export interface Link {
  field: string
  args: Record<string, GqlValue>
  index?: number
}

export type Chain = readonly Link[]

/** One resolved leaf: the complete chain (root first, the leaf link last). */
export interface LeafCall {
  /** Monotonic across the double's lifetime: the order leaves were resolved in. */
  seq: number
  chain: Chain
  /** The leaf's field name (`stdout`, `id`, `sync`, ...). */
  leaf: string
  /** Human-readable chain, e.g. `container.from(address: "alpine").withExec(args: ["ls"]).stdout`. */
  path: string
  /** What the double answered (for `id`/`sync`: the id). Undefined when it answered an error. */
  answer?: unknown
  /** The error message, when the leaf was answered with an error. */
  error?: string
}

/**
 * What a script sees for a leaf (or, with `list: true`, for a field that may be a list of objects).
 * It is the chain itself (an array of links, so `(chain) => ...` scripts work) with the details attached.
 */
export type LeafQuery = Chain & {
  chain: Chain
  leaf: string
  /** The leaf's own arguments. */
  args: Record<string, GqlValue>
  path: string
  /**
   * True when the double asks whether `leaf` is a list-of-objects field (the SDK selects `{ id }` below
   * such fields). Answer with an array to make it one (one element per entry; plain-object entries answer
   * their elements' leaves, e.g. `[{ name: "a" }]`), or undefined to treat it as a single object.
   */
  list: boolean
  /** The double itself, for scripts that need to resolve ids in arguments. */
  double: EngineDouble
}

export interface ExecErrorAnswer {
  readonly kind: "exec-error"
  cmd?: string[]
  exitCode: number
  stdout: string
  stderr: string
  message?: string
}

export interface EngineErrorAnswer {
  readonly kind: "engine-error"
  message: string
  extensions?: Record<string, unknown>
}

const ANSWER_TAG = Symbol("engine-double-answer")

/** Answer a leaf with a failing exec: the SDK throws `ExecError` with these fields. `cmd` defaults to the last withExec's args. */
export function execError(e: { exitCode: number; stdout?: string; stderr?: string; cmd?: string[]; message?: string }): ExecErrorAnswer {
  return Object.assign({ kind: "exec-error" as const, stdout: "", stderr: "", ...e }, { [ANSWER_TAG]: true })
}

/** Answer a leaf with a plain engine error (the SDK throws `GraphQLRequestError`). */
export function engineError(message: string, extensions?: Record<string, unknown>): EngineErrorAnswer {
  return Object.assign({ kind: "engine-error" as const, message, extensions }, { [ANSWER_TAG]: true })
}

function isErrorAnswer(v: unknown): v is ExecErrorAnswer | EngineErrorAnswer {
  return typeof v === "object" && v !== null && ANSWER_TAG in v
}

/**
 * A script entry: answers leaf `leaf` when `when(chain)` holds (default: always). `value` may be a
 * function of the query. `times` limits how often it matches (then later entries get their turn).
 * Entries are tried in order; the first match wins.
 */
export interface Matcher {
  leaf: string
  when?: (chain: Chain, query: LeafQuery) => boolean
  value: unknown
  times?: number
}

/**
 * A function answering leaves (undefined = "not mine"; it is also asked, with `list: true`, about fields
 * whose sub-selection is `{ id }`: answer those only with an array), or a list of matchers.
 */
export type ScriptFn = (query: LeafQuery) => unknown
export type Script = ScriptFn | Matcher[]

/** A value a test can pass as an object argument (Directory, Secret, ...): an id the double minted. */
export interface ObjectRef {
  readonly id: string
  readonly chain: Chain
}

// ---------------------------------------------------------------------------------------------------
// Exec view

export interface MountInfo {
  /** The chain field, e.g. withMountedDirectory, withDirectory, withMountedSecret, withMountedCache, withFile. */
  op: string
  path: string
  /** Chain behind the object argument (directory/source/file/secret/cache), if it was an id. */
  source?: Chain
  args: Record<string, GqlValue>
}

export interface ExecInfo {
  /** withExec's `args`. */
  args: string[]
  /** withExec's other arguments (expect, useEntrypoint, ...). */
  options: Record<string, GqlValue>
  /** Last `from(address:)` before the exec. */
  image?: string
  /** Plain env vars in effect (withEnvVariable minus withoutEnvVariable). */
  env: Record<string, string>
  /** Secret env vars in effect: name → the chain that made the secret. */
  secretEnv: Record<string, Chain>
  mounts: MountInfo[]
  workdir?: string
  user?: string
  /** The chain up to and including this withExec. */
  chain: Chain
  /** seq of the first leaf whose chain contains this exec (including `id`, which does not run it). */
  firstSeenSeq: number
  /**
   * seq of the first leaf that makes the engine run it: a non-`id` leaf whose chain contains the exec,
   * directly or through an object argument. Undefined if only ids were taken (then it never ran).
   */
  ranSeq?: number
}

// ---------------------------------------------------------------------------------------------------

export interface EngineDoubleOptions {
  script?: Script
  /** Session token the client must present (default: random). */
  token?: string
}

export interface EngineDouble {
  port: number
  token: string
  /** Every resolved leaf, in order. */
  readonly calls: readonly LeafCall[]
  /** Leaves nobody scripted (each also failed the query that asked for it). */
  readonly unscripted: readonly LeafCall[]
  /** Replace or extend the script between calls. */
  setScript(script: Script): void
  addScript(script: Script): void
  /** Leaf calls whose chain satisfies pred. */
  findChains(pred: (chain: Chain, call: LeafCall) => boolean): LeafCall[]
  /** Every distinct withExec reached by any recorded chain (in order of first appearance). */
  execs(): ExecInfo[]
  /** The chain an id stands for (throws if the double never minted it). */
  resolve(id: string): Chain
  /** Mint an id standing for an arbitrary chain (e.g. an object argument for callFunction). */
  ref(chain: Chain): ObjectRef
  /** A Secret as `dagger call --x=env://NAME` would make it; `plaintext` answers `value`. */
  secret(name: string, value: string): ObjectRef
  /** A Directory backed by a real local directory: `contents`, `entries`, `exists`, `glob`, `size`, `name` read the disk. */
  hostDirectory(path: string, opts?: { exclude?: string[] }): ObjectRef
  /** Every plaintext the double knows (setSecret plaintexts and `secret()` values). */
  secretPlaintexts(): string[]
  /** Recorded arguments that contain a known secret plaintext (outside setSecret itself). Should be []. */
  secretLeaks(): { seq: number; path: string; field: string; value: string }[]
  /** Forget recorded calls (ids stay valid). */
  reset(): void
  close(): Promise<void>
  /** @internal used by callFunction */
  _session: FunctionSession | undefined
}

/** Chain rendering used in paths and error messages. */
export function renderChain(chain: Chain): string {
  return chain
    .map((l) => {
      const args = Object.entries(l.args)
      const a = args.length ? `(${args.map(([k, v]) => `${k}: ${shorten(JSON.stringify(v))}`).join(", ")})` : ""
      return `${l.field}${a}${l.index !== undefined ? `[${l.index}]` : ""}`
    })
    .join(".")
}

function shorten(s: string): string {
  return s.length > 120 ? `${s.slice(0, 117)}...` : s
}

/** The field names of a chain, e.g. ["container", "from", "withExec", "stdout"]. */
export function fields(chain: Chain): string[] {
  return chain.map((l) => l.field)
}

/** True if the chain has a link with this field (and, if given, args satisfying pred). */
export function hasLink(chain: Chain, field: string, pred?: (args: Record<string, GqlValue>) => boolean): boolean {
  return chain.some((l) => l.field === field && (!pred || pred(l.args)))
}

const chainKey = (chain: Chain): string => JSON.stringify(chain)

function collectStrings(v: GqlValue, out: string[]): string[] {
  if (typeof v === "string") out.push(v)
  else if (Array.isArray(v)) v.forEach((x) => collectStrings(x, out))
  else if (v !== null && typeof v === "object") Object.values(v).forEach((x) => collectStrings(x, out))
  return out
}

interface Origin {
  chain: Chain
  /** Answers for the element's own leaves (list elements from a script). */
  record?: Record<string, unknown>
}

class DoubleError extends Error {
  constructor(
    message: string,
    readonly extensions?: Record<string, unknown>,
  ) {
    super(message)
  }
}

/** Start an engine double on a loopback port. Close it in afterEach/afterAll. */
export async function startEngineDouble(opts: EngineDoubleOptions = {}): Promise<EngineDouble> {
  const token = opts.token ?? randomBytes(16).toString("hex")
  const scripts: Script[] = opts.script ? [opts.script] : []
  const matcherUses = new Map<Matcher, number>()
  const calls: LeafCall[] = []
  const unscripted: LeafCall[] = []
  const ids = new Map<string, Origin>()
  const idByKey = new Map<string, string>()
  const plaintexts = new Map<string, string>() // chain key of a secret → plaintext
  const hostDirs = new Map<string, { path: string; exclude: string[] }>() // chain key → disk path
  let seq = 0
  let idCounter = 0

  const mint = (origin: Origin, fresh = false): string => {
    const key = chainKey(origin.chain)
    if (!fresh) {
      const existing = idByKey.get(key)
      if (existing) return existing
    }
    const id = `dbl_${randomBytes(6).toString("hex")}_${++idCounter}`
    ids.set(id, origin)
    if (!fresh) idByKey.set(key, id)
    return id
  }

  const resolveId = (id: string): Origin => {
    const origin = ids.get(id)
    if (!origin) throw new DoubleError(`engine double: unknown id ${JSON.stringify(id)} (not minted by this double)`)
    return origin
  }

  const record = (chain: Chain, answer: unknown, error?: string): LeafCall => {
    const last = chain[chain.length - 1]
    const call: LeafCall = { seq: ++seq, chain, leaf: last?.field ?? "", path: renderChain(chain), answer, error }
    calls.push(call)
    return call
  }

  const double: EngineDouble = {
    port: 0,
    token,
    calls,
    unscripted,
    _session: undefined,
    setScript(script) {
      scripts.length = 0
      scripts.push(script)
    },
    addScript(script) {
      scripts.push(script)
    },
    findChains(pred) {
      return calls.filter((c) => pred(c.chain, c))
    },
    execs() {
      return computeExecs(calls, (id) => ids.get(id)?.chain)
    },
    resolve(id) {
      return resolveId(id).chain
    },
    ref(chain) {
      const id = mint({ chain })
      return { id, chain }
    },
    secret(name, value) {
      const chain: Chain = [{ field: "secret", args: { uri: `env://${name}` } }]
      plaintexts.set(chainKey(chain), value)
      return double.ref(chain)
    },
    hostDirectory(path, o = {}) {
      const abs = resolve(path)
      const args: Record<string, GqlValue> = { path: abs }
      if (o.exclude?.length) args["exclude"] = o.exclude
      const chain: Chain = [{ field: "host", args: {} }, { field: "directory", args }]
      hostDirs.set(chainKey(chain), { path: abs, exclude: o.exclude ?? [] })
      return double.ref(chain)
    },
    secretPlaintexts() {
      const found = new Set(plaintexts.values())
      const fromChain = (chain: Chain): void => {
        for (const l of chain) if (l.field === "setSecret" && typeof l.args["plaintext"] === "string") found.add(l.args["plaintext"])
      }
      calls.forEach((c) => fromChain(c.chain))
      ids.forEach((o) => fromChain(o.chain))
      return [...found]
    },
    secretLeaks() {
      const secrets = double.secretPlaintexts().filter((s) => s.length >= 4)
      const leaks: { seq: number; path: string; field: string; value: string }[] = []
      for (const c of calls) {
        for (const l of c.chain) {
          if (l.field === "setSecret") continue
          for (const s of collectStrings(l.args, [])) {
            if (secrets.some((p) => s.includes(p))) leaks.push({ seq: c.seq, path: c.path, field: l.field, value: s })
          }
        }
      }
      return leaks
    },
    reset() {
      calls.length = 0
      unscripted.length = 0
    },
    close() {
      return new Promise((res) => {
        server.closeAllConnections()
        server.close(() => res())
      })
    },
  }

  // --- answering ------------------------------------------------------------------------------------

  const askScripts = (q: LeafQuery): unknown => {
    for (const script of scripts) {
      if (typeof script === "function") {
        const v = script(q)
        if (v !== undefined && (!q.list || Array.isArray(v) || isErrorAnswer(v))) return v
        continue
      }
      for (const m of script) {
        if (m.leaf !== q.leaf) continue
        if (m.when && !m.when(q.chain, q)) continue
        const used = matcherUses.get(m) ?? 0
        if (m.times !== undefined && used >= m.times) continue
        const v = typeof m.value === "function" ? (m.value as (q: LeafQuery) => unknown)(q) : m.value
        // A list probe only takes arrays (and errors): any other answer is meant for a leaf.
        if (v === undefined || (q.list && !Array.isArray(v) && !isErrorAnswer(v))) continue
        matcherUses.set(m, used + 1)
        return v
      }
    }
    return undefined
  }

  /** Built-in answers: secrets, host directories, the function-call protocol. */
  const builtin = (chain: Chain, leaf: Link, list: boolean): unknown => {
    const parent = chain.slice(0, -1)
    if (!list && leaf.field === "plaintext") {
      const p = plaintextOf(parent)
      if (p !== undefined) return p
    }
    if (!list) {
      const disk = hostRead(parent, leaf)
      if (disk !== undefined) return disk
    }
    if (double._session) return double._session.answer(chain, leaf, list, double)
    return undefined
  }

  const plaintextOf = (secretChain: Chain): string | undefined => {
    const direct = plaintexts.get(chainKey(secretChain))
    if (direct !== undefined) return direct
    const last = secretChain[secretChain.length - 1]
    if (secretChain.length === 1 && last?.field === "setSecret" && typeof last.args["plaintext"] === "string") {
      return last.args["plaintext"]
    }
    return undefined
  }

  const hostRead = (parent: Chain, leaf: Link): unknown => {
    // Find the longest prefix that is a registered host directory, then walk directory()/file() links.
    for (let i = parent.length; i > 0; i--) {
      const base = hostDirs.get(chainKey(parent.slice(0, i)))
      if (!base) continue
      let path = base.path
      let isFile = false
      for (const l of parent.slice(i)) {
        if ((l.field === "directory" || l.field === "file") && typeof l.args["path"] === "string" && !isFile) {
          path = join(path, l.args["path"])
          isFile = l.field === "file"
        } else {
          return undefined // any other operation (withNewFile, ...) changes the content: leave it to scripts
        }
      }
      return readHost(path, isFile, leaf, excludedBy(base.path, base.exclude))
    }
    return undefined
  }

  const answerLeaf = (origin: Origin, chain: Chain, leaf: Link, list: boolean): unknown => {
    if (!list && origin.record && Object.hasOwn(origin.record, leaf.field) && chain.length === origin.chain.length + 1) {
      return origin.record[leaf.field]
    }
    const q: LeafQuery = Object.assign([...chain], { chain, leaf: leaf.field, args: leaf.args, path: renderChain(chain), list, double })
    const b = builtin(chain, leaf, list)
    if (b !== undefined) return b
    return askScripts(q)
  }

  const execCmdOf = (chain: Chain): string[] => {
    for (let i = chain.length - 1; i >= 0; i--) {
      const l = chain[i]
      if (l?.field === "withExec" && Array.isArray(l.args["args"])) return l.args["args"].map(String)
    }
    return []
  }

  const toGraphqlError = (chain: Chain, v: ExecErrorAnswer | EngineErrorAnswer): DoubleError => {
    if (v.kind === "exec-error") {
      const cmd = v.cmd ?? execCmdOf(chain)
      const message = v.message ?? `process "${cmd.join(" ")}" did not complete successfully: exit code: ${v.exitCode}`
      return new DoubleError(message, { _type: "EXEC_ERROR", cmd, exitCode: v.exitCode, stdout: v.stdout, stderr: v.stderr })
    }
    return new DoubleError(v.message, v.extensions)
  }

  const walk = (sel: SelectionSetNode, origin: Origin, vars: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = {}
    for (const s of sel.selections) {
      if (s.kind === Kind.INLINE_FRAGMENT) {
        Object.assign(out, walk(s.selectionSet, origin, vars))
        continue
      }
      if (s.kind !== Kind.FIELD) throw new DoubleError(`engine double: fragment spreads are not supported`)
      out[s.alias?.value ?? s.name.value] = walkField(s, origin, vars)
    }
    return out
  }

  const argsOf = (f: FieldNode, vars: Record<string, unknown>): Record<string, GqlValue> => {
    const args: Record<string, GqlValue> = {}
    for (const a of f.arguments ?? []) args[a.name.value] = valueFromASTUntyped(a.value, vars) as GqlValue
    return args
  }

  const walkField = (f: FieldNode, origin: Origin, vars: Record<string, unknown>): unknown => {
    const name = f.name.value
    const args = argsOf(f, vars)
    // node(id:) / loadXFromID(id:): continue from the chain that produced the id.
    if ((name === "node" || /^load[A-Za-z]+FromID$/.test(name)) && typeof args["id"] === "string" && f.selectionSet) {
      return walk(f.selectionSet, resolveId(args["id"]), vars)
    }
    const link: Link = { field: name, args }
    const chain: Chain = [...origin.chain, link]
    if (!f.selectionSet) return resolveLeaf(origin, chain, link)
    const onlyId = f.selectionSet.selections.length === 1 && isField(f.selectionSet.selections[0], "id")
    if (onlyId) {
      const listAnswer = answerLeaf(origin, chain, link, true)
      if (Array.isArray(listAnswer)) {
        const items = listAnswer.map((item, index) => {
          const elemChain: Chain = [...origin.chain, { ...link, index }]
          const rec = typeof item === "object" && item !== null && !Array.isArray(item) ? (item as Record<string, unknown>) : undefined
          const id = mint({ chain: elemChain, record: rec }, true)
          record([...elemChain, { field: "id", args: {} }], id)
          return { id }
        })
        return items
      }
      if (isErrorAnswer(listAnswer)) {
        record(chain, undefined, listAnswer.kind)
        throw toGraphqlError(chain, listAnswer)
      }
    }
    return walk(f.selectionSet, { chain }, vars)
  }

  const resolveLeaf = (origin: Origin, chain: Chain, link: Link): unknown => {
    const parent = chain.slice(0, -1)
    if (link.field === "id") {
      const scripted = answerLeaf(origin, chain, link, false)
      if (typeof scripted === "string") {
        record(chain, scripted)
        return scripted
      }
      const id = origin.record && parent.length === origin.chain.length ? mint(origin) : mint({ chain: parent })
      record(chain, id)
      return id
    }
    const v = answerLeaf(origin, chain, link, false)
    if (link.field === "sync" && (v === undefined || v === null)) {
      const id = mint({ chain: parent })
      record(chain, id)
      return id
    }
    if (isErrorAnswer(v)) {
      const err = toGraphqlError(chain, v)
      record(chain, undefined, err.message)
      throw err
    }
    if (v === undefined) {
      const call = record(chain, undefined, "unscripted")
      unscripted.push(call)
      throw new DoubleError(
        `engine double: no script answers leaf "${link.field}" of ${call.path} — add e.g. { leaf: "${link.field}", when: (chain) => ..., value: ... } to the test's script`,
      )
    }
    record(chain, v)
    return v
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" })
      res.end(JSON.stringify(body))
    }
    if (req.method !== "POST" || !req.url?.startsWith("/query")) return send(404, { error: "engine double: POST /query only" })
    const expected = `Basic ${Buffer.from(`${token}:`).toString("base64")}`
    if (req.headers.authorization !== expected) return send(401, { error: "engine double: wrong or missing session token" })
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    let body: { query?: string; variables?: Record<string, unknown> }
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof body
    } catch (e) {
      return send(400, { errors: [{ message: `engine double: body is not JSON: ${(e as Error).message}` }] })
    }
    try {
      const doc = parse(body.query ?? "")
      const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)
      if (!op) throw new DoubleError("engine double: no operation in query")
      const data = walk(op.selectionSet, { chain: [] }, body.variables ?? {})
      send(200, { data })
    } catch (e) {
      const err = e instanceof DoubleError ? e : new DoubleError(`engine double: ${(e as Error).message}`)
      send(200, { data: null, errors: [{ message: err.message, extensions: err.extensions ?? {} }] })
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      res.writeHead(500)
      res.end(String(e))
    })
  })
  // The SDK's client keeps connections alive and may stay idle for seconds (the entrypoint scans the
  // module between two queries); a server-side idle timeout would reset a socket it is about to reuse.
  server.keepAliveTimeout = 0
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", () => res()))
  double.port = (server.address() as AddressInfo).port
  return double
}

function isField(s: SelectionSetNode["selections"][number] | undefined, name: string): boolean {
  return s?.kind === Kind.FIELD && s.name.value === name && !s.selectionSet
}

/**
 * A predicate telling whether an absolute path was left out of a contextual directory by its `ignore`
 * patterns (the engine never uploads those, so they do not exist inside the module).
 */
function excludedBy(base: string, patterns: string[]): (abs: string) => boolean {
  const res = patterns.map(globToRegExp)
  return (abs) => {
    const rel = abs === base ? "" : abs.startsWith(`${base}/`) ? abs.slice(base.length + 1) : undefined
    if (rel === undefined || rel === "") return false
    const parts = rel.split("/")
    // Excluded if the path or any of its ancestors matches a pattern.
    return parts.some((_, i) => res.some((re) => re.test(parts.slice(0, i + 1).join("/"))))
  }
}

function readHost(path: string, isFile: boolean, leaf: Link, excluded: (abs: string) => boolean): unknown {
  const arg = (k: string): string | undefined => (typeof leaf.args[k] === "string" ? (leaf.args[k] as string) : undefined)
  const present = (p: string): boolean => existsSync(p) && !excluded(p)
  switch (leaf.field) {
    case "contents":
      if (!isFile) return undefined
      if (!present(path)) return engineError(`host file ${path} does not exist (or is excluded from the directory)`)
      return readFileSync(path, "utf8")
    case "size":
      return present(path) ? statSync(path).size : engineError(`host path ${path} does not exist (or is excluded)`)
    case "name":
      return path.split("/").pop() ?? ""
    case "entries": {
      if (isFile) return undefined
      const dir = arg("path") ? join(path, arg("path") ?? "") : path
      if (!present(dir)) return engineError(`host directory ${dir} does not exist (or is excluded)`)
      return readdirSync(dir)
        .filter((e) => !excluded(join(dir, e)))
        .sort()
        .map((e) => (statSync(join(dir, e)).isDirectory() ? `${e}/` : e))
    }
    case "exists":
      return arg("path") ? present(join(path, arg("path") ?? "")) : present(path)
    case "glob": {
      const pattern = arg("pattern")
      if (isFile || !pattern) return undefined
      const re = globToRegExp(pattern)
      return listRecursive(path).filter((p) => re.test(p) && !excluded(join(path, p.replace(/\/$/, ""))))
    }
    default:
      return undefined
  }
}

function listRecursive(root: string, rel = ""): string[] {
  const out: string[] = []
  for (const e of readdirSync(join(root, rel)).sort()) {
    if (e === "node_modules" || e === ".git") continue
    const p = rel ? `${rel}/${e}` : e
    if (statSync(join(root, p)).isDirectory()) out.push(`${p}/`, ...listRecursive(root, p))
    else out.push(p)
  }
  return out
}

function globToRegExp(glob: string): RegExp {
  let re = ""
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? ""
    if (c === "*" && glob[i + 1] === "*") {
      i++
      // "**/" is zero or more whole directories; a trailing "**" is anything below.
      if (glob[i + 1] === "/") {
        re += "(?:.*/)?"
        i++
      } else re += ".*"
    } else if (c === "*") re += "[^/]*"
    else if (c === "?") re += "[^/]"
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&")
  }
  return new RegExp(`^${re}$`)
}

// ---------------------------------------------------------------------------------------------------
// Exec analysis

const MOUNT_OPS = new Set([
  "withMountedDirectory",
  "withMountedFile",
  "withMountedCache",
  "withMountedSecret",
  "withMountedTemp",
  "withDirectory",
  "withFile",
  "withFiles",
  "withNewFile",
  "withUnixSocket",
])

function computeExecs(calls: readonly LeafCall[], chainOfId: (id: string) => Chain | undefined): ExecInfo[] {
  const execs = new Map<string, ExecInfo>()
  const idChains = (args: Record<string, GqlValue>): Chain[] =>
    collectStrings(args, [])
      .map((s) => chainOfId(s))
      .filter((c): c is Chain => c !== undefined)

  // Every exec prefix of a chain, plus those reachable through object arguments, once.
  const visit = (chain: Chain, seen: Set<string>, onExec: (key: string, prefix: Chain) => void): void => {
    for (let i = 0; i < chain.length; i++) {
      const link = chain[i] as Link
      for (const sub of idChains(link.args)) {
        const k = chainKey(sub)
        if (!seen.has(k)) {
          seen.add(k)
          visit(sub, seen, onExec)
        }
      }
      if (link.field === "withExec") {
        const prefix = chain.slice(0, i + 1)
        onExec(chainKey(prefix), prefix)
      }
    }
  }

  for (const call of calls) {
    const runs = call.leaf !== "id" && call.error === undefined
    visit(call.chain, new Set(), (key, prefix) => {
      let info = execs.get(key)
      if (!info) {
        info = describeExec(prefix, chainOfId, call.seq)
        execs.set(key, info)
      }
      if (runs && info.ranSeq === undefined) info.ranSeq = call.seq
      // An exec answered with an error still "ran": the engine ran it and it failed.
      if (!runs && call.leaf !== "id" && info.ranSeq === undefined) info.ranSeq = call.seq
    })
  }
  return [...execs.values()]
}

function describeExec(prefix: Chain, chainOfId: (id: string) => Chain | undefined, seq: number): ExecInfo {
  const last = prefix[prefix.length - 1] as Link
  const { args: execArgs, ...options } = last.args
  const info: ExecInfo = {
    args: Array.isArray(execArgs) ? execArgs.map(String) : [],
    options,
    env: {},
    secretEnv: {},
    mounts: [],
    chain: prefix,
    firstSeenSeq: seq,
  }
  for (const l of prefix.slice(0, -1)) {
    const a = l.args
    const str = (k: string): string | undefined => (typeof a[k] === "string" ? (a[k] as string) : undefined)
    switch (l.field) {
      case "from":
        info.image = str("address")
        break
      case "withEnvVariable": {
        const n = str("name")
        if (n !== undefined) info.env[n] = str("value") ?? ""
        break
      }
      case "withoutEnvVariable":
        delete info.env[str("name") ?? ""]
        break
      case "withSecretVariable": {
        const n = str("name")
        const id = str("secret")
        if (n !== undefined) info.secretEnv[n] = (id && chainOfId(id)) || []
        break
      }
      case "withoutSecretVariable":
        delete info.secretEnv[str("name") ?? ""]
        break
      case "withWorkdir":
        info.workdir = str("path")
        break
      case "withUser":
        info.user = str("name")
        break
      default:
        if (MOUNT_OPS.has(l.field)) {
          const srcId = ["source", "directory", "file", "secret", "cache"].map(str).find((s) => s && chainOfId(s))
          info.mounts.push({ op: l.field, path: str("path") ?? "", source: srcId ? chainOfId(srcId) : undefined, args: a })
        }
    }
  }
  return info
}

// ---------------------------------------------------------------------------------------------------
// Driving code: in-process with `dag`, or through the SDK's real module entrypoint.

/**
 * Run fn inside the SDK's `connection()` against the double, so `dag` and the module class can be used
 * directly. Sets DAGGER_SESSION_PORT/TOKEN for the duration (restored after): do not run two at once.
 */
export async function withDouble<T>(double: EngineDouble, fn: () => Promise<T>): Promise<T> {
  const saved = { port: process.env["DAGGER_SESSION_PORT"], token: process.env["DAGGER_SESSION_TOKEN"] }
  process.env["DAGGER_SESSION_PORT"] = String(double.port)
  process.env["DAGGER_SESSION_TOKEN"] = double.token
  const { connection } = await import("@dagger.io/dagger")
  let result: T | undefined
  let failed = false
  let failure: unknown
  try {
    await connection(async () => {
      try {
        result = await fn()
      } catch (e) {
        failed = true
        failure = e
      }
    })
  } finally {
    restoreEnv("DAGGER_SESSION_PORT", saved.port)
    restoreEnv("DAGGER_SESSION_TOKEN", saved.token)
  }
  if (failed) throw failure
  return result as T
}

function restoreEnv(k: string, v: string | undefined): void {
  if (v === undefined) delete process.env[k]
  else process.env[k] = v
}

/** An argument value for callFunction: plain JSON values, or an ObjectRef for Directory/File/Secret/... */
export type ArgValue = GqlValue | ObjectRef | undefined

export interface CallFunctionOptions {
  /** Function to call: its TypeScript name (`deployStaging`) or CLI name (`deploy-staging`); "" = only the constructor. */
  fn: string
  /** Arguments by TypeScript or CLI name. Enum values by member name, as the CLI passes them. */
  args?: Record<string, ArgValue>
  /** Constructor arguments (flags given before the function name). */
  constructorArgs?: Record<string, ArgValue>
  /** Skip the constructor call and use this state as the parent object (JSON as the engine stores it). */
  parentState?: Record<string, unknown>
  /** The object the function belongs to. Default: the main object. Other objects need parentState. */
  object?: string
  /** Module sources dir and name. Default: the repository's module (dagger.json). */
  module?: {
    dir: string
    name: string
    /** Where its dagger.json would be: relative default paths start there. Default: dir. */
    root?: string
  }
  /** Kill the entrypoint after this long. Default 240 000 ms (a cold scan of the real module is slow on a busy machine). */
  timeoutMs?: number
  /**
   * Run in a new process, as the real runtime does for every call, instead of the warm runner shared by
   * calls on the same module in this test process (which keeps module-level state between calls). Default false.
   */
  freshProcess?: boolean
}

export interface ReturnedError {
  message: string
  /** withValue(name, value) pairs of the returned Error (e.g. ExecError's cmd, exitCode, stdout, stderr), JSON-decoded. */
  values: Record<string, unknown>
}

export interface CallFunctionResult {
  /** The function's return value, JSON-decoded as the engine would store it (objects → ids/state). */
  result: unknown
  /** When the result is an id the double minted (Container, Directory...): the chain behind it. */
  resultChain?: Chain
  /** The error the function returned through returnError, if any. */
  error?: ReturnedError
  /** The constructor's returned state, when the constructor ran (also for fn ""). */
  parentState?: unknown
  /** All leaves recorded during this call (a slice of double.calls). */
  calls: LeafCall[]
  /** The child's output (the SDK logs there), for debugging failures. */
  stdout: string
  stderr: string
  exitCode: number | null
}

interface Invocation {
  parentName: string
  name: string
  parentJson: string | "from-previous"
  inputArgs: { name: string; value: string }[]
  result?: unknown
  error?: ReturnedError
  done: boolean
}

/** @internal The function-call protocol answered while callFunction runs. */
export class FunctionSession {
  current = 0
  constructor(
    readonly moduleName: string,
    readonly invocations: Invocation[],
  ) {}

  answer(chain: Chain, leaf: Link, list: boolean, double: EngineDouble): unknown {
    const root = chain[0]?.field
    if (root === "currentModule" && chain.length === 2 && leaf.field === "name") return this.moduleName
    if (root !== "currentFunctionCall") return undefined
    const inv = this.invocations[this.current]
    if (!inv) throw new Error("engine double: the entrypoint asked for a function call after the last one returned")
    if (chain.length === 2 && list && leaf.field === "inputArgs") return inv.inputArgs
    if (chain.length !== 2 || list) return undefined
    switch (leaf.field) {
      case "parentName":
        return inv.parentName
      case "name":
        return inv.name
      case "parent":
        if (inv.parentJson === "from-previous") {
          const prev = this.invocations[this.current - 1]
          return JSON.stringify(prev?.result ?? {})
        }
        return inv.parentJson
      case "returnValue": {
        const v = leaf.args["value"]
        inv.result = typeof v === "string" ? (JSON.parse(v) as unknown) : v
        inv.done = true
        this.current++
        return null
      }
      case "returnError": {
        const id = leaf.args["error"]
        inv.error = typeof id === "string" ? decodeError(double.resolve(id)) : { message: String(id), values: {} }
        inv.done = true
        this.current++
        return null
      }
      default:
        return undefined
    }
  }
}

function decodeError(chain: Chain): ReturnedError {
  const err: ReturnedError = { message: "", values: {} }
  for (const l of chain) {
    if (l.field === "error" && typeof l.args["message"] === "string") err.message = l.args["message"]
    if (l.field === "withValue" && typeof l.args["name"] === "string") {
      const raw = l.args["value"]
      try {
        err.values[l.args["name"]] = typeof raw === "string" ? (JSON.parse(raw) as unknown) : raw
      } catch {
        err.values[l.args["name"]] = raw
      }
    }
  }
  return err
}

const runnerPath = join(dirname(fileURLToPath(import.meta.url)), "entrypoint-runner.ts")

function isRef(v: ArgValue): v is ObjectRef {
  return typeof v === "object" && v !== null && !Array.isArray(v) && typeof (v as ObjectRef).id === "string" && Array.isArray((v as ObjectRef).chain)
}

function findArg(defs: Record<string, ArgumentDef>, given: string): ArgumentDef | undefined {
  return defs[given] ?? Object.values(defs).find((a) => toKebab(a.name) === given)
}

/** Encode arguments as the engine does: JSON per argument; objects as their id; primitive defaults filled in. */
function encodeArgs(
  double: EngineDouble,
  typedefs: ModuleTypedefs,
  defs: Record<string, ArgumentDef>,
  given: Record<string, ArgValue>,
  moduleRoot: string,
  where: string,
): { name: string; value: string }[] {
  for (const k of Object.keys(given)) {
    if (!findArg(defs, k)) {
      throw new Error(`callFunction: ${where} has no argument "${k}"; it has ${Object.keys(defs).map((n) => `--${toKebab(n)}`).join(", ") || "none"}`)
    }
  }
  const out: { name: string; value: string }[] = []
  for (const def of Object.values(defs)) {
    const key = Object.keys(given).find((k) => k === def.name || k === toKebab(def.name))
    const v = key !== undefined ? given[key] : undefined
    if (v !== undefined) {
      out.push({ name: def.name, value: JSON.stringify(isRef(v) ? v.id : v) })
      continue
    }
    const registered = registeredDefault(def, typedefs.enums)
    if (registered !== undefined) {
      out.push({ name: def.name, value: registered })
      continue
    }
    if (def.defaultPath) {
      // The engine loads contextual directories from the context (the git root) for absolute paths and
      // from the module's root (where dagger.json is) for relative ones.
      const p = def.defaultPath.startsWith("/") ? join(repoRoot, def.defaultPath) : join(moduleRoot, def.defaultPath)
      if (def.type.name === "Directory") {
        out.push({ name: def.name, value: JSON.stringify(double.hostDirectory(p, { exclude: def.ignore }).id) })
        continue
      }
      if (def.type.name === "File") {
        const dir = double.hostDirectory(dirname(p))
        const file = double.ref([...dir.chain, { field: "file", args: { path: p.split("/").pop() ?? "" } }])
        out.push({ name: def.name, value: JSON.stringify(file.id) })
        continue
      }
    }
    if (!def.isOptional && !def.isNullable && def.defaultValue === undefined) {
      throw new Error(`callFunction: ${where} needs --${toKebab(def.name)} (${def.type.name ?? def.type.kind}); pass it in args`)
    }
  }
  return out
}

function findFunction(obj: ObjectDef, fn: string): FunctionDef | undefined {
  return obj.methods[fn] ?? Object.values(obj.methods).find((f) => toKebab(f.alias ?? f.name) === fn || (f.alias ?? f.name) === fn)
}

/**
 * Call a module function through the SDK's real module entrypoint (in a child process, run by tsx),
 * exactly as `dagger call` does: the entrypoint asks the double for the current module and function call,
 * decodes the arguments, runs the function against the double and returns its value or error.
 * Without parentState the constructor runs first (with constructorArgs; contextual directories come
 * from the repository via hostDirectory), and its state becomes the function's parent.
 */
export async function callFunction(double: EngineDouble, opts: CallFunctionOptions): Promise<CallFunctionResult> {
  if (double._session) throw new Error("callFunction: another call is still running on this double; await it first")
  const mod = opts.module ?? resolveModule()
  const typedefs = await introspectModule(mod)
  const objName = opts.object ?? typedefs.name
  const obj = typedefs.objects[objName]
  if (!obj) throw new Error(`callFunction: module "${mod.name}" has no object ${objName} (objects: ${Object.keys(typedefs.objects).join(", ")})`)
  // fn "" calls only the constructor (its result is the object's state).
  const fn = opts.fn === "" ? undefined : findFunction(obj, opts.fn)
  if (opts.fn !== "" && !fn) {
    throw new Error(`callFunction: ${objName} has no function "${opts.fn}"; it has ${Object.values(obj.methods).map((f) => toKebab(f.alias ?? f.name)).join(", ") || "none"}`)
  }
  // Relative default paths resolve from the module's root (the directory holding dagger.json); absolute
  // ones from the context directory (the git root).
  const moduleRoot = opts.module ? (opts.module.root ?? opts.module.dir) : repoRoot
  const invocations: Invocation[] = []
  if (opts.parentState === undefined) {
    if (objName !== typedefs.name) throw new Error(`callFunction: ${objName} is not the main object; pass parentState`)
    const ctor = constructorOf(obj)
    invocations.push({
      parentName: objName,
      name: "",
      parentJson: "{}",
      inputArgs: ctor ? encodeArgs(double, typedefs, ctor.arguments, opts.constructorArgs ?? {}, moduleRoot, `${objName} constructor`) : [],
      done: false,
    })
  } else if (!fn) {
    throw new Error("callFunction: fn \"\" (the constructor) cannot take parentState")
  }
  if (fn) {
    invocations.push({
      parentName: objName,
      name: fn.alias ?? fn.name,
      parentJson: opts.parentState === undefined ? "from-previous" : JSON.stringify(opts.parentState),
      inputArgs: encodeArgs(double, typedefs, fn.arguments, opts.args ?? {}, moduleRoot, `${toKebab(fn.name)}`),
      done: false,
    })
  }

  const session = new FunctionSession(mod.name, invocations)
  const firstSeq = double.calls.length
  double._session = session
  let child: { stdout: string; stderr: string; exitCode: number | null }
  try {
    child = await runEntrypoint(double, mod.dir, invocations.length, opts.timeoutMs ?? 240_000, opts.freshProcess ?? false)
  } finally {
    double._session = undefined
  }
  const last = invocations[invocations.length - 1] as Invocation
  const failedCtor = invocations.length === 2 && invocations[0]?.error ? invocations[0] : undefined
  const ended = failedCtor ?? last
  if (!ended.done) {
    throw new Error(
      `callFunction: the entrypoint exited (code ${child.exitCode}) without returning a value or an error for ${ended.name || "the constructor"}.\n--- stdout\n${child.stdout}\n--- stderr\n${child.stderr}`,
    )
  }
  const result = failedCtor ? undefined : last.result
  let resultChain: Chain | undefined
  if (typeof result === "string") {
    try {
      resultChain = double.resolve(result)
    } catch {
      resultChain = undefined
    }
  }
  return {
    result,
    resultChain,
    error: ended.error,
    parentState: opts.parentState === undefined ? invocations[0]?.result : undefined,
    calls: double.calls.slice(firstSeq),
    ...child,
  }
}

// Entrypoint runners: child processes (tsx as loader) that run the SDK's entrypoint on request over IPC.
// By default one stays warm per module dir for the life of the test process: the SDK import and the
// module scan (a TypeScript program over the module and every type it imports) are then paid once per
// test file instead of per call. The cost: module-level state survives between calls, unlike the real
// runtime's fresh process per call — pass `freshProcess: true` to get exactly that. A call that returns an
// error ends its runner (the entrypoint exits 1, as in the runtime); the next call starts a new one.
interface Runner {
  child: ChildProcess
  busy: Promise<unknown>
  stdout: string
  stderr: string
}

interface RunnerReply {
  id: number
  ok: boolean
  error?: string
}

const warmRunners = new Map<string, Runner>()
let jobCounter = 0
let exitHookInstalled = false

function startRunner(moduleDir: string): Runner {
  // The runtime's process sees its container's environment, not the developer's: no AWS_* or GOOGLE_*
  // variable a cloud SDK could pick up, no telemetry variables, no test-runner state. The ones it sets
  // itself (docs/architecture.md, "Runtime fidelity") are reproduced; the session comes per job over IPC.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: tmpdir(),
    NODE_OPTIONS: "--use-openssl-ca",
    HARNESS_MODULE_DIR: moduleDir,
    HARNESS_CLIENT_GEN: clientGenFile(),
    HARNESS_SDK_DIR: sdkDir,
  }
  // Compile the module with its own tsconfig, as the runtime does: the root tsconfig's test-only `paths`
  // (AWS SDK → dist-types) would make tsx load .d.ts files at run time.
  const moduleRoot = dirname(moduleDir)
  const moduleTsconfig = join(moduleRoot, "tsconfig.json")
  if (existsSync(moduleTsconfig)) env["TSX_TSCONFIG_PATH"] = moduleTsconfig
  const tsxLoader = pathToFileURL(join(repoRoot, "node_modules", "tsx", "dist", "loader.mjs")).href
  // The runtime's Node release, in the module's own directory (the runtime's /src/dagger).
  const child = spawn(runtimeNodePath(), ["--import", tsxLoader, runnerPath], { cwd: moduleRoot, env, stdio: ["ignore", "pipe", "pipe", "ipc"] })
  const runner: Runner = { child, busy: Promise.resolve(), stdout: "", stderr: "" }
  child.stdout?.on("data", (d: Buffer) => (runner.stdout += d.toString()))
  child.stderr?.on("data", (d: Buffer) => (runner.stderr += d.toString()))
  // An idle runner must not keep the test process alive; the exit hook below kills it.
  child.unref()
  child.channel?.unref()
  ;(child.stdout as Socket | null)?.unref()
  ;(child.stderr as Socket | null)?.unref()
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.once("exit", () => warmRunners.forEach((r) => r.child.kill("SIGKILL")))
  }
  return runner
}

function runEntrypoint(
  double: EngineDouble,
  moduleDir: string,
  count: number,
  timeoutMs: number,
  fresh: boolean,
): Promise<{ stdout: string; stderr: string; exitCode: number | null }> {
  let runner = fresh ? undefined : warmRunners.get(moduleDir)
  if (!runner) {
    runner = startRunner(moduleDir)
    if (!fresh) warmRunners.set(moduleDir, runner)
  }
  const r = runner
  const job = r.busy.then(() => runJob(r, double, count, timeoutMs, fresh, moduleDir))
  r.busy = job.catch(() => undefined)
  return job
}

function runJob(
  r: Runner,
  double: EngineDouble,
  count: number,
  timeoutMs: number,
  fresh: boolean,
  moduleDir: string,
): Promise<{ stdout: string; stderr: string; exitCode: number | null }> {
  const id = ++jobCounter
  r.stdout = ""
  r.stderr = ""
  return new Promise((res, rej) => {
    const cleanup = (): void => {
      clearTimeout(timer)
      r.child.off("message", onMessage)
      r.child.off("exit", onExit)
      r.child.off("error", onError)
      r.child.channel?.unref()
    }
    const onMessage = (m: RunnerReply): void => {
      if (m.id !== id) return
      cleanup()
      if (fresh) r.child.kill("SIGKILL")
      if (m.ok) res({ stdout: r.stdout, stderr: r.stderr, exitCode: null })
      else res({ stdout: r.stdout, stderr: `${r.stderr}${m.error ?? ""}`, exitCode: null })
    }
    const onExit = (code: number | null): void => {
      cleanup()
      if (warmRunners.get(moduleDir) === r) warmRunners.delete(moduleDir)
      res({ stdout: r.stdout, stderr: r.stderr, exitCode: code })
    }
    const onError = (e: Error): void => {
      cleanup()
      if (warmRunners.get(moduleDir) === r) warmRunners.delete(moduleDir)
      rej(e)
    }
    const timer = setTimeout(() => {
      cleanup()
      if (warmRunners.get(moduleDir) === r) warmRunners.delete(moduleDir)
      r.child.kill("SIGKILL")
      rej(new Error(`callFunction: the entrypoint did not finish within ${timeoutMs} ms (killed).\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`))
    }, timeoutMs)
    r.child.on("message", onMessage)
    r.child.once("exit", onExit)
    r.child.once("error", onError)
    r.child.channel?.ref()
    r.child.send({ id, port: double.port, token: double.token, count })
  })
}
