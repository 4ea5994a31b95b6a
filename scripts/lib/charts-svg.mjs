// Plain SVG charts for the benchmark results: a line chart with axes, ticks, a grid and a legend, on
// linear or log scales, with straight or step lines (step: CDFs, counts over time). No browser and no
// dependency: a spec in, an SVG string out. Pure and deterministic (coordinates rounded to 0.1 px), so
// a redraw from the same results file gives the same bytes and git shows no change.

/** Okabe–Ito: told apart by colour-blind readers; series of one group share a colour (dash tells p50 from p99). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

/**
 * @typedef {{ label: string, scale?: 'linear' | 'log' | 'auto', include?: number[] }} AxisSpec
 *   scale 'auto' (the default): log when every value is > 0 and they span a factor of 20 or more.
 *   include: values the axis must show whatever the data (0 for counts, 100 for a percentage).
 * @typedef {{ name: string, points: Array<[number, number | null]>, step?: boolean, dash?: boolean, markers?: boolean, color?: string }} SeriesSpec
 *   points: [x, y]; a null y (a percentile of no samples: NaN in the bench, null in JSON) breaks the line.
 *   step: hold y until the next x (an empirical CDF, desktops resumed by time t). markers: a dot per
 *   point (default: for straight lines of up to 50 points).
 * @typedef {{ axis: 'x' | 'y', value: number, label: string }} Guide
 *   a thin dashed reference line (a target, the knee) across the plot; the axis is stretched to show it.
 * @typedef {{ title: string, subtitle?: string, x: AxisSpec, y: AxisSpec, series: SeriesSpec[], guides?: Guide[], width?: number, height?: number }} ChartSpec
 */

const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";

/** Thrown for a spec that cannot be drawn (no points, a value ≤ 0 on a log axis); says which. */
export class ChartSpecError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ChartSpecError';
  }
}

/** Text for an SVG text node or attribute. */
export function escapeXml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);
}

/** A white outline under a label, so a line crossing it does not hide it. */
const HALO = ' stroke="#ffffff" stroke-width="3" paint-order="stroke"';

/** Width of a legend character at 12 px, an upper estimate (the chart must not cut a name off). */
export const LEGEND_CHAR_PX = 7;

const r1 = (v) => Math.round(v * 10) / 10;

/** A tick label: 1,500 · 250 · 2.5 · 0.05 (three significant digits at most, thousands separated). */
export function formatTick(v) {
  if (v === 0) return '0';
  const n = Number(v.toPrecision(3));
  if (Number.isInteger(n)) return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return String(n);
}

/** The step of a linear axis: 1, 2, 2.5 or 5 × 10^k, giving about `target` intervals. */
function niceStep(range, target) {
  const raw = range / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
}

/** Domain and ticks of a linear axis covering [lo, hi], ends on ticks. */
export function linearTicks(lo, hi, target = 6) {
  if (lo === hi) { const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1; lo -= pad; hi += pad; }
  const step = niceStep(hi - lo, target);
  const start = Math.floor(lo / step + 1e-9) * step, end = Math.ceil(hi / step - 1e-9) * step;
  const ticks = [];
  for (let i = 0; start + i * step <= end + step * 1e-9; i++) ticks.push(Number((start + i * step).toPrecision(12)));
  return { lo: ticks[0], hi: ticks.at(-1), ticks };
}

/** 1, 2, 5 × 10^k around v: the largest ≤ v (down) or the smallest ≥ v (up). */
function logNice(v, up) {
  const k = Math.floor(Math.log10(v));
  const cands = [-1, 0, 1].flatMap((d) => [1, 2, 5].map((m) => Number((m * 10 ** (k + d)).toPrecision(12))));
  return up ? Math.min(...cands.filter((c) => c >= v * (1 - 1e-12))) : Math.max(...cands.filter((c) => c <= v * (1 + 1e-12)));
}

/**
 * Domain and ticks of a log axis covering [lo, hi] (both > 0): ends on 1-2-5 values; ticks at 1, 2, 5
 * × 10^k over up to three decades, at the powers of ten beyond.
 */
export function logTicks(lo, hi) {
  if (!(lo > 0)) throw new ChartSpecError(`a log axis needs values > 0, got ${lo}`);
  let dlo = logNice(lo, false), dhi = logNice(hi, true);
  if (dlo === dhi) { dlo = logNice(dlo / 1.5, false); dhi = logNice(dhi * 1.5, true); }
  const decades = Math.log10(dhi / dlo);
  if (decades > 3) { dlo = 10 ** Math.floor(Math.log10(dlo) + 1e-9); dhi = 10 ** Math.ceil(Math.log10(dhi) - 1e-9); }
  const ticks = [];
  for (let k = Math.floor(Math.log10(dlo) + 1e-9); 10 ** k <= dhi * (1 + 1e-9); k++) {
    for (const m of decades > 3 ? [1] : [1, 2, 5]) {
      const v = Number((m * 10 ** k).toPrecision(12));
      if (v >= dlo * (1 - 1e-9) && v <= dhi * (1 + 1e-9)) ticks.push(v);
    }
  }
  return { lo: dlo, hi: dhi, ticks };
}

