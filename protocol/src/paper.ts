/** Facts from the paper (He et al. 2015) that every view shows the same way. Dependency-free. */

/** Table 6: CIFAR-10 test error (%) of the ResNets; 110 is the best run (mean 6.61 ± 0.16). */
export const PAPER_TABLE6: Record<number, number> = { 20: 8.75, 32: 7.51, 44: 7.17, 56: 6.97, 110: 6.43, 1202: 7.93 };

const DEPTH_COLOURS: Record<number, string> = {
  8: '#17becf',
  14: '#8c564b',
  20: '#e6a700',
  32: '#2ca02c',
  44: '#d62728',
  56: '#1f77b4',
  110: '#111111',
  1202: '#9467bd',
};

/**
 * How every view draws error curves (the report, the static fallback, the JupyterLab sidebar), as
 * in the paper's figures: training error thin and dashed, test error bold and solid, one colour
 * per depth (a shade of it for option B/C and each variant: netColour); plain nets and ResNets in
 * separate panels, as in Fig. 6.
 */
export const ERROR_CURVES = {
  train: { dash: 'dash', width: 1.3, svgDasharray: '5,3' },
  test: { dash: 'solid', width: 2.5 },
  legend: 'dashed: training error, bold: test error',
} as const;

/** One colour per depth, shared by the report, the static fallback and the JupyterLab plugin. */
export function depthColour(depth: number): string {
  return DEPTH_COLOURS[depth] ?? `hsl(${(depth * 47) % 360}, 60%, 40%)`;
}

/**
 * The colour of a net as trained: its depth's colour for the paper's net (option A, no variant);
 * a darker or lighter shade of it for option B and C and for each variant (pre-activation, no
 * warm-up, ...), so that the nets of one depth are told apart in one figure. The same in every view.
 */
export function netColour(run: { depth: number; shortcut?: string; variant?: string }): string {
  const base = depthColour(run.depth);
  const option = run.shortcut && run.shortcut !== 'A' ? run.shortcut : '';
  const key = `${option}|${run.variant ?? ''}`;
  if (key === '|') return base;
  const fixed: Record<string, number> = { 'B|': -0.45, 'C|': 0.45 };
  let hash = 0;
  for (const c of key) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return shade(base, fixed[key] ?? VARIANT_SHADES[hash % VARIANT_SHADES.length]);
}

const VARIANT_SHADES = [-0.4, 0.4, -0.65, 0.6, -0.2, 0.25];

/** `colour` mixed with black (amount < 0) or white (amount > 0); hex and hsl() colours. */
function shade(colour: string, amount: number): string {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour);
  if (hex) {
    const channels = hex.slice(1).map((h) => parseInt(h, 16));
    const mixed = channels.map((c) => Math.round(amount < 0 ? c * (1 + amount) : c + (255 - c) * amount));
    return `#${mixed.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
  }
  const hsl = /^hsl\((\d+), (\d+)%, (\d+)%\)$/.exec(colour);
  if (!hsl) return colour;
  const lightness = Number(hsl[3]);
  const shaded = amount < 0 ? lightness * (1 + amount) : lightness + (100 - lightness) * amount;
  return `hsl(${hsl[1]}, ${hsl[2]}%, ${Math.round(shaded)}%)`;
}

/** Viridis at `t` in [0, 1] (five stops, linear between them): the heatmaps' colours in every static view, as Plotly's 'Viridis'. */
export function viridis(t: number): string {
  const stops = [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
  ];
  const at = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const k = Math.min(stops.length - 2, Math.floor(at));
  const f = at - k;
  const [r, g, b] = stops[k].map((c, i) => Math.round(c + (stops[k + 1][i] - c) * f));
  return `rgb(${r}, ${g}, ${b})`;
}
