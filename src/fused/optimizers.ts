// Optimizers over flat float32 params: SGD, momentum, Adam and RMSProp as tfjs defines them, clipping by global norm, weight decay.
import { AdamKernel } from "./adam-kernel.js";
import { ADAM, ADAM_POWER, MOMENTUM, RMSPROP, type OptimizerName, type OptimizerState } from "../runtime/training.js";

/** A param the optimizer updates in place: its name (`layer.param`), data and shape. */
export interface FlatParam { readonly name: string; readonly data: Float32Array; readonly shape: readonly number[] }

/** Each optimizer's slots per param, in the order tfjs writes them (a checkpoint from either engine resumes on the other). */
const SLOTS: Record<OptimizerName, readonly string[]> = { sgd: [], momentum: ["momentum"], adam: ["m", "v"], rmsprop: ["rms", "momentum"] };

export class FlatOptimizer {
  /** Per slot kind, per param: its running value. */
  private readonly slots: Map<string, Float32Array>[];
  private iterations = 0;
  /** Adam's β1^t and β2^t for the next step, as tfjs keeps them (float32 products). */
  private power1 = Math.fround(ADAM.beta1);
  private power2 = Math.fround(ADAM.beta2);

  /** Adam's update in WebAssembly SIMD (its moments live there), where the engine has it. */
  private readonly adamKernel: AdamKernel | undefined;
  /** How the update runs, for --explain. */
  readonly path: string;

  constructor(readonly name: OptimizerName, private lr: number, private readonly params: readonly FlatParam[]) {
    const made = name === "adam" ? AdamKernel.create(params.map((p) => p.data.length)) : undefined;
    this.adamKernel = made instanceof AdamKernel ? made : undefined;
    this.path = made instanceof AdamKernel ? "Adam in WebAssembly SIMD (its moments kept there between steps)"
      : `${name} in JS${made ? ` (the WebAssembly kernel did not load: ${made.why})` : ""}`;
    const kernel = this.adamKernel;
    this.slots = SLOTS[name].map((_, k) => new Map(params.map((p, j) => [p.name, kernel ? kernel.moments(j)[k]! : new Float32Array(p.data.length)])));
  }

  setLearningRate(lr: number): void {
    this.lr = lr;
  }

  /** One update from gradients by param name, each times `scale` (a param without one is left as it is, slots included). */
  step(grads: ReadonlyMap<string, Float32Array>, scale = 1): void {
    const lr = this.lr;
    for (const [j, p] of this.params.entries()) {
      const g = grads.get(p.name);
      if (!g) continue;
      if (this.adamKernel) {
        this.adamKernel.update(j, p.data, g, scale, lr, Math.fround(1 - this.power1), Math.fround(1 - this.power2));
        continue;
      }
      const slot = (k: number) => this.slots[k]!.get(p.name)!;
      switch (this.name) {
        case "sgd": sgd(p.data, g, scale, lr); break;
        case "momentum": momentum(p.data, g, scale, slot(0), lr, MOMENTUM); break;
        case "adam": adam(p.data, g, scale, slot(0), slot(1), lr, Math.fround(1 - this.power1), Math.fround(1 - this.power2)); break;
        case "rmsprop": rmsprop(p.data, g, scale, slot(0), slot(1), lr); break;
      }
    }
    if (this.name === "adam") {
      this.power1 = Math.fround(this.power1 * ADAM.beta1);
      this.power2 = Math.fround(this.power2 * ADAM.beta2);
    }
    this.iterations++;
  }

  /** The state as a checkpoint keeps it: "iter", each slot kind for every param in turn, then Adam's powers. */
  state(): OptimizerState {
    return {
      name: this.name,
      weights: [
        { name: "iter", shape: [], data: [this.iterations] },
        ...SLOTS[this.name].flatMap((slot, k) => this.params.map((p) => ({ name: `${p.name}/${slot}`, shape: [...p.shape], data: Array.from(this.slots[k]!.get(p.name)!) }))),
        ...(this.name === "adam" ? [{ name: `${ADAM_POWER}accBeta1`, shape: [], data: [this.power1] }, { name: `${ADAM_POWER}accBeta2`, shape: [], data: [this.power2] }] : []),
      ],
    };
  }

