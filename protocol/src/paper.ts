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
 * per depth (distinct shades of it for option B/C and variants: netColours); plain nets and ResNets in
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
 * Colours of the nets shown together: the paper's net of each family and depth (option A, no
 * variant) in its depth's colour, the other nets of that family and depth (option B or C, pre-activation, no warm-up, ...) in
 * distinct shades of it, in the order of their labels. Every view gets the same colours for the
 * same runs. Keyed by `key` (the net as errorLines groups it; repeated keys are one net).
 */
export function netColours(
  nets: Array<{ key: string; label: string; family: string; depth: number; paper: boolean }>,
): Map<string, string> {
  const colours = new Map<string, string>();
  const byFamilyAndDepth = new Map<string, typeof nets>();
  const seen = new Set<string>();
  for (const net of nets) {
    if (seen.has(net.key)) continue;
    seen.add(net.key);
    const where = `${net.family}\u0000${net.depth}`;
    byFamilyAndDepth.set(where, [...(byFamilyAndDepth.get(where) ?? []), net]);
  }
  for (const group of byFamilyAndDepth.values()) {
    const base = depthColour(group[0].depth);
    const ordered = [...group].sort((a, b) => Number(b.paper) - Number(a.paper) || a.label.localeCompare(b.label));
    const firstShaded = ordered[0].paper ? 1 : 0;
    ordered.forEach((net, i) => colours.set(net.key, i < firstShaded ? base : shadeOf(base, i - firstShaded)));
  }
  return colours;
}

/** The `index`-th shade of `colour`: darker and lighter in turn (near-black: lighter only), then repeating. */
function shadeOf(colour: string, index: number): string {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour);
  const channels = hex ? hex.slice(1).map((h) => parseInt(h, 16)) : undefined;
  const nearBlack = channels !== undefined && Math.max(...channels) < 64;
  const amounts = nearBlack ? [0.35, 0.6, 0.2, 0.75, 0.48] : [-0.45, 0.45, -0.7, 0.65, -0.25, 0.25];
  const amount = amounts[index % amounts.length];
  if (channels) {
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
