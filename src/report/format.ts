/** Small formatting helpers for terminal tables. */

/** A WAD (or any fixed-point) bigint as a decimal string with `places` digits, rounded toward zero. */
export function formatFixed(value: bigint, decimals = 18, places = 2): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const scale = 10n ** BigInt(decimals);
  const whole = abs / scale;
  const fraction = ((abs % scale) * 10n ** BigInt(places)) / scale;
  const wholeText = whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const text = places > 0 ? `${wholeText}.${fraction.toString().padStart(places, "0")}` : wholeText;
  return negative ? `-${text}` : text;
}

/** USD amount from a WAD value: "$12,345.67". */
export function usd(wad: bigint): string {
  const text = formatFixed(wad, 18, 2);
  return text.startsWith("-") ? `-$${text.slice(1)}` : `$${text}`;
}

/** A plain-text table with a header rule; numeric-looking cells are right-aligned. */
export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = (cell: string) => /^[-+$\d(]/.test(cell) && /\d/.test(cell);
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (numeric(cell) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(headers), rule, ...rows.map(line)].join("\n");
}
