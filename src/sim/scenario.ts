/**
 * Scenario files (DESIGN §11): JSON validated with zod before anything runs. An invalid file is
 * rejected with every problem listed by its field path and what was expected.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { PriceModelError, validateCorrelation, type RegimeSpec } from "./prices";

/** Oracle symbols of the local deployment (DESIGN §13); WETH is priced by ETH, WBTC by BTC. */
export const SYMBOLS = ["ETH", "BTC", "STETH", "USDC"] as const;
/** Markets in id order: 1 ETH-PERP, 2 BTC-PERP, 3 STETH-PERP. */
export const MARKETS = ["ETH", "BTC", "STETH"] as const;
export const COLLATERAL = ["USDC", "WETH", "WBTC"] as const;
export const STRATEGIES = ["directional", "hedged", "marketMaker", "topUp", "reckless"] as const;

export type SymbolName = (typeof SYMBOLS)[number];
export type MarketName = (typeof MARKETS)[number];
export type CollateralName = (typeof COLLATERAL)[number];
export type Strategy = (typeof STRATEGIES)[number];

export const SCENARIO_DIR = path.resolve(__dirname, "../../scenarios");

const symbol = z.enum(SYMBOLS);
const market = z.enum(MARKETS);
const collateral = z.enum(COLLATERAL);
const positive = z.number().finite().positive();
const nonNegative = z.number().finite().nonnegative();
const fraction = z.number().finite().min(0).max(1);
/** [min, max] with min ≤ max. */
const range = (item: z.ZodNumber) =>
  z.tuple([item, item]).refine(([lo, hi]) => lo <= hi, { message: "expected [min, max] with min ≤ max" });
/** A weight map: non-negative weights, at least one positive. */
const weights = <K extends z.ZodEnum<[string, ...string[]]>>(keys: K) =>
  z.record(keys, nonNegative).refine((w) => Object.values<number | undefined>(w).some((v) => (v ?? 0) > 0), {
    message: "expected at least one positive weight",
  });

const DEFAULT_INITIAL: Record<SymbolName, number> = { ETH: 3_000, BTC: 60_000, STETH: 2_990, USDC: 1 };
const DEFAULT_VOLATILITY: Record<SymbolName, number> = { ETH: 0.8, BTC: 0.6, STETH: 0.8, USDC: 0 };
const DEFAULT_CORRELATION: Record<string, number> = { "ETH/BTC": 0.7, "ETH/STETH": 0.98, "BTC/STETH": 0.7 };

const pairKey = z
  .string()
  .regex(/^(ETH|BTC|STETH|USDC)\/(ETH|BTC|STETH|USDC)$/, { message: 'expected a pair like "ETH/BTC"' });

const leg = z
  .object({
    market,
    side: z.enum(["long", "short"]),
    /** Share of the trader's notional on this leg (normalized over the legs). */
    weight: positive.default(1),
  })
  .strict();

