// Reads a chart drawn by scripts/lib/charts-svg.mjs back as a reader would: parses the SVG with a real
// XML parser (a malformed document throws), then collects the title, axis labels, ticks, legend and the
// series' polylines and markers, and inverts the axes from their tick labels so a test can check that a
// point is drawn where its value says.
import { DOMParser } from '@xmldom/xmldom';

type El = Element;
export type Pt = [number, number];

export interface Tick { value: number; px: number }

export interface ParsedChart {
  width: number;
  height: number;
  title: string;
  subtitle: string | undefined;
  xLabel: string;
  yLabel: string;
  xScale: string;
  yScale: string;
  xTicks: Tick[];
  yTicks: Tick[];
  /** The plot area, from the axis lines. */
  plot: { left: number; right: number; top: number; bottom: number };
  series: { name: string; color: string; dashed: boolean; polylines: Pt[][]; markers: Pt[] }[];
  legend: string[];
  /** Where each legend name starts (its text's x). */
  legendX: number[];
  guides: string[];
  /** Every coordinate of every drawn element (lines, polylines, circles, texts). */
  allPoints: Pt[];
}

const all = (root: Document | El, tag: string): El[] => Array.from(root.getElementsByTagName(tag) as unknown as ArrayLike<El>);
const byClass = (root: Document | El, tag: string, cls: string): El[] => all(root, tag).filter((e) => (e.getAttribute('class') ?? '').split(' ').includes(cls));
const one = (root: Document | El, tag: string, cls: string): El => {
  const found = byClass(root, tag, cls);
  if (found.length !== 1) throw new Error(`expected one <${tag} class="${cls}">, found ${found.length}`);
  return found[0];
};
const num = (e: El, attr: string): number => {
  const v = Number(e.getAttribute(attr));
  if (!Number.isFinite(v)) throw new Error(`<${e.tagName}> ${attr}="${e.getAttribute(attr)}" is not a number`);
  return v;
};
const parseNumber = (label: string): number => Number(label.replace(/,/g, ''));

/** Parses the XML strictly: any parser error or warning throws with its message. */
export function parseXml(text: string): Document {
  const problems: string[] = [];
  const doc = new DOMParser({ onError: (level: string, msg: string) => { problems.push(`${level}: ${msg}`); } }).parseFromString(text, 'image/svg+xml');
  if (problems.length) throw new Error(`not well-formed XML: ${problems.join('; ')}`);
  return doc as unknown as Document;
}

function ticks(axis: El, horizontal: boolean): Tick[] {
  return byClass(axis, 'text', 'tick').map((t) => ({ value: parseNumber(t.textContent ?? ''), px: num(t, horizontal ? 'x' : 'y') - (horizontal ? 0 : 4) }));
}

export function parseChart(svg: string): ParsedChart {
  const doc = parseXml(svg);
  const root = doc.documentElement as unknown as El;
  if (root.tagName !== 'svg' || root.getAttribute('xmlns') !== 'http://www.w3.org/2000/svg') throw new Error(`root is <${root.tagName} xmlns="${root.getAttribute('xmlns')}">, not an SVG document`);
  const [vx, vy, width, height] = (root.getAttribute('viewBox') ?? '').split(' ').map(Number);
  if (vx !== 0 || vy !== 0 || !(width > 0) || !(height > 0)) throw new Error(`bad viewBox "${root.getAttribute('viewBox')}"`);
  const xAxis = one(doc, 'g', 'x-axis'), yAxis = one(doc, 'g', 'y-axis');
  const xLine = all(xAxis, 'line')[0], yLine = all(yAxis, 'line')[0];
  const plot = { left: num(xLine, 'x1'), right: num(xLine, 'x2'), top: num(yLine, 'y1'), bottom: num(yLine, 'y2') };
  const pointsOf = (p: El): Pt[] => (p.getAttribute('points') ?? '').trim().split(/\s+/).map((xy) => xy.split(',').map(Number) as Pt);
  const series = byClass(doc, 'g', 'series').map((g) => {
    const polylines = all(g, 'polyline');
    return {
      name: g.getAttribute('data-name') ?? '',
      color: polylines[0]?.getAttribute('stroke') ?? '',
      dashed: polylines.some((p) => p.hasAttribute('stroke-dasharray')),
      polylines: polylines.map(pointsOf),
      markers: all(g, 'circle').map((c) => [num(c, 'cx'), num(c, 'cy')] as Pt),
    };
  });
  const allPoints: Pt[] = [];
  for (const l of all(doc, 'line')) allPoints.push([num(l, 'x1'), num(l, 'y1')], [num(l, 'x2'), num(l, 'y2')]);
  for (const p of all(doc, 'polyline')) allPoints.push(...pointsOf(p));
  for (const c of all(doc, 'circle')) allPoints.push([num(c, 'cx'), num(c, 'cy')]);
  for (const t of all(doc, 'text')) if (!t.hasAttribute('transform')) allPoints.push([num(t, 'x'), num(t, 'y')]);
  const subtitle = byClass(doc, 'text', 'subtitle')[0];
  return {
    width, height, plot, series, allPoints,
    title: one(doc, 'text', 'title').textContent ?? '',
    subtitle: subtitle?.textContent ?? undefined,
    xLabel: one(xAxis, 'text', 'axis-label').textContent ?? '',
    yLabel: one(yAxis, 'text', 'axis-label').textContent ?? '',
    xScale: xAxis.getAttribute('data-scale') ?? '',
    yScale: yAxis.getAttribute('data-scale') ?? '',
    xTicks: ticks(xAxis, true),
    yTicks: ticks(yAxis, false),
    legend: byClass(doc, 'g', 'legend-item').map((g) => all(g, 'text')[0]?.textContent ?? ''),
    legendX: byClass(doc, 'g', 'legend-item').map((g) => num(all(g, 'text')[0], 'x')),
    guides: byClass(doc, 'g', 'guide-labels').flatMap((g) => all(g, 'text').map((t) => t.textContent ?? '')),
  };
}

/** Pixel → value along an axis, fitted on its first and last tick (log10 for a log axis). */
export function invert(ticks: Tick[], scale: string): (px: number) => number {
  const a = ticks[0], b = ticks[ticks.length - 1];
  const f = scale === 'log' ? Math.log10 : (v: number) => v;
  const g = scale === 'log' ? (v: number) => 10 ** v : (v: number) => v;
  return (px) => g(f(a.value) + ((px - a.px) / (b.px - a.px)) * (f(b.value) - f(a.value)));
}
