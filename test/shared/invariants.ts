/**
 * The catalogue of the protocol's invariants: each a constant with an id and the sentence it
 * claims, reused as the assertion message wherever a test checks it (test/Stateful.test.ts checks
 * every one after every step of random action sequences; test/Invariants.test.ts lists them and
 * shows each check fails on a state that breaks it). README "Security model" cites the ids.
 */
export interface Invariant {
  id: string;
  sentence: string;
}

export const INVARIANTS = {
  conservation: {
    id: "INV-01",
    sentence:
      "Conservation, exact to the unit: for every token, the Vault's ERC-20 balance equals what its ledgers owe (settlement: Σ quote balances + pool + insurance + fees, scaled to WAD; collateral: Σ account balances + insurance holdings).",
  },
  totals: {
    id: "INV-02",
    sentence:
      "Sums of per-account state equal the stored totals: Σ balances = a token's totalDeposits; Σ long sizes = long open interest, Σ short sizes = short open interest (skew = long − short); Σ open notional = the market's openNotionalSum.",
  },
  noFreeRoundTrip: {
    id: "INV-03",
    sentence:
      "No value is created by a round trip: deposit then withdraw returns exactly what went in; open then close at an unchanged price and time returns at most what went in.",
  },
  liquidationNeedsShortfall: {
    id: "INV-04",
    sentence: "A liquidation succeeds only when the account's equity is below its maintenance margin.",
  },
  userActionsKeepHealthy: {
    id: "INV-05",
    sentence:
      "No user action (deposit, withdraw, transfer, trade, LP deposit or redeem) makes a healthy account liquidatable: only prices, funding over time and liquidations do.",
  },
  liquidationImprovesRatio: {
    id: "INV-06",
    sentence:
      "A liquidation of an account above the full-liquidation threshold (one the close factor caps) never lowers its margin ratio (equity ÷ maintenance margin), when it unwinds no hedge (every correlation group one-sided) and liquidationFee ≤ fullLiquidationThreshold × the lowest maintenance rate; below the threshold the position may be closed whole and the ratio may fall.",
  },
  badDebtOnlyWhenEmpty: {
    id: "INV-07",
    sentence:
      "Bad debt is recorded only for an account with no positions whose un-haircut value is negative, and leaves it holding nothing.",
  },
  flatAccountWithdraws: {
    id: "INV-08",
    sentence: "An account with no positions and no debt can always withdraw everything it holds.",
  },
  fundingMonotone: {
    id: "INV-09",
    sentence:
      "Funding time never goes backwards, and every action on a market accrues its funding index to the block's time before using it.",
  },
  mirror: {
    id: "INV-10",
    sentence:
      "On-chain figures equal the TypeScript mirror's to the wei: every account's margin (collateral, equity, MM, IM, free collateral, liquidatable, notional), every position, market and ledger.",
  },
  noForeignChanges: {
    id: "INV-11",
    sentence:
      "Nobody changes another's account except by liquidation (positions, collateral or bad debt) or as its operator; a deposit by anyone may only add to it.",
  },
} as const satisfies Record<string, Invariant>;

export type InvariantName = keyof typeof INVARIANTS;

/** The assertion message of an invariant, with what was seen. */
export const violation = (name: InvariantName, detail = ""): string =>
  `${INVARIANTS[name].id} ${INVARIANTS[name].sentence}${detail ? ` — ${detail}` : ""}`;
