// /docs: a self-contained API reference rendered in the browser from ./openapi.json (relative, so it works
// wherever the app is mounted; no CDN, edge hosts may be offline).
export const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>snapvisor API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:980px;padding:1.5rem;color:#1b1f24}
h1{margin:.2rem 0}.op{border:1px solid #d0d7de;border-radius:6px;margin:.6rem 0;padding:.5rem .8rem}
.m{display:inline-block;min-width:4.2rem;font-weight:700;font-family:monospace}.get{color:#0969da}.post{color:#1a7f37}
.put{color:#9a6700}.delete{color:#cf222e}code,pre{font-family:ui-monospace,monospace;font-size:13px}
pre{background:#f6f8fa;padding:.5rem;overflow:auto;border-radius:4px}summary{cursor:pointer}.tag{margin-top:1.6rem}
</style></head><body>
<h1>snapvisor API</h1><p id="info">Loading <code>openapi.json</code>…</p><div id="ops"></div>
<script>
const esc = (s) => String(s).replace(/[&<>]/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;"}[c]));
fetch("openapi.json").then((r) => r.json()).then((doc) => {
  document.getElementById("info").textContent = doc.info.title + " " + doc.info.version + " - OpenAPI " + doc.openapi;
  const byTag = {};
  for (const [path, item] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(item)) {
    (byTag[(op.tags || ["other"])[0]] ||= []).push({ path, method, op });
  }
  let html = "";
  for (const [tag, ops] of Object.entries(byTag)) {
    html += '<h2 class="tag">' + esc(tag) + "</h2>";
    for (const { path, method, op } of ops) {
      const body = op.requestBody && op.requestBody.content["application/json"];
      html += '<div class="op"><span class="m ' + method + '">' + method.toUpperCase() + "</span><code>" + esc(path) +
        "</code> " + esc(op.summary || "") + "<details><summary>details</summary>" +
        (body ? "<p>Request body</p><pre>" + esc(JSON.stringify(body.schema, null, 2)) + "</pre>" : "") +
        "<p>Responses</p><pre>" + esc(Object.entries(op.responses).map(([s, r]) => s + " " + r.description).join("\\n")) +
        "</pre></details></div>";
    }
  }
  html += '<h2 class="tag">schemas</h2>';
  for (const [name, schema] of Object.entries((doc.components || {}).schemas || {})) {
    html += '<details class="op"><summary><code>' + esc(name) + "</code></summary><pre>" + esc(JSON.stringify(schema, null, 2)) + "</pre></details>";
  }
  document.getElementById("ops").innerHTML = html;
}).catch((e) => { document.getElementById("info").textContent = "Could not load openapi.json: " + e; });
</script></body></html>`;
