// Cells for ONNX recurrent ops the stdlib cells do not compute: other activations (Affine, LeakyRelu, ScaledTanh,
// HardSigmoid, Elu with their alpha and beta, Relu, Softsign, Softplus, …) and `clip`, written as .rnn equations with
// the stdlib cells' param names (so that an ONNX node's weights fill them as they fill LSTM, GRU and Elman).

/** ONNX's activation functions as rnnc expressions of a value `z`; undefined for one the language cannot write. */
function activation(name: string, alpha: number, beta: number, z: string): string | undefined {
  switch (name) {
    case "Sigmoid": return `sigmoid(${z})`;
    case "Tanh": return `tanh(${z})`;
    case "Relu": return `relu(${z})`;
    case "Softsign": return `softsign(${z})`;
    case "Softplus": return `softplus(${z})`;
    case "Affine": return `${num(alpha)} * ${z} + ${num(beta)}`;
    case "LeakyRelu": return `relu(${z}) + ${num(alpha)} * min(${z}, 0)`;
    case "ScaledTanh": return `${num(alpha)} * tanh(${num(beta)} * ${z})`;
    case "HardSigmoid": return `min(max(${num(alpha)} * ${z} + ${num(beta)}, 0), 1)`;
    case "Elu": return alpha === 1 ? `elu(${z})` : `relu(${z}) + ${num(alpha)} * (exp(min(${z}, 0)) - 1)`;
    default: return undefined; // ThresholdedRelu needs a comparison, which the language has not
  }
}
/** Which functions take alpha and beta, and their values when the attribute's list runs out (ONNX's defaults). */
const alphaOf: Record<string, number> = { Affine: 1, LeakyRelu: 0.01, ThresholdedRelu: 1, ScaledTanh: 1, HardSigmoid: 0.2, Elu: 1 };
const betaOf: Record<string, number> = { Affine: 0, ScaledTanh: 1, HardSigmoid: 0.5 };

/** A float32 attribute as the language writes it: the shortest decimal that is the same float32 (0.45, not 0.449999988079), without an exponent. */
function num(x: number): string {
  if (Number.isInteger(x)) return String(x);
  for (let p = 1; p <= 9; p++) {
    const s = x.toPrecision(p);
    if (!s.includes("e") && Math.fround(Number(s)) === Math.fround(x)) return String(Number(s));
  }
  return x.toFixed(12).replace(/0+$/, "");
}

/** Each activation with its alpha and beta: the lists are consumed in order by the functions that take them. */
export function activationsWithParams(names: readonly string[], alphas: readonly number[], betas: readonly number[]): { name: string; alpha: number; beta: number }[] {
  let a = 0, b = 0;
  return names.map((name) => ({
    name,
    alpha: name in alphaOf ? alphas[a++] ?? alphaOf[name]! : 0,
    beta: name in betaOf ? betas[b++] ?? betaOf[name]! : 0,
  }));
}

export type Act = ReturnType<typeof activationsWithParams>[number];

/** Why a set of activations cannot be written, or undefined. */
export const unwritable = (acts: readonly Act[]) => acts.find((f) => activation(f.name, f.alpha, f.beta, "z") === undefined)?.name;

const clipped = (e: string, clip: number | undefined) => (clip === undefined ? e : `min(max(${e}, -${num(clip)}), ${num(clip)})`);
const apply = (f: Act, z: string) => activation(f.name, f.alpha, f.beta, z)!;

