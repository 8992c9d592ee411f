// Draws a param's initial values from its initializer, deterministically from a seed.
import type { InitSpec } from "../ir/ir.js";
import { mulberry32, normal, seedFor, type Rng } from "./random.js";
import { alloc, type Precision, type Tensor } from "./tensor.js";

/** Fans as for weights stored [out, in]: fan_in is the last axis, fan_out the first. */
function fans(shape: readonly number[]): [number, number] {
  if (shape.length === 0) return [1, 1];
  if (shape.length === 1) return [shape[0]!, shape[0]!];
  const receptive = shape.slice(1, -1).reduce((a, b) => a * b, 1);
  return [shape[shape.length - 1]! * receptive, shape[0]! * receptive];
}

function truncatedNormal(rng: Rng, mean: number, std: number): number {
  for (;;) {
    const z = normal(rng);
    if (Math.abs(z) <= 2) return mean + std * z;
  }
}

/** A random orthogonal matrix (rows orthonormal, or columns when taller than wide) by Gram–Schmidt on a normal draw. */
function orthogonal(rows: number, cols: number, rng: Rng, gain: number): Float64Array {
  const n = Math.max(rows, cols);
  const m = Math.min(rows, cols);
  // m orthonormal vectors of length n.
  const q: Float64Array[] = [];
  while (q.length < m) {
    const v = Float64Array.from({ length: n }, () => normal(rng));
    for (const u of q) {
      let d = 0;
      for (let i = 0; i < n; i++) d += v[i]! * u[i]!;
      for (let i = 0; i < n; i++) v[i] -= d * u[i]!;
    }
    const norm = Math.hypot(...v);
    if (norm < 1e-8) continue;
    for (let i = 0; i < n; i++) v[i] /= norm;
    q.push(v);
  }
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) out[r * cols + c] = gain * (rows <= cols ? q[r]![c]! : q[c]![r]!);
  return out;
}

export function initialize(init: InitSpec, shape: readonly number[], seed: number, paramName: string, precision: Precision): Tensor {
  const t = alloc(shape, precision);
  const rng = mulberry32(seedFor(seed, paramName));
  const n = t.data.length;
  const [fanIn, fanOut] = fans(shape);
  const a = init.args;
  const fill = (f: () => number): void => { for (let i = 0; i < n; i++) t.data[i] = f(); };
  const uniform = (lo: number, hi: number) => () => lo + (hi - lo) * rng();
  switch (init.name) {
    case "zeros": break;
    case "ones": fill(() => 1); break;
    case "constant": fill(() => a[0]!); break;
    case "uniform": fill(uniform(a[0] ?? -0.05, a[1] ?? 0.05)); break;
    case "normal": fill(() => (a[0] ?? 0) + (a[1] ?? 0.05) * normal(rng)); break;
    case "truncated_normal": fill(() => truncatedNormal(rng, a[0] ?? 0, a[1] ?? 0.05)); break;
    case "glorot_uniform": { const l = Math.sqrt(6 / (fanIn + fanOut)); fill(uniform(-l, l)); break; }
    case "glorot_normal": { const s = Math.sqrt(2 / (fanIn + fanOut)) / 0.8796256610342398; fill(() => truncatedNormal(rng, 0, s)); break; }
    case "he_uniform": { const l = Math.sqrt(6 / fanIn); fill(uniform(-l, l)); break; }
    case "he_normal": { const s = Math.sqrt(2 / fanIn) / 0.8796256610342398; fill(() => truncatedNormal(rng, 0, s)); break; }
    case "lecun_uniform": { const l = Math.sqrt(3 / fanIn); fill(uniform(-l, l)); break; }
    case "recurrent_uniform": { const l = 1 / Math.sqrt(shape[0] ?? 1); fill(uniform(-l, l)); break; }
    case "lecun_normal": { const s = Math.sqrt(1 / fanIn) / 0.8796256610342398; fill(() => truncatedNormal(rng, 0, s)); break; }
    case "orthogonal":
    case "identity": {
      const gain = a[0] ?? 1;
      if (shape.length !== 2) {
        // Vectors and scalars: a unit vector (orthogonal) or all `gain` (identity) keeps the intent.
        if (init.name === "identity") fill(() => gain);
        else { const v = orthogonal(1, n, rng, gain); t.data.set(v); }
        break;
      }
      const [r, c] = [shape[0]!, shape[1]!];
      if (init.name === "identity") for (let i = 0; i < Math.min(r, c); i++) t.data[i * c + i] = gain;
      else t.data.set(orthogonal(r, c, rng, gain));
      break;
    }
    default:
      throw new Error(`internal: initializer ${init.name} has no sampler`);
  }
  return t;
}
