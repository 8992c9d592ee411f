// The playground page: a CodeMirror editor on the real compiler (live diagnostics, hover with shapes), the picture of the declaration at the cursor, a traced run and a short training run, all in the page.
import { basicSetup, EditorView } from "codemirror";
import { linter, lintGutter, type Diagnostic as CmDiagnostic } from "@codemirror/lint";
import { hoverTooltip } from "@codemirror/view";
import stdlib from "rnnc:stdlib";
import { pictureSvg } from "../picture/draw.js";
import { layOut } from "../picture/layout.js";
import { lineAt, lineColOf } from "../picture/text.js";
import { trainingCurvesSvg } from "../picture/charts.js";
import { traceSections } from "../picture/trace-page.js";
import { rnnHighlighting, rnnLanguage } from "./language.js";
import { FILE, Session, type Target } from "./session.js";
import { addingProblemFor, trainAdding } from "./train.js";
import { START_TEXT } from "./start.js";

const session = new Session(stdlib);
const $ = (id: string) => document.getElementById(id)!;
const status = (text: string) => { $("status").textContent = text; };
/** The text of a file the compiler read: the page's own, or a stdlib file. */
const sourceOf = (file: string, text: string) => (file === FILE ? text : stdlib[file.replace(/^std\//, "")]);

/** Live diagnostics: the compiler's own, marked where they point, listed under the editor in the CLI's words. */
const lint = linter((view): CmDiagnostic[] => {
  const text = view.state.doc.toString();
  const problems = session.problems(text);
  const list = $("problems");
  list.replaceChildren(...problems.map((p) => {
    const pre = document.createElement("pre");
    pre.className = `problem ${p.severity}`;
    pre.dataset["code"] = p.code;
    pre.dataset["from"] = String(p.from);
    pre.textContent = p.rendered;
    return pre;
  }));
  list.dataset["errors"] = String(problems.filter((p) => p.severity === "error").length);
  void drawPicture(text, view.state.selection.main.head);
  return problems.map((p) => ({ from: Math.min(p.from, text.length), to: Math.min(p.to, text.length), severity: p.severity, message: `${p.severity}[${p.code}]: ${p.message}`, source: "rnnc" }));
}, { delay: 250 });

/** Hover: what the language server says of the name under the pointer (its declaration, shape and doc). */
const hover = hoverTooltip((view, pos) => {
  const text = session.hover(view.state.doc.toString(), pos);
  if (!text) return null;
  return { pos, create: () => ({ dom: markdownBlock(text) }) };
});

/** The language server's markdown as elements: fenced code as <pre>, the rest as paragraphs (all set as text). */
function markdownBlock(md: string): HTMLElement {
  const dom = document.createElement("div");
  dom.className = "rnnc-hover";
  md.split(/```\w*\n?/).forEach((part, k) => {
    const body = part.trim();
    if (!body) return;
    const el = document.createElement(k % 2 ? "pre" : "p");
    el.textContent = k % 2 ? body : body.replace(/`([^`]*)`/g, "$1");
    dom.append(el);
  });
  return dom;
}

let drawn = "";
/** The picture of the declaration at the cursor (redrawn when the text or the declaration changes). */
async function drawPicture(text: string, offset: number): Promise<void> {
  const target = session.targetAt(text, offset);
  if (!target) { $("picture").dataset["state"] = "stale"; return; }
  const key = `${target.kind}:${target.name}:${text}`;
  if (key === drawn) { $("picture").dataset["state"] = "fresh"; return; }
  drawn = key;
  const laid = await layOut(session.picture(target));
  if (drawn !== key) return; // the text changed meanwhile
  const box = $("picture");
  if ("tooLarge" in laid) { box.textContent = `not drawn: ${laid.tooLarge}`; return; }
  box.innerHTML = pictureSvg(laid, (file, at) => lineColOf(sourceOf(file, text), at)); // rnnc's SVG: every text escaped
  box.dataset["state"] = "fresh";
  box.dataset["target"] = `${target.kind} ${target.name}`;
}

const view = new EditorView({
  doc: START_TEXT,
  extensions: [basicSetup, rnnLanguage, rnnHighlighting, lint, lintGutter(), hover, EditorView.updateListener.of((u) => {
    if (u.selectionSet && !u.docChanged) void drawPicture(u.state.doc.toString(), u.state.selection.main.head);
  })],
  parent: $("editor"),
});

function currentTarget(): Target | undefined {
  const text = view.state.doc.toString();
  const t = session.targetAt(text, view.state.selection.main.head);
  if (!t) status("fix the errors first: the page runs a file that compiles");
  return t;
}

// Run: the declaration at the cursor on a small seeded input, every gate and state traced as heat maps.
$("run").addEventListener("click", () => {
  const t = currentTarget();
  if (!t) return;
  const text = view.state.doc.toString();
  const { uses } = session.run(t);
  $("trace").innerHTML = traceSections(uses, (_u, v) => `${lineAt(sourceOf(v.file, text), v.start)}    (${v.file}:${lineColOf(sourceOf(v.file, text), v.start).line})`, 16);
  $("trace").dataset["uses"] = String(uses.length);
  status(`ran ${t.kind} ${t.name} on 2 examples of 6 steps: ${uses.length} traced use${uses.length === 1 ? "" : "s"}`);
});

// The hovered heat-map cell's exact value and equation, in the bar above the traces.
$("trace").addEventListener("mouseover", (e) => {
  const el = e.target instanceof Element ? e.target.closest("[data-v]") : null;
  const title = el?.querySelector("title");
  if (title) $("hover").textContent = title.textContent;
});

let training = false;
const losses: number[] = [];
// Train: the model at the cursor learns the adding problem for a few dozen Adam steps, its loss drawn as it goes.
$("train").addEventListener("click", async () => {
  const t = currentTarget();
  if (!t || training) return;
  if (t.kind !== "model") { status("training needs a model: put the cursor in one"); return; }
  const env = session.envOf(t);
  const task = addingProblemFor(t.ir, env);
  if (typeof task === "string") { status(`cannot train ${t.name} here: ${task}`); return; }
  training = true;
  const steps = 80;
  try {
    const run = await trainAdding(t.ir, env, { steps, batch: 16, length: 12, learningRate: 0.01, seed: 3, onStep: (k, loss) => {
      status(`training ${t.name} on the adding problem: step ${k}/${steps}, loss ${loss.toFixed(4)}`);
      const plot = $("train-plot");
      plot.dataset["steps"] = String(k);
      if (k % 5 === 0 || k === steps) plot.innerHTML = trainingCurvesSvg(`${t.name}: adding problem, mean squared error`, [{ title: "loss per step", series: [{ name: "train", values: losses.concat(loss), color: "#1f77b4" }] }]).replace(">epoch<", ">step<");
      losses.push(loss);
    } });
    const first = run.losses.slice(0, 5).reduce((a, b) => a + b, 0) / 5, last = run.losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
    $("train-plot").dataset["first"] = String(first);
    const fused = run.scans.length > 0 && run.scans.every((p) => p.fused);
    $("train-plot").dataset["fused"] = String(fused);
    $("train-plot").dataset["last"] = String(last);
    const how = fused ? "each scan one fused op with rnnc's own backward pass" : `scans on tfjs's ops (${run.scans.filter((p) => !p.fused).map((p) => `${p.layer}: ${p.why}`).join("; ")})`;
    status(`trained ${t.name} for ${run.losses.length} steps on tfjs (${run.backend}), ${how}: loss ${first.toFixed(4)} → ${last.toFixed(4)} (means of the first and last five steps)`);
  } catch (e) {
    status(`training failed: ${(e as Error).message}`);
  } finally {
    training = false;
    losses.length = 0;
  }
});
status("ready: edit the cell or the model; Run traces the declaration at the cursor, Train teaches a model the adding problem");
// The editor, for the browser's console and the tests (which type into it and move its cursor as a user does).
(window as unknown as { rnncPlayground: { view: EditorView } }).rnncPlayground = { view };
document.body.dataset["ready"] = "true";
