// What Slack and Discord accept from an incoming webhook, written down as checks that return the
// problems found (empty = acceptable). The numbers are the providers' documented limits:
// - Slack Block Kit (docs.slack.dev, block reference): at most 50 blocks per message; header text is
//   plain_text up to 150 characters; section text up to 3,000; section fields at most 10, each up to
//   2,000; context at most 10 elements. A message needs `text` and/or `blocks`.
// - Discord (discord.com/developers/docs, Execute Webhook and Embed Limits): content up to 2,000
//   characters; at most 10 embeds; title 256, description 4,096, at most 25 fields, field name 256,
//   field value 1,024, footer text 2,048, author name 256; at most 6,000 characters across all embeds.
//   A message needs content or embeds. Field names and values may not be empty.
// Lengths are counted in UTF-16 code units, as both services do.

type Json = Record<string, unknown>
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v)
const str = (v: unknown): v is string => typeof v === "string"

export function slackProblems(payload: unknown): string[] {
  const p: string[] = []
  if (!isObj(payload)) return ["payload is not a JSON object"]
  const { text, blocks } = payload
  if (text !== undefined && !str(text)) p.push("text is not a string")
  if (blocks !== undefined && !Array.isArray(blocks)) p.push("blocks is not an array")
  if (!(str(text) && text.length > 0) && !(Array.isArray(blocks) && blocks.length > 0)) p.push("needs text or blocks")
  if (str(text) && text.length > 40_000) p.push(`text has ${text.length} characters`)
  if (!Array.isArray(blocks)) return p
  if (blocks.length > 50) p.push(`${blocks.length} blocks (max 50)`)
  blocks.forEach((b, i) => {
    const at = `blocks[${i}]`
    if (!isObj(b) || !str(b.type)) return p.push(`${at} has no type`)
    const textObj = (t: unknown, max: number, where: string, types = ["mrkdwn", "plain_text"]) => {
      if (!isObj(t) || !str(t.type) || !types.includes(t.type)) return p.push(`${where} is not a ${types.join("/")} text object`)
      if (!str(t.text) || t.text.length === 0) return p.push(`${where}.text is empty`)
      if (t.text.length > max) p.push(`${where}.text has ${t.text.length} characters (max ${max})`)
    }
    switch (b.type) {
      case "header":
        textObj(b.text, 150, `${at}.text`, ["plain_text"])
        break
      case "section":
        if (b.text === undefined && b.fields === undefined) p.push(`${at} needs text or fields`)
        if (b.text !== undefined) textObj(b.text, 3000, `${at}.text`)
        if (b.fields !== undefined) {
          if (!Array.isArray(b.fields) || b.fields.length === 0) p.push(`${at}.fields is not a non-empty array`)
          else {
            if (b.fields.length > 10) p.push(`${at} has ${b.fields.length} fields (max 10)`)
            b.fields.forEach((f, j) => textObj(f, 2000, `${at}.fields[${j}]`))
          }
        }
        break
      case "context":
        if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 10) {
          p.push(`${at}.elements must hold 1 to 10 elements`)
        } else b.elements.forEach((e, j) => textObj(e, 3000, `${at}.elements[${j}]`))
        break
      case "divider":
        break
      default:
        p.push(`${at} has unexpected type ${String(b.type)}`)
    }
  })
  return p
}

export function discordProblems(payload: unknown): string[] {
  const p: string[] = []
  if (!isObj(payload)) return ["payload is not a JSON object"]
  const { content, embeds } = payload
  if (content !== undefined && !str(content)) p.push("content is not a string")
  if (str(content) && content.length > 2000) p.push(`content has ${content.length} characters (max 2000)`)
  if (!(str(content) && content.length > 0) && !(Array.isArray(embeds) && embeds.length > 0)) p.push("needs content or embeds")
  if (embeds === undefined) return p
  if (!Array.isArray(embeds)) return [...p, "embeds is not an array"]
  if (embeds.length > 10) p.push(`${embeds.length} embeds (max 10)`)
  let total = 0
  const count = (v: unknown, max: number, where: string, required = false) => {
    if (v === undefined) {
      if (required) p.push(`${where} is missing`)
      return
    }
    if (!str(v)) return p.push(`${where} is not a string`)
    if (required && v.length === 0) p.push(`${where} is empty`)
    if (v.length > max) p.push(`${where} has ${v.length} characters (max ${max})`)
    total += v.length
  }
  embeds.forEach((e, i) => {
    const at = `embeds[${i}]`
    if (!isObj(e)) return p.push(`${at} is not an object`)
    count(e.title, 256, `${at}.title`)
    count(e.description, 4096, `${at}.description`)
    if (e.footer !== undefined) count(isObj(e.footer) ? e.footer.text : undefined, 2048, `${at}.footer.text`, true)
    if (e.author !== undefined) count(isObj(e.author) ? e.author.name : undefined, 256, `${at}.author.name`, true)
    if (e.color !== undefined && !(Number.isInteger(e.color) && (e.color as number) >= 0 && (e.color as number) <= 0xffffff)) {
      p.push(`${at}.color is not a 24-bit integer`)
    }
    if (e.url !== undefined && !(str(e.url) && /^https?:\/\//.test(e.url))) p.push(`${at}.url is not an http(s) URL`)
    if (e.timestamp !== undefined && !(str(e.timestamp) && !Number.isNaN(Date.parse(e.timestamp)))) {
      p.push(`${at}.timestamp is not ISO-8601`)
    }
    if (e.fields !== undefined) {
      if (!Array.isArray(e.fields)) return p.push(`${at}.fields is not an array`)
      if (e.fields.length > 25) p.push(`${at} has ${e.fields.length} fields (max 25)`)
      e.fields.forEach((f, j) => {
        if (!isObj(f)) return p.push(`${at}.fields[${j}] is not an object`)
        count(f.name, 256, `${at}.fields[${j}].name`, true)
        count(f.value, 1024, `${at}.fields[${j}].value`, true)
        if (f.inline !== undefined && typeof f.inline !== "boolean") p.push(`${at}.fields[${j}].inline is not a boolean`)
      })
    }
  })
  if (total > 6000) p.push(`embeds hold ${total} characters in total (max 6000)`)
  return p
}