  /** Takes a checkpoint's state; false (nothing changed) when it is another optimizer's or names other params. */
  restore(state: OptimizerState): boolean {
    if (state.name !== this.name) return false;
    const sizes = new Map(this.params.map((p) => [p.name, p.data.length]));
    const slotOf = new Map(SLOTS[this.name].map((s, k) => [s, k]));
    const found: { k: number; param: string; data: readonly number[] }[] = [];
    let iter = 0;
    const powers = new Map<string, number>();
    for (const w of state.weights) {
      if (w.name === "iter") { iter = w.data[0] ?? 0; continue; }
      if (w.name.startsWith(ADAM_POWER)) { powers.set(w.name.slice(ADAM_POWER.length), w.data[0]!); continue; }
      const cut = w.name.lastIndexOf("/");
      const param = w.name.slice(0, cut), k = slotOf.get(w.name.slice(cut + 1));
      if (k === undefined || sizes.get(param) !== w.data.length) return false;
      found.push({ k, param, data: w.data });
    }
    for (const s of this.slots) for (const a of s.values()) a.fill(0);
    for (const x of found) this.slots[x.k]!.get(x.param)!.set(x.data);
    this.iterations = iter;
    // tfjs recomputes the powers as β^(t+1) when they are missing (a checkpoint of an older rnnc).
    this.power1 = Math.fround(powers.get("accBeta1") ?? ADAM.beta1 ** (iter + 1));
    this.power2 = Math.fround(powers.get("accBeta2") ?? ADAM.beta2 ** (iter + 1));
    return true;
  }
}

// Each update as its own loop over one param, constants in locals (one loop per optimizer keeps each monomorphic).

function sgd(w: Float32Array, g: Float32Array, scale: number, lr: number): void {
  const step = lr * scale;
  for (let i = 0; i < w.length; i++) w[i] = w[i]! - step * g[i]!;
}

function momentum(w: Float32Array, g: Float32Array, scale: number, a: Float32Array, lr: number, mu: number): void {
  for (let i = 0; i < w.length; i++) {
    const ai = mu * a[i]! + scale * g[i]!;
    a[i] = ai;
    w[i] = w[i]! - lr * a[i]!;
  }
}

/** tfjs' Adam: moments updated, bias-corrected by 1 − β^t (c1, c2), w − lr · m̂ / (√v̂ + ε). */
function adam(w: Float32Array, g: Float32Array, scale: number, m: Float32Array, v: Float32Array, lr: number, c1: number, c2: number): void {
  const b1 = ADAM.beta1, b2 = ADAM.beta2, eps = ADAM.epsilon, k1 = 1 - b1, k2 = 1 - b2;
  // Computed in float64 (tfjs in float32): m̂ as m · (lr / c1), one square root and one division per weight.
  const f = Math.fround, n = w.length, step = lr / c1, r2 = 1 / c2;
  for (let i = 0; i < n; i++) {
    const gi = scale * g[i]!;
    const mi = f(b1 * m[i]! + k1 * gi), vi = f(b2 * v[i]! + k2 * gi * gi);
    m[i] = mi;
    v[i] = vi;
    w[i] = w[i]! - (step * mi) / (Math.sqrt(vi * r2) + eps);
  }
}

/** tfjs' RMSProp with momentum 0: the moment is this step's alone. */
function rmsprop(w: Float32Array, g: Float32Array, scale: number, ms: Float32Array, mom: Float32Array, lr: number): void {
  const rho = RMSPROP.decay, k = 1 - rho, eps = RMSPROP.epsilon;
  for (let i = 0; i < w.length; i++) {
    const gi = scale * g[i]!;
    ms[i] = rho * ms[i]! + k * gi * gi;
    mom[i] = (gi * lr) / Math.sqrt(ms[i]! + eps);
    w[i] = w[i]! - mom[i]!;
  }
}

/**
 * The factor that brings the global norm of the gradients times `factor` to at most `max`, or 1: max / (norm + 1e-6)
 * where that is below 1, torch.nn.utils.clip_grad_norm_'s rule.
 */
export function clipScale(grads: Iterable<Float32Array>, max: number, factor = 1): number {
  let sq = 0;
  for (const g of grads) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0; // four sums at a time (one chain of adds waits on each)
    const n = g.length - (g.length % 4);
    for (let i = 0; i < n; i += 4) {
      s0 += g[i]! * g[i]!; s1 += g[i + 1]! * g[i + 1]!; s2 += g[i + 2]! * g[i + 2]!; s3 += g[i + 3]! * g[i + 3]!;
    }
    for (let i = n; i < g.length; i++) s0 += g[i]! * g[i]!;
    sq += s0 + s1 + s2 + s3;
  }
  return Math.min(1, max / (Math.sqrt(sq) * factor + 1e-6));
}
