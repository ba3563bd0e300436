// /docs: the API reference, rendered in the browser by Swagger UI from ./openapi.json. The renderer's script and
// stylesheet come from the installed swagger-ui-dist package and are embedded in the compiled binary, so the page
// works offline (edge hosts may have no internet). Every URL is relative, so it works wherever the app is mounted.
import { Hono } from "hono";
import bundlePath from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import stylesheetPath from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import type { Env } from "./env.ts";

/** The renderer's files, served beside the page at /docs/<name>. */
const ASSETS = [
  { name: "swagger-ui-bundle.js", path: bundlePath, type: "text/javascript; charset=utf-8" },
  { name: "swagger-ui.css", path: stylesheetPath, type: "text/css; charset=utf-8" },
];

/** The page and its files: auth.ts serves them without a token (they hold no data). */
export const DOCS_PATHS = ["/docs", ...ASSETS.map((a) => `/docs/${a.name}`)];

/** The page asks for nothing beyond this server: no validator badge (validator.swagger.io), no ?url= override. */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>snapvisor API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="docs/swagger-ui.css">
<style>body{margin:0}.swagger-ui .topbar{display:none}</style>
</head><body><div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script>
SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  validatorUrl: null,
  queryConfigEnabled: false,
  deepLinking: true,
  docExpansion: "list",
  defaultModelsExpandDepth: 1,
  displayRequestDuration: true,
});
</script></body></html>`;

export function docsRoutes() {
  const app = new Hono<Env>().get("/docs", (c) => c.html(PAGE));
  for (const asset of ASSETS) {
    app.get(`/docs/${asset.name}`, () => new Response(Bun.file(asset.path), { headers: { "content-type": asset.type, "cache-control": "public, max-age=3600" } }));
  }
  return app;
}