const cohort = z
  .object({
    name: z.string().min(1),
    count: z.number().int().min(1).max(100_000),
    strategy: z.enum(STRATEGIES),
    /** Collateral value deposited per trader (USD), drawn log-uniformly. */
    equityUsd: range(positive).default([5_000, 50_000]),
    /** Gross notional ÷ haircut collateral value, drawn uniformly. At most 19 (IM is 5 %). */
    leverage: range(z.number().finite().min(0.1).max(19)).default([2, 5]),
    /** How the deposit is split between tokens (shares, normalized). */
    collateral: weights(collateral).default({ USDC: 1 }),
    /** Markets a directional trader picks from (weights) and how many distinct ones it holds. */
    markets: weights(market).default({ ETH: 1 }),
    legs: z.number().int().min(1).max(3).default(1),
    /** Probability that a directional leg is long. */
    longShare: fraction.default(0.5),
    /** Explicit legs; replace markets / legs / longShare. */
    positions: z.array(leg).min(1).max(3).optional(),
    /** Hedged traders: long the first market, short the second, equal notional. */
    pair: z.tuple([market, market]).default(["ETH", "STETH"]),
    /** Probability per step that a directional or reckless trader resizes one leg by ±10–50 %. */
    tradeProbability: fraction.default(0),
    /** topUp: deposit when equity ÷ maintenance margin falls below this, back up to `topUpTo`. */
    topUpBelow: z.number().finite().min(1).default(1.5),
    topUpTo: z.number().finite().min(1).default(3),
    /** USDC kept in the wallet for top-ups, as a share of the deposit. */
    reserveShare: nonNegative.default(1),
    /** marketMaker: each step trade toward −skew × lean, within its notional. */
    lean: fraction.default(0.25),
    /** reckless: add `addPct` % to every leg each time equity falls another `addOnLossPct` %. */
    addOnLossPct: positive.default(5),
    addPct: positive.default(25),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.topUpTo < c.topUpBelow) {
      ctx.addIssue({ code: "custom", path: ["topUpTo"], message: "expected topUpTo ≥ topUpBelow" });
    }
    if (c.pair[0] === c.pair[1]) {
      ctx.addIssue({ code: "custom", path: ["pair"], message: "expected two different markets" });
    }
    const markets = (c.positions ?? []).map((p) => p.market);
    if (new Set(markets).size !== markets.length) {
      ctx.addIssue({ code: "custom", path: ["positions"], message: "expected each market at most once" });
    }
    const available = Object.entries(c.markets).filter(([, w]) => (w ?? 0) > 0).length;
    if (!c.positions && c.strategy !== "hedged" && c.legs > available) {
      ctx.addIssue({
        code: "custom",
        path: ["legs"],
        message: `expected at most ${available} (the markets with a positive weight)`,
      });
    }
  });

