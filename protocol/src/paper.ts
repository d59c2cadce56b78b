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
 * per depth (below); plain nets and ResNets in separate panels, as in Fig. 6.
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
