/** The part of plotly.js that the views use. */
declare module 'plotly.js-dist-min' {
  type Data = Record<string, unknown>;
  const Plotly: {
    react(root: HTMLElement, data: Data[], layout: Data, config?: Data): Promise<HTMLElement>;
    purge(root: HTMLElement): void;
    downloadImage(root: HTMLElement, options: { format: 'png' | 'svg'; filename: string; width: number; height: number }): Promise<string>;
    Plots: { resize(root: HTMLElement): void };
  };
  export default Plotly;
}
