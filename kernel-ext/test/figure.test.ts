import { strict as assert } from 'assert';
import { PlotlyFigure } from 'reslab';
import { depthColour, errorLines, PLOTLY_MIME } from 'reslab-protocol';
import { figureBundle, figureHtml, figureSvg } from '../src/figure';

/** Two panels as reslab draws them: a mean line over its seed band (the edges as reslab-protocol orders them), and a heatmap. */
const FIGURE: PlotlyFigure = {
  data: [
    {
      type: 'scatter',
      name: 'ResNet-20 (highest seed)',
      x: [0, 100, 200],
      y: [90, 70, 56],
      xaxis: 'x',
      showlegend: false,
      line: { width: 0 },
    },
    {
      type: 'scatter',
      name: 'ResNet-20 (lowest seed)',
      x: [0, 100, 200],
      y: [90, 60, 50],
      xaxis: 'x',
      fill: 'tonexty',
      showlegend: false,
      line: { width: 0, color: '#1f77b4' },
    },
    {
      type: 'scatter',
      name: 'ResNet-20 <b>mean</b>',
      mode: 'lines+markers',
      x: [0, 100, 200],
      y: [90, 65, 53],
      xaxis: 'x',
      line: { color: '#1f77b4' },
    },
    { type: 'scatter', name: 'plain-20', x: [0, 100, 200], y: [90, 80, 75], xaxis: 'x', line: { color: '#d62728', dash: 'dash' } },
    { type: 'scatter', name: 'ResNet-20 intact', x: [0, 200], y: [52, 52], xaxis: 'x', line: { color: '#1f77b4', dash: 'dot' } },
    {
      type: 'heatmap',
      name: 'blocks',
      x: [0, 100],
      y: ['block <1>', 'block 2', 'block 3'],
      z: [
        [1, 0.5],
        [0.4, 0.2],
        [Number.NaN, 0.1],
      ],
      xaxis: 'x2',
    },
  ],
  layout: {
    title: { text: 'A lesson figure' },
    xaxis: { title: { text: 'iteration' } },
    yaxis: { title: { text: 'error (%)' } },
    xaxis2: { title: { text: 'probe iteration' } },
    annotations: [
      { text: 'Error', xref: 'x domain' },
      { text: '‖F(x)‖/‖x‖', xref: 'x2 domain' },
    ],
  },
};

describe('static figures (what nbconvert and GitHub show of a lesson figure)', () => {
  const svg = figureSvg(FIGURE);

  it('draws one panel per x axis, each with its own title and axis labels', () => {
    assert.match(svg, />Error</);
    assert.match(svg, />‖F\(x\)‖\/‖x‖</);
    assert.match(svg, />iteration</);
    assert.match(svg, />probe iteration</);
    assert.match(svg, />error \(%\)</);
  });

  it('a band fills between the lowest and the highest seed; lines keep their dash; markers are drawn', () => {
    const polygons = svg.match(/<polygon [^>]*points="([^"]+)"/g) ?? [];
    assert.equal(polygons.length, 1, 'one band');
    const points = (polygons[0].match(/points="([^"]+)"/) as RegExpMatchArray)[1].split(' ');
    assert.equal(points.length, 6, 'the highest seed forward, the lowest back');
    assert.equal(points[0].split(',')[0], points[5].split(',')[0], 'the band closes at the first iteration');
    assert.notEqual(points[1], points[4], 'the band has a width where the seeds differ');
    assert.equal((svg.match(/stroke-dasharray="6,3"/g) ?? []).length, 1, 'plain-20 dashed');
    assert.equal((svg.match(/<circle /g) ?? []).length, 3, 'a marker per point of the mean');
    assert.equal((svg.match(/<polyline /g) ?? []).length, 3, 'the zero-width band edges draw no line');
    assert.equal((svg.match(/stroke-dasharray="2,3"/g) ?? []).length, 1, 'the intact line dotted');
  });

  it('a heatmap is a cell per value, a missing value marked as not measured, and its range written out', () => {
    const cells = svg.match(/<rect x="[^"]+" y="[^"]+" width="[^"]+" height="[^"]+" fill="[^"]+"><title>/g) ?? [];
    assert.equal(cells.length, 6);
    assert.match(svg, /block 3 @ 0: not measured/);
    assert.match(svg, /dark 0\.10 → light 1\.0/);
  });

  it('a colour that is not a colour value never reaches an attribute', () => {
    const hostile = figureSvg({
      data: [{ type: 'scatter', name: 'x', x: [0, 1], y: [1, 2], line: { color: '"/><script>alert(1)</script>' } }],
      layout: {},
    });
    assert.doesNotMatch(hostile, /<script>/);
    assert.match(hostile, /stroke="#333"/);
  });

  it('names are text: markup in a trace name or a block label is escaped', () => {
    assert.doesNotMatch(svg, /<b>|<1>/);
    assert.match(svg, /block &lt;1&gt;/);
    const html = figureHtml(FIGURE);
    assert.match(html, /ResNet-20 &lt;b&gt;mean&lt;\/b&gt;/);
    assert.doesNotMatch(html, /<b>mean/);
  });

  it('the legend names each shown trace once and says what the band is', () => {
    const html = figureHtml(FIGURE);
    assert.doesNotMatch(html, /lowest seed\)<\/span>/, 'band edges are not in the legend');
    assert.match(html, /━━ ResNet-20/);
    assert.match(html, /╌╌ plain-20/);
    assert.match(html, /┈┈ ResNet-20 intact/);
    assert.match(html, /shaded: from the lowest to the highest seed/);
  });

  it('the bundle carries the Plotly spec for interactive renderers and the static HTML for the rest', () => {
    const bundle = figureBundle(FIGURE);
    assert.equal(bundle[PLOTLY_MIME], FIGURE);
    assert.equal(bundle['text/plain'], 'A lesson figure (6 traces)');
    assert.match(String(bundle['text/html']), /^<div class="reslab-figure"><b>A lesson figure<\/b><br><svg /);
  });
});