/** An ONNX LSTM (activations f, g, h; peepholes; clip) as a cell with LSTM's (or PeepholeLSTM's) params. */
export function lstmCell(name: string, [f, g, h]: readonly Act[], clip: number | undefined, peephole: boolean): string {
  const pre = (k: string, peep?: string) => clipped(`W_x${k} @ x + W_h${k} @ h[t-1]${peep ? ` + ${peep}` : ""} + b_${k}`, clip);
  return [
    `/// ONNX's LSTM with activations f = ${f!.name}, g = ${g!.name}, h = ${h!.name}${clip !== undefined ? `, clip ${num(clip)}` : ""}${peephole ? ", peepholes" : ""}.`,
    `cell ${name}<I, H> {`, "  input x: [I]", "  state h: [H] = 0", "  state c: [H] = 0",
    "  param W_xi, W_xf, W_xg, W_xo: [H, I] ~ glorot_uniform", "  param W_hi, W_hf, W_hg, W_ho: [H, H] ~ orthogonal",
    ...(peephole ? ["  param p_i, p_f, p_o: [H] ~ zeros"] : []), "  param b_i, b_f, b_g, b_o: [H] ~ zeros",
    `  z_i = ${pre("i", peephole ? "p_i ⊙ c[t-1]" : undefined)}`, `  z_f = ${pre("f", peephole ? "p_f ⊙ c[t-1]" : undefined)}`,
    `  z_g = ${pre("g")}`, `  z_o = ${pre("o", peephole ? "p_o ⊙ c" : undefined)}`,
    `  i = ${apply(f!, "z_i")}`, `  fg = ${apply(f!, "z_f")}`, `  g = ${apply(g!, "z_g")}`, `  o = ${apply(f!, "z_o")}`,
    "  c = fg ⊙ c[t-1] + i ⊙ g", `  h = o ⊙ (${apply(h!, "c")})`, "  output h", "}", "",
  ].join("\n");
}

/** An ONNX GRU (activations f, g; clip; linear_before_reset or not) as a cell with GRU's (or GRUResetBefore's) params. */
export function gruCell(name: string, [f, g]: readonly Act[], clip: number | undefined, linearBeforeReset: boolean): string {
  const n = linearBeforeReset ? "W_xn @ x + b_xn + r ⊙ (W_hn @ h[t-1] + b_hn)" : "W_xn @ x + W_hn @ (r ⊙ h[t-1]) + b_n";
  const gate = (k: string) => (linearBeforeReset ? `W_x${k} @ x + b_x${k} + W_h${k} @ h[t-1] + b_h${k}` : `W_x${k} @ x + W_h${k} @ h[t-1] + b_${k}`);
  return [
    `/// ONNX's GRU with activations f = ${f!.name}, g = ${g!.name}${clip !== undefined ? `, clip ${num(clip)}` : ""}${linearBeforeReset ? ", linear_before_reset" : ""}.`,
    `cell ${name}<I, H> {`, "  input x: [I]", "  state h: [H] = 0",
    "  param W_xz, W_xr, W_xn: [H, I] ~ glorot_uniform", "  param W_hz, W_hr, W_hn: [H, H] ~ orthogonal",
    ...(linearBeforeReset ? ["  param b_xz, b_xr, b_xn: [H] ~ zeros", "  param b_hz, b_hr, b_hn: [H] ~ zeros"] : ["  param b_z, b_r, b_n: [H] ~ zeros"]),
    `  z_z = ${clipped(gate("z"), clip)}`, `  z_r = ${clipped(gate("r"), clip)}`,
    `  z = ${apply(f!, "z_z")}`, `  r = ${apply(f!, "z_r")}`,
    `  z_n = ${clipped(n, clip)}`, `  n = ${apply(g!, "z_n")}`, "  h = z ⊙ h[t-1] + (1 - z) ⊙ n", "  output h", "}", "",
  ].join("\n");
}

/** An ONNX RNN (activation f; clip) as a cell with Elman's params. */
export function rnnCell(name: string, f: Act, clip: number | undefined): string {
  return [
    `/// ONNX's RNN with activation ${f.name}${clip !== undefined ? `, clip ${num(clip)}` : ""}.`,
    `cell ${name}<I, H> {`, "  input x: [I]", "  state h: [H] = 0",
    "  param W_xh: [H, I] ~ glorot_uniform", "  param W_hh: [H, H] ~ orthogonal", "  param b_h: [H] ~ zeros",
    `  z_h = ${clipped("W_hh @ h[t-1] + W_xh @ x + b_h", clip)}`, `  h = ${apply(f, "z_h")}`, "  output h", "}", "",
  ].join("\n");
}
