// A 2-layer nn.LSTM onto two rnnc layers whose shapes both fit either (issue 24): the stacked layers fill them in
// data-flow order whatever order the spec declares them in, the table says so, and the outputs equal PyTorch's; a
// partial --map that would leave the other layer to elimination is refused with the complete mapping.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runModel } from "../../src/interp/run-model.js";
import { resolveDims } from "../../src/runtime/dims.js";
import { tensorFromJson } from "../../src/runtime/json-tensor.js";
import { parseWeights } from "../../src/weights/weights.js";
import { compiler, root } from "../helpers.js";

const dir = mkdtempSync(join(tmpdir(), "rnnc-stacked-"));
const fixtures = join(root, "test", "fixtures", "import");
const torch = JSON.parse(readFileSync(join(fixtures, "stacked-outputs.json"), "utf8")) as { x: number[][][]; y: number[][] };
// `upper` is declared first but applied second: declaration order is not data-flow order.
const spec = join(dir, "stacked.rnn");
writeFileSync(spec, `import { LSTM, Dense } from "std"\nmodel Stacked<H = 6> {\n  input x: [T, H]\n  layer upper = LSTM<H, H>\n  layer lower = LSTM<H, H>\n  layer head  = Dense<H, 2>\n  output y = head(last(scan(upper, scan(lower, x))))\n}\n`);
const cli = (...args: string[]) => spawnSync(process.execPath, [join(root, "dist", "cli", "main.js"), ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });

describe("a stacked nn.LSTM onto two same-shaped layers", () => {
  it("fills them in data-flow order, prints the table, and the model equals PyTorch within 1e-5", () => {
    const out = join(dir, "w.json");
    const r = cli("import", join(fixtures, "stacked-lstm.safetensors"), "--spec", spec, "-o", out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/lstm\.l0\s+→ {2}lower {2}\(LSTM; stacked, in data-flow order\)/);
    expect(r.stderr).toMatch(/lstm\.l1\s+→ {2}upper {2}\(LSTM; stacked, in data-flow order\)/);
    expect(r.stderr).toMatch(/head\s+→ {2}head {2}\(Linear; the only fit\)/);
    const ir = compiler.model(spec, undefined);
    const env = resolveDims(ir, new Map());
    const y = runModel(ir, env, parseWeights(readFileSync(out, "utf8"), out), { inputs: { x: tensorFromJson(torch.x, "x", "f32") } }).y!.tensor!;
    const want = torch.y.flat();
    expect(Math.max(...Array.from(y.data, (v, i) => Math.abs(v - want[i]!)))).toBeLessThan(1e-5);
  });

  it("a partial --map that leaves a layer to elimination is refused, proposing the complete mapping; the complete one works", () => {
    const partial = cli("import", join(fixtures, "stacked-lstm.safetensors"), "--spec", spec, "--map", "lstm.l0=upper", "-o", join(dir, "p.json"));
    expect(partial.status).toBe(1);
    expect(partial.stderr).toContain("error[RNN0601]: several PyTorch modules fit layer `lower` (lstm.l0, lstm.l1)");
    expect(partial.stderr).toContain("nor leave a layer to elimination after a partial --map");
    expect(partial.stderr).toContain("help: for example --map lstm.l0=upper,lstm.l1=lower");
    // With l0 given to upper, only l1 is left, and it would go to lower by elimination: refused rather than guessed.
    const swapped = cli("import", join(fixtures, "stacked-lstm.safetensors"), "--spec", spec, "--map", "lstm.l0=upper,lstm.l1=lower", "-o", join(dir, "s.json"));
    expect(swapped.status, swapped.stderr).toBe(0); // the user's explicit, complete choice is followed (and shown)
    expect(swapped.stderr).toMatch(/lstm\.l0\s+→ {2}upper {2}\(LSTM; --map\)/);
    const json = cli("import", join(fixtures, "stacked-lstm.safetensors"), "--spec", spec, "-o", join(dir, "j.json"), "--json");
    expect(json.status, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).mapping).toEqual([
      { module: "lstm.l0", kind: "LSTM", layer: "lower", how: "stacked, in data-flow order" },
      { module: "lstm.l1", kind: "LSTM", layer: "upper", how: "stacked, in data-flow order" },
      { module: "head", kind: "Linear", layer: "head", how: "the only fit" },
    ]);
  });

  it("an embedding [30, 8] does not import as [40, 6]: shapes are compared, not element counts", () => {
    const st = (name: string, shape: number[]) => {
      const header = JSON.stringify({ [name]: { dtype: "F32", shape, data_offsets: [0, 4 * shape[0]! * shape[1]!] } });
      const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(header.length));
      return Buffer.concat([len, Buffer.from(header), Buffer.alloc(4 * shape[0]! * shape[1]!)]);
    };
    writeFileSync(join(dir, "emb.safetensors"), st("embed.weight", [30, 8]));
    writeFileSync(join(dir, "emb.rnn"), `import { Embedding } from "std"\nmodel E {\n  input t: [T] int\n  layer embed = Embedding<40, 6>\n  output y = map(embed, t)\n}\n`);
    const r = cli("import", join(dir, "emb.safetensors"), "--spec", join(dir, "emb.rnn"), "-o", join(dir, "e.json"));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("error[RNN0601]");
    expect(r.stderr).toContain("has no Embedding whose shapes fit layer `embed`");
  });
});