describe('colours of the nets of one depth (every view: reslab-protocol errorLines)', () => {
  const curve = { iteration: [0, 10], value: [0.9, 0.5] };
  const run = (runId: string, depth: number, shortcut: string, variant?: string, seed = 0) => ({
    runId,
    run: { family: 'resnet' as const, depth, seed, shortcut, variant },
    trainError: curve,
    testError: curve,
  });
  const colours = (runs: Array<ReturnType<typeof run>>, seeds: 'mean' | 'each' = 'mean') =>
    new Map(errorLines(runs, { kinds: ['test'], seeds }).map((l) => [l.runId, l.colour]));

  it("the paper's net keeps its depth's colour; options B and C get distinct shades of it", () => {
    const shown = colours([run('c', 20, 'C'), run('a', 20, 'A'), run('b', 20, 'B'), run('r32', 32, 'A')]);
    assert.equal(shown.get('a'), depthColour(20));
    assert.equal(shown.get('r32'), depthColour(32));
    assert.equal(new Set(shown.values()).size, 4, [...shown.values()].join(', '));
    const reordered = colours([run('b', 20, 'B'), run('a', 20, 'A'), run('c', 20, 'C')]);
    assert.deepEqual(
      ['a', 'b', 'c'].map((id) => reordered.get(id)),
      ['a', 'b', 'c'].map((id) => shown.get(id)),
      'independent of the order of the runs',
    );
  });

  it('two runs of one net with the same seed are a mean of 2 runs, not of 2 seeds', () => {
    const lines = errorLines([run('first', 20, 'A'), run('again', 20, 'A'), run('s1', 32, 'A'), run('s2', 32, 'A', undefined, 1)], {
      kinds: ['test'],
    });
    assert.deepEqual(
      lines.map((l) => l.label),
      ['ResNet-20 (mean of 2 runs)', 'ResNet-32 (mean of 2 seeds)'],
    );
  });

  it("ResNet-110's variants are told apart from its near-black and from each other; seeds of one net share its colour", () => {
    const runs = [
      run('warm', 110, 'A'),
      run('cold', 110, 'A', 'no warm-up'),
      run('zero', 110, 'A', 'zero-init residual, no warm-up'),
      run('pre', 110, 'A', 'pre-activation'),
      run('pre1', 110, 'A', 'pre-activation', 1),
    ];
    const each = colours(runs, 'each');
    assert.equal(each.get('warm'), depthColour(110));
    assert.equal(new Set(['warm', 'cold', 'zero', 'pre'].map((id) => each.get(id))).size, 4);
    for (const id of ['cold', 'zero', 'pre']) assert.ok(parseInt((each.get(id) as string).slice(1, 3), 16) >= 64, `${id}: ${each.get(id)}`);
    assert.equal(each.get('pre1'), each.get('pre'));
    assert.match(
      colours([run('a', 7, 'A'), run('b', 7, 'B')]).get('b') as string,
      /^hsl\(\d+, 60%, \d+%\)$/,
      'a depth without a fixed colour is shaded too',
    );
  });
});
