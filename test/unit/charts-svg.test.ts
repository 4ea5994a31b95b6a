// The SVG line chart (scripts/lib/charts-svg.mjs): nice ticks on linear and log axes, a well-formed
// document whose series, legend and axis labels are the spec's, every point drawn where its value says
// and inside the plot, step lines as staircases thinned to the pixel, and a refusal (ChartSpecError)
// for what cannot be drawn.
import t from 'tap';
import { invert, parseChart, parseXml } from '../helpers/svg-chart.js';
// @ts-ignore -- plain ESM script without types (the benches run it straight from scripts/)
import { ChartSpecError, escapeXml, formatTick, LEGEND_CHAR_PX, lineChart, linearTicks, logTicks } from '../../scripts/lib/charts-svg.mjs';

type Pt = [number, number | null];

const inside = (t: Tap.Test, chart: ReturnType<typeof parseChart>) => {
  const out = chart.allPoints.filter(([x, y]) => !(x >= 0 && x <= chart.width && y >= 0 && y <= chart.height));
  t.same(out, [], 'every coordinate inside the viewBox');
  chart.legend.forEach((name, i) => t.ok(chart.legendX[i] + LEGEND_CHAR_PX * name.length <= chart.width, `legend "${name}" ends inside the chart`));
  const { left, right, top, bottom } = chart.plot;
  const data = chart.series.flatMap((s) => [...s.polylines.flat(), ...s.markers]);
  t.same(data.filter(([x, y]) => !(x >= left && x <= right && y >= top && y <= bottom)), [], 'every data point inside the plot area');
};

t.test('linear ticks: 1, 2, 2.5, 5 × 10^k steps, ends on ticks', async (t) => {
  t.same(linearTicks(0, 1500), { lo: 0, hi: 1500, ticks: [0, 250, 500, 750, 1000, 1250, 1500] });
  t.same(linearTicks(0, 100), { lo: 0, hi: 100, ticks: [0, 20, 40, 60, 80, 100] });
  t.same(linearTicks(3, 97).ticks, [0, 20, 40, 60, 80, 100]);
  t.same(linearTicks(0.1, 0.7).ticks, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
  t.same(linearTicks(5, 5).ticks, [4.4, 4.6, 4.8, 5, 5.2, 5.4, 5.6], 'one value: padded by 10 % (4.5..5.5), out to the ticks');
  t.same(linearTicks(0, 0).ticks, [-1, -0.5, 0, 0.5, 1]);
});

t.test('log ticks: 1-2-5 over up to three decades, powers of ten beyond', async (t) => {
  t.same(logTicks(1.3, 559), { lo: 1, hi: 1000, ticks: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] });
  t.same(logTicks(17, 450), { lo: 10, hi: 500, ticks: [10, 20, 50, 100, 200, 500] });
  t.same(logTicks(0.3, 40_000), { lo: 0.1, hi: 100_000, ticks: [0.1, 1, 10, 100, 1000, 10_000, 100_000] });
  t.same(logTicks(20, 20).ticks, [10, 20, 50], 'one value: a tick either side');
  t.throws(() => logTicks(0, 10), ChartSpecError);
});

t.test('tick labels: thousands separated, three significant digits', async (t) => {
  t.same([0, 1, 2.5, 0.05, 250, 1500, 100_000, 1 / 3].map(formatTick), ['0', '1', '2.5', '0.05', '250', '1,500', '100,000', '0.333']);
});

t.test('a line chart: well-formed SVG with the spec\'s series, legend, labels; points where their values say', async (t) => {
  const a: Pt[] = [[250, 1.5], [500, 1.3], [750, null], [1000, 2.4], [1500, 38.3]];
  const b: Pt[] = [[250, 80.7], [500, 18], [750, 16.1], [1000, 29.8], [1500, 221]];
  const svg = lineChart({
    title: 'Event latency & load <test>', subtitle: 'npm run bench, 2026-11-21',
    x: { label: 'offered calls/s', scale: 'linear', include: [0] }, y: { label: 'event latency, ms' },
    series: [{ name: 'single p50', points: a, dash: true }, { name: 'single p99', points: b }],
    guides: [{ axis: 'y', value: 20, label: 'target p99 ≤ 20 ms' }],
  });
  const c = parseChart(svg);
  t.equal(c.title, 'Event latency & load <test>');
  t.equal(c.subtitle, 'npm run bench, 2026-11-21');
  t.equal(c.xLabel, 'offered calls/s');
  t.equal(c.yLabel, 'event latency, ms (log scale)', 'auto: 1.3..221 spans ≥ 20×, so log');
  t.equal(c.xScale, 'linear');
  t.equal(c.yScale, 'log');
  t.same(c.xTicks.map((x) => x.value), [0, 250, 500, 750, 1000, 1250, 1500]);
  t.same(c.yTicks.map((x) => x.value), [1, 2, 5, 10, 20, 50, 100, 200, 500]);
  t.same(c.series.map((s) => s.name), ['single p50', 'single p99']);
  t.same(c.legend, ['single p50', 'single p99'], 'legend names = series names, in order');
  t.same(c.guides, ['target p99 ≤ 20 ms']);
  t.same(c.series.map((s) => s.dashed), [true, false]);
  t.same(c.series[0].polylines.map((p) => p.length), [2, 2], 'a null value breaks the line in two');
  t.equal(c.series[0].markers.length, 4, 'a dot per measured point');
  inside(t, c);
  const fx = invert(c.xTicks, c.xScale), fy = invert(c.yTicks, c.yScale);
  const drawn = c.series[1].markers.map(([x, y]) => [fx(x), fy(y)]);
  b.forEach(([x, y], i) => {
    t.ok(Math.abs(drawn[i][0] - x) < 2, `x ${x} drawn at ${drawn[i][0]}`);
    t.ok(Math.abs(drawn[i][1] - (y as number)) / (y as number) < 0.01, `y ${y} drawn at ${drawn[i][1]}`);
  });
  t.equal(lineChart({ title: 'x', x: { label: 'a' }, y: { label: 'b' }, series: [{ name: 's', points: b }] }),
    lineChart({ title: 'x', x: { label: 'a' }, y: { label: 'b' }, series: [{ name: 's', points: b }] }), 'deterministic');
});