export const scenarioSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, {
      message: "expected lower-case letters, digits and dashes (used in file names)",
    }),
    description: z.string().default(""),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .default(1),
    steps: z.number().int().min(1).max(100_000),
    /** Chain seconds per step. */
    stepSeconds: z.number().int().min(1).max(86_400).default(60),
    prices: z
      .object({
        initial: z.record(symbol, positive).default({}),
        /** Annualized volatility (0.8 = 80 %). */
        volatility: z.record(symbol, nonNegative).default({}),
        /** Annualized drift. */
        drift: z.record(symbol, z.number().finite()).default({}),
        /** Correlations of the GBM shocks by pair ("ETH/BTC": 0.7); unlisted pairs use the defaults. */
        correlation: z.record(pairKey, z.number().finite().min(-1).max(1)).default({}),
        jumps: z
          .array(
            z
              .object({
                symbols: z.array(symbol).min(1),
                intensityPerDay: nonNegative,
                meanPct: z.number().finite().gt(-100),
                stdPct: nonNegative.default(0),
              })
              .strict(),
          )
          .default([]),
        shocks: z
          .array(
            z
              .object({
                step: z.number().int().min(1),
                symbol,
                pct: z.number().finite().gt(-100),
                overSteps: z.number().int().min(1).default(1),
              })
              .strict(),
          )
          .default([]),
        /** CSV file (timestamp,symbol,price), relative to the scenario file; its symbols are replayed. */
        csv: z.string().min(1).optional(),
        /**
         * Symbols replayed from another CSV symbol's rows (`source`), from their own initial price, with
         * the source's step log-returns × `scale`, or rescaled to the annualized `volatility`
         * (see ReplayAsSpec in prices.ts). Needs `csv`. Optional (no default): absent, the validated
         * scenario and its hash are as before.
         */
        replayAs: z
          .array(
            z
              .object({
                source: z.string().min(1),
                symbol,
                volatility: nonNegative.optional(),
                scale: nonNegative.optional(),
              })
              .strict(),
          )
          .optional(),
        /**
         * Steps fromStep … toStep (default: the last) with another correlation (by pair; unlisted pairs keep
         * the scenario's), volatility and drift (unlisted symbols keep theirs); same random draws.
         */
        regimes: z
          .array(
            z
              .object({
                fromStep: z.number().int().min(1),
                toStep: z.number().int().min(1).optional(),
                correlation: z.record(pairKey, z.number().finite().min(-1).max(1)).optional(),
                volatility: z.record(symbol, nonNegative).optional(),
                drift: z.record(symbol, z.number().finite()).optional(),
              })
              .strict(),
          )
          .optional(),
        /**
         * Brownian bridges: the symbol's log-price from step fromStep − 1 is pinned at the target at toStep
         * (exactly one of targetPct, relative to the price at fromStep − 1, and targetPrice, USD).
         */
        bridges: z
          .array(
            z
              .object({
                symbol,
                fromStep: z.number().int().min(1),
                toStep: z.number().int().min(1),
                targetPct: z.number().finite().gt(-100).optional(),
                targetPrice: positive.optional(),
              })
              .strict(),
          )
          .optional(),
      })
      .strict()
      .default({}),
    impact: z
      .object({
        enabled: z.boolean().default(false),
        /** Oracle move = factor × liquidated notional ÷ depth (longs liquidated push the price down). */
        factor: nonNegative.default(1),
        depthUsd: z.record(market, positive).default({}),
        /** Impact decays toward zero with this half-life in steps; 0 = permanent. */
        halfLifeSteps: nonNegative.default(0),
        /** Keeper rounds per step (each may move prices again). */
        maxRounds: z.number().int().min(1).max(100).default(10),
      })
      .strict()
      .default({}),
    population: z.array(cohort).min(1),
    keepers: z
      .object({
        count: z.number().int().min(0).max(8).default(1),
        /** Steps between two ticks of a keeper (1 = every step); one entry per keeper or one for all. */
        latencySteps: z.union([z.number().int().min(1), z.array(z.number().int().min(1)).min(1)]).default(1),
        /**
         * Gas bidding: each keeper's priority fee (gwei; one entry per keeper or one for all). Within a
         * keeper round the higher bid lands first (a priority gas auction: the losers' simulations
         * find the account already served); every keeper transaction costs gasUsed × (base fee + bid).
         */
        priorityFeeGwei: z.union([nonNegative, z.array(nonNegative).min(1)]).default(0),
        // (per-keeper lists: keeper i takes entry i, the last entry when the list is shorter; extra entries
        // are unused, so that a sweep over keepers.count can keep one list)
        /** Base fee per gas (gwei) every keeper transaction pays; with the bids, it sets the keepers' gas cost. */
        baseFeeGwei: nonNegative.default(0),
        /** Settlement tokens (USD) each keeper starts with to repay debts by liquidateCollateral: its capital limit. */
        capitalUsd: z.union([nonNegative, z.array(nonNegative).min(1)]).default(1_000_000),
        /** "No keeper for N steps": windows in which no keeper ticks (an outage, a censored mempool). */
        outages: z
          .array(
            z
              .object({
                fromStep: z.number().int().min(1),
                /** Length of the outage in steps (each `stepSeconds` of chain time). */
                steps: z.number().int().min(1),
              })
              .strict(),
          )
          .default([]),
        minProfitUsd: nonNegative.default(0),
        profitableOnly: z.boolean().default(true),
        liquidateCollateral: z.boolean().default(true),
        settleBadDebt: z.boolean().default(true),
      })
      .strict()
      .default({}),
    /** Protocol parameters set by the owner before the run (fractions, USD, seconds). */
    protocol: z
      .object({
        liquidationFee: fraction.optional(),
        keeperShare: fraction.optional(),
        closeFactor: fraction.optional(),
        fullLiquidationThreshold: fraction.optional(),
        dustThresholdUsd: nonNegative.optional(),
        collateralDiscount: fraction.optional(),
        hedgeOffset: fraction.optional(),
        maxPriceDeviation: fraction.optional(),
        circuitBreakerTimeoutSeconds: z.number().int().min(0).optional(),
        rateLimitCapUsd: nonNegative.optional(),
        rateLimitWindowSeconds: z.number().int().min(0).optional(),
      })
      .strict()
      .default({}),
    /** The oracle adapters and their feeds' failures (prices themselves come from `prices`). */
    oracles: z
      .object({
        /**
         * Staleness limit of each symbol's adapter (seconds): it refuses an answer older than this
         * (OracleStale), and with it every margin check that needs the price. Default: the
         * deployment's heartbeat (86,400 s).
         */
        heartbeatSeconds: z.record(symbol, z.number().int().min(1)).default({}),
        /**
         * Staleness windows: the feeds of `symbols` publish nothing from `fromStep` for `steps` steps.
         * The protocol keeps reading the last answer (a frozen price) until it is older than the
         * heartbeat, then refuses it; the first step after the window publishes the price of the moment.
         */
        outages: z
          .array(
            z
              .object({
                symbols: z.array(symbol).min(1),
                fromStep: z.number().int().min(1),
                steps: z.number().int().min(1),
              })
              .strict(),
          )
          .default([]),
      })
      .strict()
      .default({}),
    checks: z
      .object({
        /** Accounts per step whose MarginLens figures are compared with the TypeScript mirror. */
        mirrorSample: z.number().int().min(0).max(100).default(2),
        conservation: z.boolean().default(true),
      })
      .strict()
      .default({}),
  })
  .strict()
  .superRefine((s, ctx) => {
    s.prices.shocks.forEach((shock, i) => {
      if (shock.step > s.steps) {
        ctx.addIssue({
          code: "custom",
          path: ["prices", "shocks", i, "step"],
          message: `expected a step ≤ steps (${s.steps})`,
        });
      }
    });
    for (const key of Object.keys(s.prices.correlation)) {
      const [a, b] = key.split("/");
      if (a === b) {
        ctx.addIssue({
          code: "custom",
          path: ["prices", "correlation", key],
          message: "expected two different symbols",
        });
      }
    }
    refinePrices(s, ctx);
    s.oracles.outages.forEach((o, i) => {
      if (o.fromStep > s.steps) {
        ctx.addIssue({
          code: "custom",
          path: ["oracles", "outages", i, "fromStep"],
          message: `expected a step ≤ steps (${s.steps})`,
        });
      }
    });
    s.keepers.outages.forEach((o, i) => {
      if (o.fromStep > s.steps) {
        ctx.addIssue({
          code: "custom",
          path: ["keepers", "outages", i, "fromStep"],
          message: `expected a step ≤ steps (${s.steps})`,
        });
      }
    });
    const names = s.population.map((c) => c.name);
    names.forEach((name, i) => {
      if (names.indexOf(name) !== i) {
        ctx.addIssue({
          code: "custom",
          path: ["population", i, "name"],
          message: `expected a unique name ("${name}" repeats)`,
        });
      }
    });
  });

