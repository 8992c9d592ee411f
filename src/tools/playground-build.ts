// Build step: the playground as static files in dist/playground/site (index.html, style.css, app.js: the page's code, CodeMirror, elkjs and tfjs bundled by esbuild, the standard library embedded), so nothing is fetched when it runs.
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const src = join(root, "src", "playground"), out = join(root, "dist", "playground", "site");
mkdirSync(out, { recursive: true });
const stdlib = Object.fromEntries(readdirSync(join(root, "stdlib")).filter((f) => f.endsWith(".rnn")).sort().map((f) => [f, readFileSync(join(root, "stdlib", f), "utf8")]));

await build({
  entryPoints: [join(src, "main.ts")],
  outfile: join(out, "app.js"),
  bundle: true,
  format: "iife",
  platform: "browser",
  target: "es2022",
  minify: true,
  legalComments: "linked",
  logLevel: "warning",
  plugins: [{
    name: "rnnc-stdlib",
    setup(b) {
      b.onResolve({ filter: /^rnnc:stdlib$/ }, () => ({ path: "stdlib", namespace: "rnnc" }));
      b.onLoad({ filter: /.*/, namespace: "rnnc" }, () => ({ contents: `export default ${JSON.stringify(stdlib)};`, loader: "js" }));
    },
  }],
});
for (const f of ["index.html", "style.css"]) copyFileSync(join(src, f), join(out, f));
