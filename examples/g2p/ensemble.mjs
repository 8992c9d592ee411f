// Joins trained g2p models' weight files into g2p-ensemble.rnn's G2PEnsemble: member k's layer X becomes mk_X, its decoder decoder.mk.
// node examples/g2p/ensemble.mjs -o g2p-ensemble.json m1=A.best.json m2=B.best.json m3=C.best.json m4=D.best.json
import { readFileSync, renameSync, writeFileSync } from "node:fs";

const args = process.argv.slice(2);
const o = args.indexOf("-o");
const out = o >= 0 ? args[o + 1] : undefined;
const members = args.filter((_, i) => i !== o && i !== o + 1);
const fail = (message) => { process.stderr.write(`ensemble: ${message}\n`); process.exit(1); };
if (!out || members.length !== 4 || !members.every((m) => /^m[1-4]=./.test(m))) fail("usage: ensemble.mjs -o OUT.json m1=W1.json m2=W2.json m3=W3.json m4=W4.json");

const params = {};
const dims = { L: 28, P: 41, E: 64, A: 128 };
for (const member of members) {
  const [prefix, file] = [member.slice(0, 2), member.slice(3)];
  let w;
  try { w = JSON.parse(readFileSync(file, "utf8")); } catch (e) { fail(`cannot read ${file}: ${e.message}`); }
  if (w?.format !== "rnnc-weights" || typeof w.params !== "object") fail(`${file} is not an rnnc-weights file`);
  for (const d of ["L", "P", "E", "A"]) if (w.dims?.[d] !== undefined && w.dims[d] !== dims[d]) fail(`${file} has ${d} = ${w.dims[d]}, the ensemble ${dims[d]}`);
  dims[`D${prefix[1]}`] = w.dims?.D;
  for (const [name, value] of Object.entries(w.params)) {
    const [layer, ...rest] = name.split(".");
    params[layer === "decoder" ? ["decoder", prefix, ...rest].join(".") : [`${prefix}_${layer}`, ...rest].join(".")] = value;
  }
}
// Written whole, then renamed: a failed run leaves no half-written file.
writeFileSync(`${out}.tmp`, JSON.stringify({ format: "rnnc-weights", version: 1, cell: "G2PEnsemble", dims, params }));
renameSync(`${out}.tmp`, out);
process.stdout.write(`wrote ${out}: ${Object.keys(params).length} params of 4 members (D = ${[1, 2, 3, 4].map((k) => dims[`D${k}`]).join(", ")})\n`);