/** Checks of prices.replayAs, prices.regimes and prices.bridges against each other and the run. */
function refinePrices(s: Scenario, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: "custom", path: ["prices", ...path], message });
  const stepRange = (path: (string | number)[], step: number, from: number) => {
    if (step > s.steps) issue(path, `expected a step ≤ steps (${s.steps})`);
    else if (step < from) issue(path, `expected a step ≥ fromStep (${from})`);
  };

  const replayAs = s.prices.replayAs ?? [];
  const rescaled = new Set<string>();
  replayAs.forEach((r, i) => {
    if (!s.prices.csv) issue(["replayAs", i, "source"], "needs prices.csv, the file whose rows are replayed");
    if (r.volatility !== undefined && r.scale !== undefined) {
      issue(["replayAs", i, "scale"], "expected volatility or scale, not both");
    }
    if (rescaled.has(r.symbol)) issue(["replayAs", i, "symbol"], `expected each symbol once (${r.symbol} repeats)`);
    rescaled.add(r.symbol);
  });

  const regimes = s.prices.regimes ?? [];
  let base: number[][] | undefined;
  try {
    const matrix = resolvePrices(s).correlation;
    validateCorrelation(matrix, [...SYMBOLS]);
    base = matrix;
  } catch {
    // an invalid base matrix is reported by parseScenario on its own
  }
  regimes.forEach((r, i) => {
    if (r.fromStep > s.steps) issue(["regimes", i, "fromStep"], `expected a step ≤ steps (${s.steps})`);
    if (r.toStep !== undefined) stepRange(["regimes", i, "toStep"], r.toStep, r.fromStep);
    const to = r.toStep ?? s.steps;
    regimes.slice(0, i).forEach((other, j) => {
      const otherTo = other.toStep ?? s.steps;
      if (r.fromStep <= otherTo && other.fromStep <= to) {
        issue(
          ["regimes", i, "fromStep"],
          `expected regimes not to overlap: steps ${r.fromStep} … ${to} overlap prices.regimes[${j}] (steps ${other.fromStep} … ${otherTo})`,
        );
      }
    });
    const pairs = r.correlation ?? {};
    for (const key of Object.keys(pairs)) {
      const [a, b] = key.split("/");
      if (a === b) issue(["regimes", i, "correlation", key], "expected two different symbols");
    }
    if (base && r.correlation) {
      try {
        validateCorrelation(correlationMatrix([DEFAULT_CORRELATION, s.prices.correlation, pairs]), [...SYMBOLS]);
      } catch (error) {
        if (!(error instanceof PriceModelError)) throw error;
        issue(["regimes", i, "correlation"], `expected a valid correlation matrix: ${error.message}`);
      }
    }
  });

  const bridges = s.prices.bridges ?? [];
  bridges.forEach((b, i) => {
    if (b.targetPct === undefined && b.targetPrice === undefined) {
      issue(["bridges", i], "expected a target: targetPct or targetPrice");
    }
    if (b.targetPct !== undefined && b.targetPrice !== undefined) {
      issue(["bridges", i, "targetPrice"], "expected targetPct or targetPrice, not both");
    }
    if (b.fromStep > s.steps) issue(["bridges", i, "fromStep"], `expected a step ≤ steps (${s.steps})`);
    stepRange(["bridges", i, "toStep"], b.toStep, b.fromStep);
    if (rescaled.has(b.symbol)) {
      issue(["bridges", i, "symbol"], `${b.symbol} is replayed (prices.replayAs): a bridge needs a simulated symbol`);
    }
    bridges.slice(0, i).forEach((other, j) => {
      if (other.symbol === b.symbol && b.fromStep <= other.toStep && other.fromStep <= b.toStep) {
        issue(
          ["bridges", i, "fromStep"],
          `expected bridges of one symbol not to overlap: steps ${b.fromStep} … ${b.toStep} overlap prices.bridges[${j}] (steps ${other.fromStep} … ${other.toStep}) on ${b.symbol}`,
        );
      }
    });
    s.prices.shocks.forEach((shock, j) => {
      const last = shock.step + shock.overSteps - 1;
      if (shock.symbol === b.symbol && shock.step <= b.toStep && last >= b.fromStep) {
        issue(
          ["bridges", i],
          `expected no shock on ${b.symbol} inside the window ${b.fromStep} … ${b.toStep}: prices.shocks[${j}] moves it during steps ${shock.step} … ${last} (a bridge pins its target)`,
        );
      }
    });
  });
}

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type Scenario = z.output<typeof scenarioSchema>;
export type Cohort = Scenario["population"][number];