/** An axis's scale from its spec and values: `map` takes a value to a pixel between p0 and p1. */
function scaleFor(axis, values, p0, p1, name) {
  const all = [...values, ...(axis.include ?? [])];
  const lo = Math.min(...all), hi = Math.max(...all);
  let kind = axis.scale ?? 'auto';
  if (kind === 'auto') kind = lo > 0 && hi / lo >= 20 ? 'log' : 'linear';
  if (kind === 'log' && !(lo > 0)) throw new ChartSpecError(`${name} axis "${axis.label}" is logarithmic but has a value ${lo} (≤ 0)`);
  const t = kind === 'log' ? logTicks(lo, hi) : linearTicks(lo, hi);
  const f = kind === 'log' ? Math.log10 : (v) => v;
  const a = f(t.lo), b = f(t.hi);
  return { kind, ticks: t.ticks, map: (v) => r1(p0 + ((f(v) - a) / (b - a)) * (p1 - p0)) };
}

/** Pixel points of a series, split at null ys; a step series holds each y until the next x. */
function segments(series, sx, sy) {
  const out = [];
  let cur = [];
  for (const [x, y] of series.points) {
    if (y === null) { if (cur.length) out.push(cur); cur = []; continue; }
    const p = [sx.map(x), sy.map(y)];
    if (series.step && cur.length) cur.push([p[0], cur.at(-1)[1]]);
    cur.push(p);
  }
  if (cur.length) out.push(cur);
  return out.map((seg) => (series.step ? thinSteps(seg) : seg));
}

/**
 * A step line of thousands of points (5,000 desktops resumed) drawn with at most two points per pixel
 * column (the first and last y there): the same picture, a file of kilobytes.
 */
function thinSteps(seg) {
  const out = [];
  for (let i = 0; i < seg.length; i++) {
    const [x, y] = seg[i];
    const prev = out.at(-1), prev2 = out.at(-2);
    if (prev && prev[0] === x && prev[1] === y) continue;
    const col = Math.round(x);
    if (prev && prev2 && Math.round(prev[0]) === col && Math.round(prev2[0]) === col) { prev[1] = y; continue; }
    out.push([x, y]);
  }
  return out;
}

