import { expect } from "chai";
import { renderTable } from "../src/report/format";
import {
  FrontierError,
  frontierOrder,
  frontierTable,
  paretoFrontier,
  recommend,
  renderFrontierSvg,
  riskFor,
  type FrontierPoint,
  type Tolerance,
} from "../src/risk/frontier";

/** A point with one or more parameters; `ci` defaults to [estimate, estimate]. */
function point(
  parameters: Record<string, number | string>,
  efficiency: number,
  estimate: number,
  ci: [low: number, high: number] = [estimate, estimate],
): FrontierPoint {
  return { parameters, efficiency, risk: { estimate, low: ci[0], high: ci[1] } };
}

/**
 * Dominance on a hand-built set (efficiency, risk estimate):
 *   0 A (10, 100)  frontier
 *   1 B ( 8, 150)  dominated by A (strictly on both)
 *   2 C (10, 120)  dominated by A only weakly (same efficiency, more risk)
 *   3 D ( 6,  50)  frontier
 *   4 E ( 6,  50)  equal to D: neither dominates the other
 *   5 F ( 5,  50)  dominated by D only weakly (same risk, less efficiency)
 *   6 G (12, 400)  frontier (the most efficient)
 *   7 H ( 7,  80)  frontier (between D and A)
 */
const DOMINANCE: FrontierPoint[] = [
  point({ x: "A" }, 10, 100),
  point({ x: "B" }, 8, 150),
  point({ x: "C" }, 10, 120),
  point({ x: "D" }, 6, 50),
  point({ x: "E" }, 6, 50),
  point({ x: "F" }, 5, 50),
  point({ x: "G" }, 12, 400),
  point({ x: "H" }, 7, 80),
];

/**
 * Three maintenance rates: the most efficient point is within $1,000 on its estimate but not on its
 * CI upper bound, so "estimate" and "upper" recommend different points.
 */
const SWEEP: FrontierPoint[] = [
  point({ "protocol.maintenanceRate": 0.03 }, 20, 900, [600, 1500]),
  point({ "protocol.maintenanceRate": 0.05 }, 15, 700, [500, 950]),
  point({ "protocol.maintenanceRate": 0.08 }, 10, 200, [100, 400]),
];
const TOLERANCE: Tolerance = { maxRiskUsd: 1000, use: "upper" };

/** A 2 × 2 grid over two parameters with a dominated corner (index 3). */
const GRID: FrontierPoint[] = [
  point({ "protocol.maintenanceRate": 0.03, "protocol.hedgeOffset": 0 }, 30, 20_000, [14_000, 28_000]),
  point({ "protocol.maintenanceRate": 0.03, "protocol.hedgeOffset": 0.5 }, 28, 12_500, [9_000, 16_000]),
  point({ "protocol.maintenanceRate": 0.08, "protocol.hedgeOffset": 0 }, 12.5, 0, [0, 250]),
  point({ "protocol.maintenanceRate": 0.08, "protocol.hedgeOffset": 0.5 }, 11, 150, [100, 400]),
];

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/**
 * Checks that every element is closed in order (a stack of tag names), there is one root `<svg>`,
 * attributes are quoted, and text holds no raw `<` or unescaped `&`.
 */