/** The resolved price model: defaults filled in for every symbol, correlation as a matrix. */
export interface ResolvedPrices {
  initial: Record<SymbolName, number>;
  volatility: Record<SymbolName, number>;
  drift: Record<SymbolName, number>;
  correlation: number[][];
}

/**
 * The SYMBOLS × SYMBOLS correlation matrix from pair maps applied in order (a later map's value wins;
 * a pair may be written either way round, "ETH/BTC" or "BTC/ETH"); unlisted pairs are 0.
 */
function correlationMatrix(layers: Partial<Record<string, number>>[]): number[][] {
  const pairs = new Map<string, number>();
  const key = (a: string, b: string) => [a, b].sort().join("/");
  for (const layer of layers) {
    for (const [pair, value] of Object.entries(layer)) {
      if (value !== undefined) pairs.set(key(...(pair.split("/") as [string, string])), value);
    }
  }
  return SYMBOLS.map((a, i) => SYMBOLS.map((b, j) => (i === j ? 1 : (pairs.get(key(a, b)) ?? 0))));
}

export function resolvePrices(s: Scenario): ResolvedPrices {
  const initial = { ...DEFAULT_INITIAL, ...s.prices.initial } as Record<SymbolName, number>;
  const volatility = { ...DEFAULT_VOLATILITY, ...s.prices.volatility } as Record<SymbolName, number>;
  const drift = Object.fromEntries(SYMBOLS.map((k) => [k, s.prices.drift[k] ?? 0])) as Record<SymbolName, number>;
  // the file's value wins over the default
  const correlation = correlationMatrix([DEFAULT_CORRELATION, s.prices.correlation]);
  return { initial, volatility, drift, correlation };
}

