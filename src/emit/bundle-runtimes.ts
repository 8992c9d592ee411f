// Build step: bundles the runtimes that compiled modules carry (tfjs: rnnc's lowering; js: the model orchestrator) into text files in dist/emit/.
import { build } from "esbuild";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

async function bundle(entry: string, external: string[], names: string[]): Promise<string> {
  const r = await build({ entryPoints: [join(here, entry)], bundle: true, format: "esm", platform: "neutral", external, write: false, legalComments: "none", target: "es2022" });
  const text = r.outputFiles[0]!.text;
  // The entry's export list is dropped: the module's own exports call the entry function directly.
  const stripped = text.replace(/\nexport \{[^}]*\};\s*$/, "\n");
  for (const name of names)
    if (stripped === text || !new RegExp(`function ${name}\\(`).test(stripped)) throw new Error(`bundle of ${entry}: expected a top-level function ${name}`);
  return stripped;
}

writeFileSync(join(here, "runtime-tfjs.txt"), await bundle("../tfjs/compiled.js", ["@tensorflow/tfjs"], ["createCompiledModel"]));
writeFileSync(join(here, "runtime-js.txt"), await bundle("./js/runtime-fused.js", [], ["createCompiledModel", "tokenRangeError"]));
writeFileSync(join(here, "runtime-js-plain.txt"), await bundle("./js/runtime.js", [], ["createCompiledModel", "tokenRangeError"]));