function expectWellFormed(svg: string): void {
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'), "starts with <svg xmlns=…>").to.equal(true);
  expect(svg.endsWith("</svg>"), "ends with </svg>").to.equal(true);
  const tag = /<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  const stack: string[] = [];
  let last = 0;
  let roots = 0;
  for (let m = tag.exec(svg); m !== null; m = tag.exec(svg)) {
    const between = svg.slice(last, m.index);
    expect(between, `text before ${m[0].slice(0, 40)}`).to.not.match(/[<>]/);
    expect(between, "entities").to.not.match(/&(?!(amp|lt|gt|quot|#39);)/);
    last = tag.lastIndex;
    const [, closing, name, , selfClosing] = m;
    if (closing) {
      expect(stack.pop(), `closing </${name}>`).to.equal(name);
    } else if (!selfClosing) {
      if (stack.length === 0) roots++;
      stack.push(name);
    }
  }
  expect(last, "every character belongs to a tag or text").to.equal(svg.length);
  expect(stack, "unclosed elements").to.deep.equal([]);
  expect(roots).to.equal(1);
  expect(count(svg, "<g"), "balanced <g>").to.equal(count(svg, "</g>"));
}

function expectClean(svg: string): void {
  expect(svg).to.not.match(/NaN|undefined|Infinity|null/);
  expect(svg.toLowerCase()).to.not.include("<script");
  expect(svg).to.not.match(/\son\w+=/); // no event handlers
  expect(svg).to.not.match(/href=/); // nothing external
  expectWellFormed(svg);
}

/** The circles of the points, by input index. */
function circles(svg: string): Map<number, { cx: string; cy: string; frontier: string }> {
  const out = new Map<number, { cx: string; cy: string; frontier: string }>();
  const re = /<circle class="point" data-index="(\d+)" data-frontier="(true|false)" cx="([^"]+)" cy="([^"]+)"/g;
  for (let m = re.exec(svg); m !== null; m = re.exec(svg)) {
    out.set(Number(m[1]), { frontier: m[2], cx: m[3], cy: m[4] });
  }
  return out;
}

function attr(element: string, name: string): string {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(element);
  expect(m, `${name} in ${element}`).to.not.equal(null);
  return m![1];
}

function elements(svg: string, cls: string): string[] {
  return svg.match(new RegExp(`<[a-z]+ class="${cls}"[^>]*>`, "g")) ?? [];
}

function tickTexts(svg: string): string[] {
  return [...svg.matchAll(/<text class="tick"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

describe("Risk parameter frontier (src/risk/frontier)", function () {
  describe("paretoFrontier", function () {
    it("flags dominated points (strictly or only weakly) and keeps equal points both", function () {
      expect(paretoFrontier(DOMINANCE)).to.deep.equal([true, false, false, true, true, false, true, true]);
      // frontier order: by efficiency, then risk, then input order (D before its equal twin E)
      expect(frontierOrder(DOMINANCE, paretoFrontier(DOMINANCE))).to.deep.equal([3, 4, 7, 0, 6]);
    });

    it("single points, all-equal points and ties in one coordinate", function () {
      expect(paretoFrontier([point({}, 1, 0)])).to.deep.equal([true]);
      expect(paretoFrontier([point({}, 3, 7), point({}, 3, 7), point({}, 3, 7)])).to.deep.equal([true, true, true]);
      // same efficiency: only the least risky survives; same risk: only the most efficient
      expect(paretoFrontier([point({}, 5, 10), point({}, 5, 9), point({}, 5, 11)])).to.deep.equal([false, true, false]);
      expect(paretoFrontier([point({}, 4, 10), point({}, 6, 10), point({}, 5, 10)])).to.deep.equal([
        false,
        true,
        false,
      ]);
      // the CI plays no part in dominance: only the estimate does
      expect(paretoFrontier([point({}, 5, 10, [0, 99]), point({}, 6, 10, [9, 11])])).to.deep.equal([false, true]);
    });

    it("is deterministic and does not depend on the input order", function () {
      const flags = paretoFrontier(DOMINANCE);
      expect(paretoFrontier(DOMINANCE)).to.deep.equal(flags);
      const reversed = [...DOMINANCE].reverse();
      expect(paretoFrontier(reversed)).to.deep.equal([...flags].reverse());
      expect(DOMINANCE[0]).to.deep.equal(point({ x: "A" }, 10, 100), "the input is not mutated");
    });
  });

  describe("recommend", function () {
    it('"upper" and "estimate" pick different points on the same sweep, each with its sentence', function () {
      const upper = recommend(SWEEP, TOLERANCE);
      expect(upper.index).to.equal(1);
      expect(upper.qualifying).to.deep.equal([1, 2]);
      expect(upper.riskUsd).to.equal(950);
      expect(upper.use).to.equal("upper");
      expect(upper.explanation).to.equal(
        "protocol.maintenanceRate=0.05: 15× exposure per unit of collateral, VaR95 of bad debt $700 " +
          "(95 % CI upper $950) ≤ tolerance $1,000; the most efficient of the 2 of 3 points within tolerance.",
      );
      // "upper" is the default
      expect(recommend(SWEEP, { maxRiskUsd: 1000 })).to.deep.equal(upper);

      const estimate = recommend(SWEEP, { maxRiskUsd: 1000, use: "estimate" });
      expect(estimate.index).to.equal(0);
      expect(estimate.qualifying).to.deep.equal([0, 1, 2]);
      expect(estimate.riskUsd).to.equal(900);
      expect(estimate.explanation).to.equal(
        "protocol.maintenanceRate=0.03: 20× exposure per unit of collateral, VaR95 of bad debt $900 ≤ tolerance $1,000 " +
          "(95 % CI $600–$1,500); the most efficient of all 3 points, all within tolerance. " +
          "Caution: the 95 % CI upper bound $1,500 exceeds the tolerance.",
      );
    });

    it("a tolerance exactly at a point's risk admits it; the CI confidence is worded as given", function () {
      const r = recommend(SWEEP, { maxRiskUsd: 950, use: "upper" }, { confidence: 0.9 });
      expect(r.index).to.equal(1);
      expect(r.explanation).to.equal(
        "protocol.maintenanceRate=0.05: 15× exposure per unit of collateral, VaR95 of bad debt $700 " +
          "(90 % CI upper $950) ≤ tolerance $950; the most efficient of the 2 of 3 points within tolerance.",
      );
      const only = recommend(SWEEP, { maxRiskUsd: 400 });
      expect(only.index).to.equal(2);
      expect(only.explanation).to.match(/; the only one of 3 points within tolerance\.$/);
      expect(recommend([SWEEP[2]], { maxRiskUsd: 400 }).explanation).to.match(/; the only point\.$/);
    });

    it("returns null and names the least risky point and how far over it is when nothing qualifies", function () {
      const none = recommend(SWEEP, { maxRiskUsd: 50, use: "upper" });
      expect(none.index).to.equal(null);
      expect(none.qualifying).to.deep.equal([]);
      expect(none.leastRisky).to.equal(2);
      expect(none.riskUsd).to.equal(400);
      expect(none.explanation).to.equal(
        "No point is within tolerance $50 on the 95 % CI upper bound of VaR95 of bad debt: the least risky of 3 is " +
          "protocol.maintenanceRate=0.08 with 95 % CI upper bound $400 (estimate $200), $350 over, " +
          "at 10× exposure per unit of collateral.",
      );
      // between the estimate and the upper bound: says the estimate alone would admit a point
      const close = recommend(SWEEP, { maxRiskUsd: 250 });
      expect(close.index).to.equal(null);
      expect(close.explanation).to.match(
        /, \$150 over, at 10× exposure per unit of collateral\. On the estimate alone 1 of 3 points would qualify\.$/,
      );
      expect(recommend(SWEEP, { maxRiskUsd: 250, use: "estimate" }).index).to.equal(2);
      const onEstimate = recommend(SWEEP, { maxRiskUsd: 0, use: "estimate" });
      expect(onEstimate.explanation).to.equal(
        "No point is within tolerance $0 on the VaR95 estimate of bad debt: the least risky of 3 is " +
          "protocol.maintenanceRate=0.08 with VaR95 of bad debt $200 (95 % CI $100–$400), $200 over, " +
          "at 10× exposure per unit of collateral.",
      );
    });

    it("ties in efficiency go to the lower risk, then to input order; the sentence says so", function () {
      const tied = [
        point({ fee: 0.01 }, 9, 300, [200, 500]),
        point({ fee: 0.02 }, 9, 250, [200, 450]),
        point({ fee: 0.03 }, 9, 250, [100, 450]),
        point({ fee: 0.04 }, 8, 10, [0, 20]),
      ];
      const r = recommend(tied, { maxRiskUsd: 1000 });
      expect(r.index).to.equal(1);
      expect(r.explanation).to.equal(
        "fee=0.02: 9× exposure per unit of collateral, VaR95 of bad debt $250 (95 % CI upper $450) ≤ tolerance $1,000; " +
          "the most efficient of all 4 points, all within tolerance, tied in efficiency with fee=0.01; fee=0.03 " +
          "(lower risk, then listing order, decides).",
      );
      // the least risky point, with ties in risk going to the more efficient, then the earlier point
      expect(recommend(tied, { maxRiskUsd: 5 }).leastRisky).to.equal(3);
      expect(recommend(tied.slice(0, 3), { maxRiskUsd: 5 }).leastRisky).to.equal(1);
    });

    it('"upper" compares max(high, estimate): an estimate above its CI still counts', function () {
      const odd = point({ k: 1 }, 4, 500, [100, 400]);
      expect(riskFor(odd, "upper")).to.equal(500);
      expect(riskFor(odd, "estimate")).to.equal(500);
      expect(riskFor(SWEEP[0], "upper")).to.equal(1500);
      expect(recommend([odd], { maxRiskUsd: 450 }).index).to.equal(null);
    });

    it("uses labels when given and formats parameters without floating-point noise", function () {
      const pts = [
        { ...point({ a: 0.1 + 0.2, mode: "cross" }, 1234.5, 1_234_567.891, [1_000_000, 2_000_000]) },
        { ...point({ a: 1 }, 2, 5.5, [5, 6]), label: "baseline" },
      ];
      expect(recommend(pts, { maxRiskUsd: 3_000_000 }).explanation).to.equal(
        "a=0.3, mode=cross: 1,235× exposure per unit of collateral, VaR95 of bad debt $1,234,568 " +
          "(95 % CI upper $2,000,000) ≤ tolerance $3,000,000; the most efficient of all 2 points, all within tolerance.",
      );
      expect(recommend(pts, { maxRiskUsd: 10 }).explanation).to.equal(
        "baseline: 2× exposure per unit of collateral, VaR95 of bad debt $5.50 (95 % CI upper $6) ≤ tolerance $10; " +
          "the only one of 2 points within tolerance.",
      );
    });
  });

  describe("input validation", function () {
    const bad = (mutate: (p: FrontierPoint) => void): FrontierPoint[] => {
      const pts = SWEEP.map((p) => ({ ...p, parameters: { ...p.parameters }, risk: { ...p.risk } }));
      mutate(pts[1]);
      return pts;
    };

    it("non-finite numbers and unordered CIs throw a FrontierError naming the point and the field", function () {
      const cases: [(p: FrontierPoint) => void, string][] = [
        [(p) => (p.efficiency = NaN), "efficiency is NaN"],
        [(p) => (p.efficiency = Infinity), "efficiency is Infinity"],
        [(p) => (p.risk.estimate = NaN), "risk.estimate is NaN"],
        [(p) => (p.risk.low = -Infinity), "risk.low is -Infinity"],
        [(p) => (p.risk.high = Infinity), "risk.high is Infinity"],
        [(p) => (p.risk.low = 2000), "risk.low (2000) is above risk.high (950)"],
        [(p) => (p.parameters.fee = NaN), 'parameters["fee"] is NaN'],
      ];
      for (const [mutate, field] of cases) {
        const pts = bad(mutate);
        for (const call of [
          () => paretoFrontier(pts),
          () => recommend(pts, TOLERANCE),
          () => frontierTable(pts, [true, true, true], null),
          () => renderFrontierSvg(pts, [true, true, true], null, TOLERANCE),
        ]) {
          expect(call).to.throw(FrontierError, "point 1 (protocol.maintenanceRate=0.05");
          expect(call).to.throw(FrontierError, field);
        }
      }
      expect(() =>
        recommend(
          bad((p) => (p.efficiency = NaN)),
          TOLERANCE,
        ),
      ).to.throw("recommend: point 1 (protocol.maintenanceRate=0.05): efficiency is NaN, expected a finite number");
    });

    it("an empty list, a bad tolerance, flags or recommendation index throw", function () {
      expect(() => paretoFrontier([])).to.throw(FrontierError, "paretoFrontier: points is empty");
      expect(() => recommend([], TOLERANCE)).to.throw(FrontierError, "recommend: points is empty");
      expect(() => renderFrontierSvg([], [], null, TOLERANCE)).to.throw(FrontierError, "points is empty");
      expect(() => recommend(SWEEP, { maxRiskUsd: -1 })).to.throw(
        FrontierError,
        "recommend: tolerance.maxRiskUsd must be a finite number ≥ 0, got -1",
      );
      expect(() => recommend(SWEEP, { maxRiskUsd: NaN })).to.throw(FrontierError, "tolerance.maxRiskUsd");
      expect(() => recommend(SWEEP, { maxRiskUsd: 1, use: "median" as unknown as "upper" })).to.throw(
        FrontierError,
        'tolerance.use must be "estimate" or "upper", got median',
      );
      expect(() => recommend(SWEEP, TOLERANCE, { confidence: 95 })).to.throw(FrontierError, "confidence");
      expect(() => renderFrontierSvg(SWEEP, [true, true], null, TOLERANCE)).to.throw(
        FrontierError,
        "frontierFlags must have one boolean per point (3), got 2",
      );
      expect(() => renderFrontierSvg(SWEEP, [true, true, true], { index: 3 }, TOLERANCE)).to.throw(
        FrontierError,
        "recommendation.index must be null or in [0, 2], got 3",
      );
      expect(() => renderFrontierSvg(SWEEP, [true, true, true], null, { maxRiskUsd: -5 })).to.throw(
        FrontierError,
        "tolerance.maxRiskUsd",
      );
      expect(() => renderFrontierSvg(SWEEP, [true, true, true], null, TOLERANCE, { width: NaN })).to.throw(
        FrontierError,
        "options.width",
      );
    });
  });

  describe("frontierTable", function () {
    it("one row per point: parameters, efficiency, VaR95 [CI], frontier, recommended ★", function () {
      const flags = paretoFrontier(GRID);
      const rec = recommend(GRID, { maxRiskUsd: 500 });
      expect(rec.index).to.equal(2);
      const table = frontierTable(GRID, flags, rec);
      expect(table.headers).to.deep.equal([
        "protocol.maintenanceRate",
        "protocol.hedgeOffset",
        "efficiency",
        "VaR95 [95 % CI]",
        "on frontier",
        "recommended",
      ]);
      expect(table.rows).to.deep.equal([
        ["0.03", "0", "30×", "$20,000 [$14,000, $28,000]", "yes", ""],
        ["0.03", "0.5", "28×", "$12,500 [$9,000, $16,000]", "yes", ""],
        ["0.08", "0", "12.5×", "$0 [$0, $250]", "yes", "★"],
        ["0.08", "0.5", "11×", "$150 [$100, $400]", "no", ""],
      ]);
      expect(renderTable(table.headers, table.rows).split("\n")).to.have.length(6);
      // a missing parameter shows a dash; labels get their own column
      const mixed = frontierTable(
        [point({ a: 1 }, 1, 1), { ...point({ b: "x" }, 2, 2), label: "L" }],
        [true, true],
        null,
      );
      expect(mixed.headers.slice(0, 3)).to.deep.equal(["point", "a", "b"]);
      expect(mixed.rows.map((r) => r.slice(0, 3))).to.deep.equal([
        ["", "1", "—"],
        ["L", "—", "x"],
      ]);
    });
  });

  describe("renderFrontierSvg", function () {
    it("draws one circle per point, the frontier step line, the tolerance line, the recommended ring and the labels", function () {
      const flags = paretoFrontier(SWEEP);
      const rec = recommend(SWEEP, TOLERANCE);
      const svg = renderFrontierSvg(SWEEP, flags, rec, TOLERANCE);
      expectClean(svg);
      const pts = circles(svg);
      expect(count(svg, '<circle class="point"')).to.equal(3);
      expect([...pts.keys()].sort()).to.deep.equal([0, 1, 2]);
      expect([0, 1, 2].map((i) => pts.get(i)!.frontier)).to.deep.equal(["true", "true", "true"]);
      // error bars: one per point, from the CI low to the CI high
      expect(elements(svg, "error-bar")).to.have.length(3);

      // the frontier: 2 (10×, $200) → up to $700 → right to 1 (15×, $700) → up to $900 → right to 0 (20×, $900)
      const paths = elements(svg, "frontier");
      expect(paths).to.have.length(1);
      const [p0, p1, p2] = [pts.get(0)!, pts.get(1)!, pts.get(2)!];
      expect(attr(paths[0], "d")).to.equal(
        `M${p2.cx},${p2.cy} L${p2.cx},${p1.cy} L${p1.cx},${p1.cy} L${p1.cx},${p0.cy} L${p0.cx},${p0.cy}`,
      );

      // ticks: nice steps with readable labels; x from 5× to 25×, y from $0 to $2,000
      expect(tickTexts(svg)).to.deep.equal([
        "$0",
        "$500",
        "$1,000",
        "$1,500",
        "$2,000",
        "5×",
        "10×",
        "15×",
        "20×",
        "25×",
      ]);
      const grid = elements(svg, "grid");
      const thousand = grid[2]; // the $1,000 grid line
      const tolerance = elements(svg, "tolerance");
      expect(tolerance).to.have.length(1);
      expect(attr(tolerance[0], "y1")).to.equal(attr(tolerance[0], "y2"));
      expect(attr(tolerance[0], "y1")).to.equal(attr(thousand, "y1"), "the tolerance line sits at $1,000");
      expect(attr(tolerance[0], "stroke-dasharray")).to.not.equal("");
      expect(svg).to.include(">tolerance $1,000</text>");

      // the recommended point: one ring around circle 1, and the point in the highlight colour
      const rings = elements(svg, "recommended-ring");
      expect(rings).to.have.length(1);
      expect([attr(rings[0], "cx"), attr(rings[0], "cy")]).to.deep.equal([p1.cx, p1.cy]);
      expect(svg).to.match(/<circle class="point" data-index="1"[^>]*fill="#ea580c"/);

      // labels: one per point with its short k=v
      expect(count(svg, '<text class="point-label"')).to.equal(3);
      for (const v of ["0.03", "0.05", "0.08"]) expect(svg).to.include(`>maintenanceRate=${v}</tspan>`);
      // axis titles, legend, tooltips with the full figures
      expect(svg).to.include("VaR95 of bad debt (USD)");
      expect(svg).to.include("capital efficiency");
      expect(svg).to.match(
        /<g class="legend">.*on the Pareto frontier.*dominated.*Pareto frontier.*95 % CI of VaR95.*tolerance \$1,000 \(on the CI upper bound\).*recommended<\/text>/,
      );
      expect(svg).to.include(
        "<title>protocol.maintenanceRate=0.05: 15× exposure per unit of collateral, VaR95 of bad debt $700 (95 % CI $500–$950), on the Pareto frontier, recommended</title>",
      );
    });

    it("two parameters: both in every label; dominated points drawn hollow; no ring without a recommendation", function () {
      const flags = paretoFrontier(GRID);
      expect(flags).to.deep.equal([true, true, true, false]);
      const none = recommend(GRID, { maxRiskUsd: 100 });
      expect(none.index).to.equal(null);
      const svg = renderFrontierSvg(GRID, flags, none, { maxRiskUsd: 100 }, { title: "Maintenance × hedge" });
      expectClean(svg);
      expect(count(svg, '<circle class="point"')).to.equal(4);
      expect(circles(svg).get(3)!.frontier).to.equal("false");
      expect(svg).to.match(/<circle class="point" data-index="3"[^>]*fill="#fff"/);
      expect(elements(svg, "recommended-ring")).to.have.length(0);
      expect(svg).to.include("recommended: none within tolerance");
      expect(svg).to.include(">Maintenance × hedge</text>");
      const labels = [...svg.matchAll(/<text class="point-label" data-index="(\d)"[^>]*>(.*?)<\/text>/g)];
      expect(labels).to.have.length(4);
      const byIndex = new Map(
        labels.map((m) => [
          Number(m[1]),
          m[2]
            .replace(/<[^>]+>/g, " ")
            .trim()
            .split(/\s+/),
        ]),
      );
      expect(byIndex.get(0)).to.deep.equal(["maintenanceRate=0.03", "hedgeOffset=0"]);
      expect(byIndex.get(3)).to.deep.equal(["maintenanceRate=0.08", "hedgeOffset=0.5"]);
      // y axis in thousands
      expect(tickTexts(svg).slice(0, 4)).to.deep.equal(["$0", "$5k", "$10k", "$15k"]);
      // the frontier path goes through the three frontier points only: 1 + 2 × 2 commands
      expect(attr(elements(svg, "frontier")[0], "d").split(" ")).to.have.length(5);
    });

    it("degenerate inputs: all risk 0, a single point, identical points, zero tolerance — no NaN", function () {
      const cases: [string, FrontierPoint[], Tolerance][] = [
        ["all risk 0", [point({ m: 1 }, 2, 0), point({ m: 2 }, 3, 0), point({ m: 3 }, 4, 0)], { maxRiskUsd: 0 }],
        ["single point", [point({ m: 1 }, 5, 0)], { maxRiskUsd: 5000 }],
        ["single point at risk", [point({ m: 1 }, 5, 70, [60, 90])], { maxRiskUsd: 10 }],
        ["identical points", [point({ m: 1 }, 5, 7), point({ m: 1 }, 5, 7)], { maxRiskUsd: 7, use: "estimate" }],
        ["zero efficiency", [point({}, 0, 0), point({}, 0, 0)], { maxRiskUsd: 0 }],
        [
          "negative and tiny",
          [point({ m: -1 }, -0.001, 0.004, [0.001, 0.01]), point({ m: 2 }, 0.002, 0)],
          { maxRiskUsd: 1 },
        ],
        [
          "tolerance far above",
          [point({ m: 1 }, 5, 10, [8, 12]), point({ m: 2 }, 6, 20, [15, 30])],
          { maxRiskUsd: 1e6 },
        ],
      ];
      for (const [name, pts, tol] of cases) {
        const flags = paretoFrontier(pts);
        const rec = recommend(pts, tol);
        const svg = renderFrontierSvg(pts, flags, rec, tol);
        expect(() => expectClean(svg), name).to.not.throw();
        expect(count(svg, '<circle class="point"'), name).to.equal(pts.length);
        expect(elements(svg, "frontier"), name).to.have.length(1);
        expect(elements(svg, "tolerance"), name).to.have.length(1);
        expect(elements(svg, "recommended-ring"), name).to.have.length(rec.index === null ? 0 : 1);
        expect(count(svg, '<text class="point-label"'), name).to.equal(pts.length);
        expect(tickTexts(svg).length, name).to.be.at.least(4);
      }
      // a single frontier point still gets a (zero-length) frontier path
      const single = renderFrontierSvg([point({ m: 1 }, 5, 0)], [true], null, { maxRiskUsd: 5000 });
      const c = circles(single).get(0)!;
      expect(attr(elements(single, "frontier")[0], "d")).to.equal(`M${c.cx},${c.cy} L${c.cx},${c.cy}`);
      expect(tickTexts(single)).to.deep.equal([
        "$0",
        "$1,000",
        "$2,000",
        "$3,000",
        "$4,000",
        "$5,000",
        "$6,000",
        "4.4×",
        "4.6×",
        "4.8×",
        "5.0×",
        "5.2×",
        "5.4×",
        "5.6×",
      ]);
      // all risk 0 and tolerance 0: the y axis becomes [0, 1]
      const zero = renderFrontierSvg([point({ m: 1 }, 2, 0)], [true], null, { maxRiskUsd: 0 });
      expect(tickTexts(zero).slice(0, 6)).to.deep.equal(["$0", "$0.2", "$0.4", "$0.6", "$0.8", "$1.0"]);
      // a tolerance far above every risk figure sits at the top edge, marked as off the scale
      const far = renderFrontierSvg([point({ m: 1 }, 5, 10, [8, 12])], [true], null, { maxRiskUsd: 1e6 });
      expect(far).to.include(">tolerance $1,000,000 ↑ (above the chart)</text>");
      // the y axis stays fitted to the data ($0–$15), not stretched to $1,000,000
      expect(tickTexts(far).slice(0, 5)).to.deep.equal(["$0", "$5", "$10", "$15", "4.4×"]);
    });

    it("escapes text for XML and drops characters XML forbids", function () {
      const hostile = "<script>alert(\"x\")</script> & 'q'\u0001";
      const pts = [
        { ...point({ [hostile]: hostile }, 2, 1), label: undefined },
        { ...point({ a: 1 }, 3, 2), label: hostile },
      ];
      const svg = renderFrontierSvg(
        pts,
        paretoFrontier(pts),
        recommend(pts, { maxRiskUsd: 5 }),
        { maxRiskUsd: 5 },
        {
          title: hostile,
          efficiencyTitle: hostile,
          riskTitle: hostile,
        },
      );
      expectClean(svg);
      expect(svg).to.include("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;");
      expect(svg).to.not.include("\u0001");
    });

    it("is deterministic: the same input gives the same string, and the chart's size follows the options", function () {
      const flags = paretoFrontier(GRID);
      const rec = recommend(GRID, { maxRiskUsd: 500 });
      const a = renderFrontierSvg(GRID, flags, rec, { maxRiskUsd: 500 });
      const b = renderFrontierSvg(
        GRID.map((p) => ({ ...p })),
        [...flags],
        { ...rec },
        { maxRiskUsd: 500, use: "upper" },
      );
      expect(b).to.equal(a);
      expect(recommend(GRID, { maxRiskUsd: 500 })).to.deep.equal(rec);
      const small = renderFrontierSvg(GRID, flags, rec, { maxRiskUsd: 500 }, { width: 400, height: 300 });
      expectClean(small);
      expect(small).to.include('viewBox="0 0 400 300" width="400" height="300"');
      expect(a).to.include('viewBox="0 0 720 440" width="720" height="440"');
    });
  });
});