/** The chart as SVG text (see ChartSpec). Throws ChartSpecError when there is nothing to draw. */
export function lineChart(spec) {
  const height = spec.height ?? 440;
  const series = spec.series.filter((s) => s.points.some(([, y]) => y !== null));
  if (series.length === 0) throw new ChartSpecError(`chart "${spec.title}": no series has a point to draw`);
  for (const s of series) {
    for (const [x, y] of s.points) {
      if (!Number.isFinite(x) || (y !== null && !Number.isFinite(y))) throw new ChartSpecError(`chart "${spec.title}", series "${s.name}": point [${x}, ${y}] is not a pair of finite numbers`);
    }
  }
  const maxSeries = Math.floor((height - 44 - 58 - 16) / 20);
  if (series.length > maxSeries) throw new ChartSpecError(`chart "${spec.title}": ${series.length} series do not fit the legend (at most ${maxSeries} at height ${height})`);
  // The legend sits right of the plot; its width follows the longest name (LEGEND_CHAR_PX per character,
  // generous for a 12 px sans-serif), and a long legend widens the chart rather than squeezing the plot.
  const legendWidth = Math.max(130, 50 + LEGEND_CHAR_PX * Math.max(...series.map((s) => s.name.length)));
  const width = spec.width ?? Math.max(760, 72 + 460 + 16 + legendWidth);
  const plot = { left: 72, top: spec.subtitle ? 62 : 44, right: width - legendWidth - 16, bottom: height - 58 };
  const guides = spec.guides ?? [];
  const xs = series.flatMap((s) => s.points.filter(([, y]) => y !== null).map(([x]) => x)).concat(guides.filter((g) => g.axis === 'x').map((g) => g.value));
  const ys = series.flatMap((s) => s.points.map(([, y]) => y).filter((y) => y !== null)).concat(guides.filter((g) => g.axis === 'y').map((g) => g.value));
  const sx = scaleFor(spec.x, xs, plot.left, plot.right, 'x');
  const sy = scaleFor(spec.y, ys, plot.bottom, plot.top, 'y');

  const o = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="${escapeXml(FONT)}" font-size="12" role="img">`);
  o.push(`<title>${escapeXml(spec.title)}</title>`);
  if (spec.subtitle) o.push(`<desc>${escapeXml(spec.subtitle)}</desc>`);
  o.push(`<rect class="background" x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  o.push(`<text class="title" x="${plot.left}" y="24" font-size="15" font-weight="600" fill="#222">${escapeXml(spec.title)}</text>`);
  if (spec.subtitle) o.push(`<text class="subtitle" x="${plot.left}" y="42" fill="#666">${escapeXml(spec.subtitle)}</text>`);

  o.push('<g class="grid" stroke="#e6e6e6" stroke-width="1">');
  for (const v of sx.ticks) o.push(`<line x1="${sx.map(v)}" y1="${plot.top}" x2="${sx.map(v)}" y2="${plot.bottom}"/>`);
  for (const v of sy.ticks) o.push(`<line x1="${plot.left}" y1="${sy.map(v)}" x2="${plot.right}" y2="${sy.map(v)}"/>`);
  o.push('</g>');

  o.push(`<g class="axis x-axis" data-scale="${sx.kind}" fill="#333">`);
  o.push(`<line x1="${plot.left}" y1="${plot.bottom}" x2="${plot.right}" y2="${plot.bottom}" stroke="#333"/>`);
  for (const v of sx.ticks) {
    o.push(`<line x1="${sx.map(v)}" y1="${plot.bottom}" x2="${sx.map(v)}" y2="${plot.bottom + 5}" stroke="#333"/>`);
    o.push(`<text class="tick" x="${sx.map(v)}" y="${plot.bottom + 18}" text-anchor="middle">${escapeXml(formatTick(v))}</text>`);
  }
  o.push(`<text class="axis-label" x="${r1((plot.left + plot.right) / 2)}" y="${height - 16}" text-anchor="middle">${escapeXml(spec.x.label)}${sx.kind === 'log' ? ' (log scale)' : ''}</text>`);
  o.push('</g>');

  o.push(`<g class="axis y-axis" data-scale="${sy.kind}" fill="#333">`);
  o.push(`<line x1="${plot.left}" y1="${plot.top}" x2="${plot.left}" y2="${plot.bottom}" stroke="#333"/>`);
  for (const v of sy.ticks) {
    o.push(`<line x1="${plot.left - 5}" y1="${sy.map(v)}" x2="${plot.left}" y2="${sy.map(v)}" stroke="#333"/>`);
    o.push(`<text class="tick" x="${plot.left - 8}" y="${r1(sy.map(v) + 4)}" text-anchor="end">${escapeXml(formatTick(v))}</text>`);
  }
  const ymid = r1((plot.top + plot.bottom) / 2);
  o.push(`<text class="axis-label" x="18" y="${ymid}" text-anchor="middle" transform="rotate(-90 18 ${ymid})">${escapeXml(spec.y.label)}${sy.kind === 'log' ? ' (log scale)' : ''}</text>`);
  o.push('</g>');

  // Guide lines under the series, their labels (with a halo) over them.
  const guideLabels = [];
  if (guides.length) {
    o.push('<g class="guides" stroke="#888" stroke-width="1" stroke-dasharray="2 3">');
    for (const g of guides) {
      if (g.axis === 'x') {
        const x = sx.map(g.value);
        // the label on the side of the line with more room, so it stays inside the plot
        const left = x > (plot.left + plot.right) / 2;
        o.push(`<line x1="${x}" y1="${plot.top}" x2="${x}" y2="${plot.bottom}"/>`);
        guideLabels.push(`<text x="${r1(left ? x - 4 : x + 4)}" y="${plot.top + 12}"${left ? ' text-anchor="end"' : ''}${HALO}>${escapeXml(g.label)}</text>`);
      } else {
        const y = sy.map(g.value);
        o.push(`<line x1="${plot.left}" y1="${y}" x2="${plot.right}" y2="${y}"/>`);
        guideLabels.push(`<text x="${plot.right - 4}" y="${r1(y - 4)}" text-anchor="end"${HALO}>${escapeXml(g.label)}</text>`);
      }
    }
    o.push('</g>');
  }

  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const dash = s.dash ? ' stroke-dasharray="6 4"' : '';
    o.push(`<g class="series" data-name="${escapeXml(s.name)}">`);
    for (const seg of segments(s, sx, sy)) {
      o.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} stroke-linejoin="round" points="${seg.map(([x, y]) => `${x},${y}`).join(' ')}"/>`);
    }
    const markers = s.markers ?? (!s.step && s.points.length <= 50);
    if (markers) for (const [x, y] of s.points) if (y !== null) o.push(`<circle cx="${sx.map(x)}" cy="${sy.map(y)}" r="3" fill="${color}"/>`);
    o.push('</g>');
  });

  if (guideLabels.length) o.push('<g class="guide-labels" fill="#555" font-size="11">', ...guideLabels, '</g>');

  o.push(`<g class="legend" font-size="12" fill="#222">`);
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const y = plot.top + 8 + i * 20, x = plot.right + 20;
    o.push(`<g class="legend-item"><line x1="${x}" y1="${y}" x2="${x + 24}" y2="${y}" stroke="${color}" stroke-width="2"${s.dash ? ' stroke-dasharray="6 4"' : ''}/><text x="${x + 30}" y="${y + 4}">${escapeXml(s.name)}</text></g>`);
  });
  o.push('</g>');
  o.push('</svg>');
  return o.join('\n') + '\n';
}