/**
 * prices.regimes for the price model: each regime's correlation as a full matrix (the scenario's
 * resolved matrix with the regime's pairs replacing theirs); volatility and drift as written
 * (unlisted symbols keep the scenario's values in the model).
 */
export function resolveRegimes(s: Scenario): RegimeSpec[] {
  return (s.prices.regimes ?? []).map((r) => ({
    fromStep: r.fromStep,
    toStep: r.toStep,
    correlation: r.correlation
      ? correlationMatrix([DEFAULT_CORRELATION, s.prices.correlation, r.correlation])
      : undefined,
    volatility: r.volatility,
    drift: r.drift,
  }));
}

/** A mistake in how the simulator was asked to run (a scenario that does not exist, a bad option). */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A scenario that failed validation: every problem with its field path. */
export class ScenarioError extends Error {
  constructor(
    readonly source: string,
    readonly problems: { path: string; message: string }[],
  ) {
    super(
      `scenario ${source} is invalid:\n` +
        problems.map((p) => `  - ${p.path || "(top level)"}: ${p.message}`).join("\n") +
        `\n(see scenarios/README.md for the format)`,
    );
    this.name = "ScenarioError";
  }
}

function formatPath(p: (string | number)[]): string {
  return p.reduce<string>((acc, k) => (typeof k === "number" ? `${acc}[${k}]` : acc ? `${acc}.${k}` : k), "");
}

/** zod's messages, phrased as what was expected. */
const errorMap: z.ZodErrorMap = (issue, ctx) => {
  switch (issue.code) {
    case "invalid_type":
      return {
        message:
          issue.received === "undefined"
            ? `expected ${issue.expected} (the field is required)`
            : `expected ${issue.expected}, got ${issue.received}`,
      };
    case "too_small":
      if (issue.type === "array") return { message: `expected at least ${String(issue.minimum)} item(s)` };
      if (issue.type === "string") return { message: "expected a non-empty string" };
      return {
        message: `expected ${issue.exact ? "exactly" : issue.inclusive ? "a number ≥" : "a number >"} ${String(issue.minimum)}`,
      };
    case "too_big":
      if (issue.type === "array") return { message: `expected at most ${String(issue.maximum)} item(s)` };
      return { message: `expected ${issue.inclusive ? "a number ≤" : "a number <"} ${String(issue.maximum)}` };
    case "invalid_enum_value":
      return {
        message: `expected one of ${issue.options.map((o) => JSON.stringify(o)).join(", ")}, got ${JSON.stringify(issue.received)}`,
      };
    case "not_finite":
      return { message: "expected a finite number" };
    case "invalid_literal":
      return { message: `expected ${JSON.stringify(issue.expected)}` };
    default:
      return { message: ctx.defaultError };
  }
};

