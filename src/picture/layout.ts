// Places a picture's boxes and routes its arrows with elkjs (the Eclipse Layout Kernel's layered algorithm, made for data-flow diagrams): positions, never drawn by hand.
import elk from "elkjs/lib/elk.bundled.js";
import type { ELK as ElkApi, ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api.js";
import type { Arrow, Box, Picture } from "./graph.js";
import { shown } from "./text.js";

// (the CommonJS module's export is the constructor itself, which its types call a default export)
const ELK = elk as unknown as new () => ElkApi;

/** More boxes than this are not laid out (elk's layered layout grows faster than linearly, and recurses with the graph's depth). */
export const MAX_LAYOUT_BOXES = 1000;

export interface Placed extends Box { readonly x: number; readonly y: number; readonly width: number; readonly height: number }
export interface Routed extends Arrow { readonly points: readonly { readonly x: number; readonly y: number }[] }
export interface Laid { readonly title: string; readonly width: number; readonly height: number; readonly boxes: readonly Placed[]; readonly arrows: readonly Routed[] }

/** A box's size from its two lines of text (13 px and 11 px sans-serif; text past 40 characters is cut in the picture). */
export function boxSize(b: Box): { width: number; height: number } {
  return { width: Math.ceil(Math.max(shown(b.label).length * 7.6, shown(b.detail).length * 6.4, 24) + 20), height: 40 };
}

/** The picture laid out left to right, or a reason it is not (too many boxes). */
export async function layOut(p: Picture): Promise<Laid | { readonly tooLarge: string }> {
  if (p.boxes.length > MAX_LAYOUT_BOXES)
    return { tooLarge: `${p.boxes.length.toLocaleString("en-US")} boxes are more than the ${MAX_LAYOUT_BOXES.toLocaleString("en-US")} a picture lays out` };
  const ids = new Map(p.boxes.map((b, k) => [b.id, `b${k}`]));
  const graph: ElkNode = {
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered", "elk.direction": "RIGHT", "elk.edgeRouting": "ORTHOGONAL",
      "elk.layered.spacing.nodeNodeBetweenLayers": "40", "elk.spacing.nodeNode": "18", "elk.layered.feedbackEdges": "true",
    },
    children: p.boxes.map((b) => ({ id: ids.get(b.id)!, ...boxSize(b) })),
    edges: p.arrows.map((a, k): ElkExtendedEdge => ({ id: `e${k}`, sources: [ids.get(a.from)!], targets: [ids.get(a.to)!] })),
  };
  const laid = await new ELK().layout(graph);
  const at = new Map((laid.children ?? []).map((c) => [c.id, c]));
  const boxes = p.boxes.map((b) => {
    const c = at.get(ids.get(b.id)!)!;
    return { ...b, x: c.x ?? 0, y: c.y ?? 0, width: c.width ?? 0, height: c.height ?? 0 };
  });
  const arrows = p.arrows.map((a, k) => {
    const e = (laid.edges ?? []).find((x) => x.id === `e${k}`);
    const s = e?.sections?.[0];
    const points = s ? [s.startPoint, ...(s.bendPoints ?? []), s.endPoint] : [];
    return { ...a, points };
  });
  return { title: p.title, width: laid.width ?? 0, height: laid.height ?? 0, boxes, arrows };
}
