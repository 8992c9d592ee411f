// `rnnc graph`: a cell's dataflow or a model's layers as a picture (SVG laid out by elkjs, Graphviz DOT, or JSON), on stdout or written with -o.
import { drawPicture, pictureOf, type PictureFormat } from "../api/picture.js";
import { writeFileAtomic } from "../node/host.js";
import { assertNotInput, optsFlag, readText } from "./commands.js";
import { assertReplaceable } from "./output-guard.js";
import { UsageError } from "./usage.js";

export async function graphCommand(a: { file: string; model?: string | undefined; cell?: string | undefined; opt?: string | undefined; format: PictureFormat; out?: string | undefined }): Promise<number> {
  readText(a.file, "file");
  if (a.model !== undefined && (a.cell !== undefined || a.opt !== undefined)) throw new UsageError("--model draws a model's layers and --cell a cell's dataflow: give one of them");
  if (a.out !== undefined) {
    const ext = { svg: ".svg", dot: ".dot", json: ".json" }[a.format];
    if (!a.out.endsWith(ext)) throw new UsageError(`-o ${a.out}: a picture in --format ${a.format} is written to a file ending in ${ext}`);
    assertNotInput(a.out, { spec: a.file });
    assertReplaceable(a.out, a.format === "svg" ? "picture" : "graph");
  }
  const opts = optsFlag(a.opt);
  const text = await drawPicture(pictureOf(a.file, { ...(a.model !== undefined ? { model: a.model } : {}), ...(a.cell !== undefined ? { cell: a.cell } : {}), ...(opts.size ? { options: opts } : {}) }), a.format);
  if (a.out === undefined) process.stdout.write(text);
  else writeFileAtomic(a.out, text);
  return 0;
}