/** Validates parsed JSON; throws ScenarioError listing every problem. */
export function parseScenario(json: unknown, source = "scenario"): Scenario {
  const result = scenarioSchema.safeParse(json, { errorMap });
  if (!result.success) {
    const problems: { path: string; message: string }[] = [];
    for (const issue of result.error.issues) {
      if (issue.code === "unrecognized_keys") {
        // one problem per unknown key, at its own path
        for (const key of issue.keys) {
          problems.push({
            path: formatPath([...issue.path, key]),
            message: `expected no field "${key}" here (unknown field)`,
          });
        }
      } else {
        problems.push({ path: formatPath(issue.path), message: issue.message });
      }
    }
    throw new ScenarioError(source, problems);
  }
  const scenario = result.data;
  // the correlation matrix must be a correlation matrix (symmetric, PSD), checked before anything runs
  try {
    validateCorrelation(resolvePrices(scenario).correlation, [...SYMBOLS]);
  } catch (error) {
    if (error instanceof PriceModelError) {
      throw new ScenarioError(source, [
        { path: "prices.correlation", message: `expected a valid correlation matrix: ${error.message}` },
      ]);
    }
    throw error;
  }
  return scenario;
}

/** Names of the built-in scenarios (scenarios/*.json). */
export function builtinScenarios(): string[] {
  if (!existsSync(SCENARIO_DIR)) return [];
  return readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** A scenario file found by path or by built-in name. */
export function resolveScenarioPath(nameOrPath: string): string {
  if (existsSync(nameOrPath) && nameOrPath.endsWith(".json")) return path.resolve(nameOrPath);
  const builtin = path.join(SCENARIO_DIR, `${nameOrPath}.json`);
  if (existsSync(builtin)) return builtin;
  throw new UsageError(
    `no scenario "${nameOrPath}": not a .json file and not a built-in scenario (built-in: ${builtinScenarios().join(", ")})`,
  );
}

/** Sets `a.b.c = value` in a JSON object (for --set and --sweep); the value is parsed as JSON when it can be. */
export function applyOverride(json: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf("=");
  if (eq <= 0) throw new UsageError(`expected key=value, got "${assignment}" (e.g. protocol.liquidationFee=0.02)`);
  const keys = assignment.slice(0, eq).trim().split(".");
  const raw = assignment.slice(eq + 1).trim();
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // a bare string
  }
  let node: Record<string, unknown> = json;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === undefined) node[key] = {};
    else if (typeof next !== "object" || next === null)
      throw new UsageError(`cannot set "${assignment}": ${key} is not an object`);
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

export interface LoadedScenario {
  scenario: Scenario;
  file: string;
  /** CSV text of `prices.csv`, if any. */
  csv?: string;
  /** sha256 of the canonical JSON of the validated scenario (and the CSV). */
  hash: string;
}

/** Reads, overrides, validates and hashes a scenario. Throws ScenarioError before anything runs. */
export function loadScenario(nameOrPath: string, overrides: string[] = []): LoadedScenario {
  const file = resolveScenarioPath(nameOrPath);
  const source = path.relative(process.cwd(), file) || file;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ScenarioError(source, [{ path: "", message: `expected valid JSON (${(error as Error).message})` }]);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ScenarioError(source, [{ path: "", message: "expected a JSON object" }]);
  }
  for (const o of overrides) applyOverride(json as Record<string, unknown>, o);
  const scenario = parseScenario(json, source);
  let csv: string | undefined;
  if (scenario.prices.csv) {
    const csvPath = path.resolve(path.dirname(file), scenario.prices.csv);
    if (!existsSync(csvPath)) {
      throw new ScenarioError(source, [
        { path: "prices.csv", message: `expected a readable file, ${csvPath} does not exist` },
      ]);
    }
    csv = readFileSync(csvPath, "utf8");
  }
  const hash = createHash("sha256")
    .update(canonicalJson(scenario))
    .update(csv ?? "")
    .digest("hex");
  return { scenario, file, csv, hash };
}

/** JSON with object keys sorted, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}