t.test('names and labels are escaped, and read back as written', async (t) => {
  t.equal(escapeXml(`a<b>&"c'`), 'a&lt;b&gt;&amp;&quot;c&apos;');
  const name = `p99 <"quoted"> & 'more'`;
  const c = parseChart(lineChart({ title: 'T & <U>', x: { label: 'x < 1' }, y: { label: 'y & z' }, series: [{ name, points: [[1, 1], [2, 2]] }] }));
  t.same(c.legend, [name]);
  t.same(c.series.map((s) => s.name), [name]);
  t.equal(c.xLabel, 'x < 1');
});

t.test('a step line is a staircase; thousands of points are thinned to about two per pixel column', async (t) => {
  const c = parseChart(lineChart({ title: 's', x: { label: 'ms', scale: 'linear' }, y: { label: '%', scale: 'linear', include: [0, 100] },
    series: [{ name: 'cdf', step: true, points: [[10, 0], [10, 25], [20, 50], [30, 100]] }] }));
  const [line] = c.series[0].polylines;
  for (let i = 1; i < line.length; i++) {
    const [x0, y0] = line[i - 1], [x1, y1] = line[i];
    t.ok(x0 === x1 || y0 === y1, `segment ${i} is horizontal or vertical`);
  }
  t.equal(c.series[0].markers.length, 0, 'no dots on a step line');
  const fy = invert(c.yTicks, c.yScale);
  t.equal(Math.round(fy(line[line.length - 1][1])), 100, 'ends at the last value');

  const n = 20_000;
  const pts: Pt[] = [[0, 0], ...Array.from({ length: n }, (_, i) => [i / 10, (100 * (i + 1)) / n] as Pt)];
  const svg = lineChart({ title: 'many', x: { label: 'ms', scale: 'linear' }, y: { label: '%', scale: 'linear' }, series: [{ name: 'resumed', step: true, points: pts }] });
  const big = parseChart(svg);
  const drawn = big.series[0].polylines.flat();
  const width = big.plot.right - big.plot.left;
  t.ok(drawn.length <= 2 * (width + 2), `${drawn.length} points for ${width} px`);
  t.equal(Math.round(invert(big.yTicks, big.yScale)(drawn[drawn.length - 1][1])), 100, 'still ends at 100 %');
  t.ok(svg.length < 40_000, `${svg.length} bytes`);
  inside(t, big);
});

t.test('a long legend widens the chart instead of running off it', async (t) => {
  const name = "SIGSTOP: 'role changed' to primary (20 runs), a longer name than any bench writes";
  const c = parseChart(lineChart({ title: 'l', x: { label: 'x' }, y: { label: 'y' }, series: [{ name, points: [[1, 1], [2, 2]] }] }));
  t.ok(c.width > 760, `width ${c.width}`);
  t.ok(c.plot.right - c.plot.left >= 440, 'the plot keeps its width');
  inside(t, c);
});

t.test('guides stretch their axis and stay inside the plot', async (t) => {
  const c = parseChart(lineChart({ title: 'g', x: { label: 'ms' }, y: { label: '%', scale: 'linear' },
    series: [{ name: 'kill', step: true, points: [[17, 0], [37, 100]] }], guides: [{ axis: 'x', value: 1000, label: 'SIGSTOP target 1000 ms' }] }));
  t.equal(c.xScale, 'log', '17..1000 with the guide');
  t.equal(c.xTicks.at(-1)?.value, 1000);
  inside(t, c);
});

t.test('what cannot be drawn is refused with a ChartSpecError that says why', async (t) => {
  const base = { title: 'T', x: { label: 'x' }, y: { label: 'y' } };
  t.throws(() => lineChart({ ...base, series: [] }), { name: 'ChartSpecError', message: /no series has a point/ });
  t.throws(() => lineChart({ ...base, series: [{ name: 's', points: [[1, null]] }] }), { message: /no series has a point/ });
  t.throws(() => lineChart({ ...base, series: [{ name: 's', points: [[1, Infinity]] }] }), { message: /series "s".*not a pair of finite numbers/ });
  t.throws(() => lineChart({ ...base, y: { label: 'y', scale: 'log' }, series: [{ name: 's', points: [[1, 0], [2, 5]] }] }), { message: /logarithmic but has a value 0/ });
  t.throws(() => lineChart({ ...base, series: Array.from({ length: 20 }, (_, i) => ({ name: `s${i}`, points: [[1, i]] })) }), { message: /20 series do not fit/ });
});

t.test('the XML check itself rejects a malformed document', async (t) => {
  t.throws(() => parseXml('<svg xmlns="http://www.w3.org/2000/svg"><g></svg>'), /not well-formed|mismatch/);
  t.throws(() => parseChart('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"></svg>'), /expected one <g class="x-axis">/);
});
