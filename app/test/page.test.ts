import { describe, expect, it } from "vitest"
import { escapeHtml, renderErrorPage, renderPortfolioPage } from "../src/page.js"
import type { Portfolio } from "../src/content.js"

const meta = { version: "1.0.0", commit: "0123456789abcdef", stylesheetHref: "/assets/style.abc.css", iconHref: "/assets/favicon.abc.svg" }

describe("renderPortfolioPage", () => {
  const hostile: Portfolio = {
    name: `<script>alert("x")</script>`,
    role: `Engineer & "friend"`,
    summary: "it's <b>bold</b>",
    links: [{ label: "Mail", url: "mailto:a@example.com" }, { label: "Site", url: "https://example.com/?a=1&b=2" }],
    projects: [{ name: "P<1>", description: "D", url: "https://example.com/p", tags: ["<t>"] }, { name: "Q", description: "E", tags: [] }],
    skills: ["TS"],
  }
  const html = renderPortfolioPage(hostile, meta)

  it("escapes every value from the content file", () => {
    expect(html).not.toContain("<script>")
    expect(html).toContain("<h1>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</h1>")
    expect(html).toContain("it&#39;s &lt;b&gt;bold&lt;/b&gt;")
    expect(html).toContain(`href="https://example.com/?a=1&amp;b=2"`)
    expect(html).toContain("<li>&lt;t&gt;</li>")
  })

  it("links out safely and shows the build identity", () => {
    expect(html).toContain(`<a href="https://example.com/?a=1&amp;b=2" rel="noopener noreferrer">Site</a>`)
    expect(html).toContain(`<a href="mailto:a@example.com">Mail</a>`)
    expect(html).toContain(`<span data-version>1.0.0</span> · commit <span data-commit>0123456</span>`)
    expect(html).toContain(`<link rel="stylesheet" href="/assets/style.abc.css">`)
    expect(html).toContain(`<meta name="viewport" content="width=device-width, initial-scale=1">`)
  })

  it("omits empty sections", () => {
    const plain = renderPortfolioPage({ ...hostile, skills: [], location: undefined } as Portfolio, meta)
    expect(plain).not.toContain("skills-title")
    expect(plain).not.toContain(`class="location"`)
    expect(html.match(/class="tags"/g)).toHaveLength(2) // project P and skills; Q has no tags
  })
})

describe("renderErrorPage", () => {
  it("renders status and message, escaped", () => {
    const html = renderErrorPage(404, "Not <found>", "Nothing & nowhere", { ...meta, commit: "unknown" })
    expect(html).toContain("<h1>404 · Not &lt;found&gt;</h1>")
    expect(html).toContain("Nothing &amp; nowhere")
    expect(html).toContain(`<span data-commit>unknown</span>`)
  })
})

describe("escapeHtml", () => {
  it("escapes the five significant characters", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;")
  })
})
