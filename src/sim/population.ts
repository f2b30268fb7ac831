/**
 * The trader population: drawn once from the scenario and the seed, then opened identically in
 * cross mode (one account per trader) and in isolated mode (one account per position).
 */
import { keccak256, toUtf8Bytes, getAddress } from "ethers";
import { SIZE_STEP } from "../math/liquidation";
import type { Rng } from "./rng";
import {
  COLLATERAL,
  MARKETS,
  type CollateralName,
  type Cohort,
  type MarketName,
  type Scenario,
  type Strategy,
} from "./scenario";

export const TOKEN_DECIMALS: Record<CollateralName, number> = { USDC: 6, WETH: 18, WBTC: 8 };
/** The oracle symbol that prices each collateral token (DESIGN §13). */
export const TOKEN_SYMBOL: Record<CollateralName, "USDC" | "ETH" | "BTC"> = { USDC: "USDC", WETH: "ETH", WBTC: "BTC" };
export const MARKET_ID: Record<MarketName, bigint> = { ETH: 1n, BTC: 2n, STETH: 3n };

export interface Leg {
  market: MarketName;
  /** Signed size, WAD, a multiple of SIZE_STEP. */
  size: bigint;
}

export interface TraderPlan {
  index: number;
  cohort: string;
  strategy: Strategy;
  address: string;
  /** Deposit per token, token units. */
  deposits: Partial<Record<CollateralName, bigint>>;
  /** USDC kept in the wallet for top-ups, token units. */
  reserve: bigint;
  legs: Leg[];
  /** Market makers: markets quoted and the largest size per market (WAD). */
  quotes: { market: MarketName; maxSize: bigint }[];
  leverage: number;
  equityUsd: number;
  spec: Cohort;
}

/** A trader's address: derived from the seed and its index, the same in both modes. */
export function traderAddress(seed: number, index: number): string {
  return getAddress(`0x${keccak256(toUtf8Bytes(`crossmargin-sim/${seed}/trader/${index}`)).slice(26)}`);
}

const round = (size: bigint) => (size / SIZE_STEP) * SIZE_STEP;

/** Converts a USD amount (float) into WAD with 1e-9 precision, deterministically. */
export function usdToWad(usd: number): bigint {
  return BigInt(Math.round(usd * 1e9)) * 10n ** 9n;
}

/**
 * Draws the traders of every cohort, in cohort order. Sizes come from the initial prices and the
 * collateral haircuts: gross notional = leverage × haircut value of the deposit.
 */
export function generatePopulation(
  scenario: Scenario,
  initial: Record<string, number>,
  haircuts: Record<CollateralName, number>,
  rng: Rng,
): TraderPlan[] {
  const traders: TraderPlan[] = [];
  for (const cohort of scenario.population) {
    const r = rng.fork(`cohort/${cohort.name}`);
    for (let i = 0; i < cohort.count; i++) {
      const index = traders.length;
      const [lo, hi] = cohort.equityUsd;
      const equityUsd = lo === hi ? lo : Math.exp(Math.log(lo) + r.next() * (Math.log(hi) - Math.log(lo)));
      const leverage = cohort.leverage[0] + r.next() * (cohort.leverage[1] - cohort.leverage[0]);
      const shares = normalize(COLLATERAL.map((t) => cohort.collateral[t] ?? 0));
      const deposits: Partial<Record<CollateralName, bigint>> = {};
      let haircutValue = 0;
      COLLATERAL.forEach((token, k) => {
        if (shares[k] === 0) return;
        const usd = equityUsd * shares[k];
        const price = initial[TOKEN_SYMBOL[token]];
        const amount = BigInt(Math.floor((usd / price) * 10 ** TOKEN_DECIMALS[token]));
        if (amount === 0n) return;
        deposits[token] = amount;
        haircutValue += (Number(amount) / 10 ** TOKEN_DECIMALS[token]) * price * (1 - haircuts[token]);
      });
      const notional = leverage * haircutValue;
      const legs: Leg[] = [];
      const quotes: TraderPlan["quotes"] = [];
      const legSpecs = chooseLegs(cohort, r);
      if (cohort.strategy === "marketMaker") {
        const markets = MARKETS.filter((m) => (cohort.markets[m] ?? 0) > 0);
        for (const market of markets) {
          quotes.push({ market, maxSize: round(usdToWad(notional / markets.length / initial[market])) });
        }
      } else {
        const total = legSpecs.reduce((s, l) => s + l.weight, 0);
        for (const l of legSpecs) {
          const size = round(usdToWad((notional * l.weight) / total / initial[l.market]));
          if (size > 0n) legs.push({ market: l.market, size: l.side === "long" ? size : -size });
        }
      }
      const reserve = BigInt(Math.floor(equityUsd * cohort.reserveShare * 1e6));
      traders.push({
        index,
        cohort: cohort.name,
        strategy: cohort.strategy,
        address: traderAddress(scenario.seed, index),
        deposits,
        reserve: cohort.strategy === "topUp" ? reserve : 0n,
        legs,
        quotes,
        leverage,
        equityUsd,
        spec: cohort,
      });
    }
  }
  return traders;
}

function normalize(values: number[]): number[] {
  const total = values.reduce((s, v) => s + v, 0);
  return values.map((v) => (total > 0 ? v / total : 0));
}

function chooseLegs(cohort: Cohort, r: Rng): { market: MarketName; side: "long" | "short"; weight: number }[] {
  if (cohort.positions) return cohort.positions.map((p) => ({ market: p.market, side: p.side, weight: p.weight }));
  if (cohort.strategy === "hedged") {
    return [
      { market: cohort.pair[0], side: "long", weight: 1 },
      { market: cohort.pair[1], side: "short", weight: 1 },
    ];
  }
  if (cohort.strategy === "marketMaker") return [];
  const legs: { market: MarketName; side: "long" | "short"; weight: number }[] = [];
  const available: Partial<Record<MarketName, number>> = { ...cohort.markets };
  for (let k = 0; k < cohort.legs; k++) {
    const market = r.weighted(available as Record<MarketName, number>);
    delete available[market];
    legs.push({ market, side: r.next() < cohort.longShare ? "long" : "short", weight: 1 });
  }
  return legs;
}
