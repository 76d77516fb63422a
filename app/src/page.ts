// HTML for the one-page portfolio and the error pages. Pure string building; every value from the
// content file goes through `escapeHtml`, so the data file cannot inject markup.
import type { Portfolio } from "./content.js"

export interface PageMeta {
  version: string
  commit: string
  /** URL of the stylesheet (content-hashed, so it can be cached forever). */
  stylesheetHref: string
  /** URL of the SVG icon, or undefined when the image has none. */
  iconHref?: string
}

export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;")
}

function head(title: string, description: string, meta: PageMeta): string {
  const icon = meta.iconHref ? `\n  <link rel="icon" href="${escapeHtml(meta.iconHref)}" type="image/svg+xml">` : ""
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${escapeHtml(title)}</title>
  <meta name="description" content="${escapeHtml(description)}">
  <link rel="stylesheet" href="${escapeHtml(meta.stylesheetHref)}">${icon}
</head>`
}

function footer(meta: PageMeta): string {
  const shortCommit = meta.commit === "unknown" ? meta.commit : meta.commit.slice(0, 7)
  return `  <footer class="site-footer">
    <p>Version <span data-version>${escapeHtml(meta.version)}</span> · commit <span data-commit>${escapeHtml(shortCommit)}</span></p>
  </footer>`
}

function externalAttrs(url: string): string {
  return url.startsWith("mailto:") ? "" : ` rel="noopener noreferrer"`
}

/** The portfolio page. */
export function renderPortfolioPage(p: Portfolio, meta: PageMeta): string {
  const links = p.links
    .map((l) => `<li><a href="${escapeHtml(l.url)}"${externalAttrs(l.url)}>${escapeHtml(l.label)}</a></li>`)
    .join("\n          ")
  const projects = p.projects
    .map((pr) => {
      const title = pr.url
        ? `<a href="${escapeHtml(pr.url)}"${externalAttrs(pr.url)}>${escapeHtml(pr.name)}</a>`
        : escapeHtml(pr.name)
      const tags = pr.tags.length
        ? `\n          <ul class="tags" aria-label="Technologies">${pr.tags.map((t) => `<li>${escapeHtml(t)}</li>`).join("")}</ul>`
        : ""
      return `<article class="project">
          <h3>${title}</h3>
          <p>${escapeHtml(pr.description)}</p>${tags}
        </article>`
    })
    .join("\n        ")
  const skills = p.skills.length
    ? `
    <section aria-labelledby="skills-title">
      <h2 id="skills-title">Skills</h2>
      <ul class="tags">${p.skills.map((s) => `<li>${escapeHtml(s)}</li>`).join("")}</ul>
    </section>`
    : ""
  const location = p.location ? `\n      <p class="location">${escapeHtml(p.location)}</p>` : ""

  return `${head(`${p.name} — ${p.role}`, p.summary, meta)}
<body>
  <header class="hero">
    <div class="wrap">
      <h1>${escapeHtml(p.name)}</h1>
      <p class="role">${escapeHtml(p.role)}</p>${location}
      <p class="summary">${escapeHtml(p.summary)}</p>
      <nav aria-label="Links">
        <ul class="links">
          ${links}
        </ul>
      </nav>
    </div>
  </header>
  <main class="wrap">
    <section aria-labelledby="projects-title">
      <h2 id="projects-title">Projects</h2>
      <div class="projects">
        ${projects}
      </div>
    </section>${skills}
  </main>
${footer(meta)}
</body>
</html>
`
}

/** A small page for 404, 405 and friends, styled like the site. */
export function renderErrorPage(status: number, title: string, message: string, meta: PageMeta): string {
  return `${head(`${status} ${title}`, message, meta)}
<body>
  <main class="wrap error">
    <h1>${status} · ${escapeHtml(title)}</h1>
    <p>${escapeHtml(message)}</p>
    <p><a href="/">Back to the portfolio</a></p>
  </main>
${footer(meta)}
</body>
</html>
`
}
