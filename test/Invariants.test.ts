/**
 * The invariant catalogue (test/shared/invariants.ts) and its checks (CHECKS in
 * test/shared/stateful.ts, run after every step of the stateful tests). Each check is shown to pass
 * on what a real step left, and to fail, with its id and sentence, when one figure of that step is
 * broken: a check that cannot fail checks nothing.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { INVARIANTS, type InvariantName } from "./shared/invariants";
import {
  BANKRUPTCY,
  CHECKS,
  newRunner,
  newStats,
  statefulFixture,
  step,
  type CheckContext,
  type Spec,
} from "./shared/stateful";
import * as M from "./shared/model";

/** Runs the steps on a fresh deployment and returns what the invariants saw after the last one. */
async function contextAfter(steps: Spec[]): Promise<CheckContext> {
  const runner = await newRunner(await loadFixture(statefulFixture), newStats());
  for (const s of steps) await step(runner, s);
  return runner.lastContext!;
}

/** A deep copy of a context whose observations may be edited (the chain handles are shared). */
function broken(x: CheckContext, edit: (y: CheckContext) => void): CheckContext {
  const y: CheckContext = {
    ...x,
    before: structuredClone(x.before),
    after: structuredClone(x.after),
    observedBefore: structuredClone(x.observedBefore),
    modelView: structuredClone(x.modelView),
    chainView: structuredClone(x.chainView),
    liquidation: x.liquidation && structuredClone(x.liquidation),
  };
  edit(y);
  return y;
}

/** The check applies to the real context and passes; on the broken one it fails with its id. */
async function expectCaught(name: InvariantName, x: CheckContext, edit: (y: CheckContext) => void) {
  expect(await CHECKS[name](x), `${INVARIANTS[name].id} applies to this step`).to.equal(true);
  let message = "";
  try {
    await CHECKS[name](broken(x, edit));
  } catch (e) {
    message = (e as Error).message;
  }
  expect(message, `${INVARIANTS[name].id} should reject the broken state`).to.contain(INVARIANTS[name].id);
  expect(message).to.contain(INVARIANTS[name].sentence);
}

const carolOpens: Spec = { kind: "open", who: "carol", account: 4n, market: 1n, lots: 1_000_000_000n };
const liquidated: Spec[] = [
  { kind: "open", who: "carol", account: 4n, market: 1n, lots: 3_000_000_000n },
  { kind: "cross", account: 4n, market: 1n, under: true },
  { kind: "liquidate", who: "keeper", account: 4n, market: 1n, size: "max" },
];

describe("Invariant catalogue: every check passes on a real step and fails on a broken one", () => {
  it("the catalogue: unique ids INV-01…INV-11, one sentence each, one check each", () => {
    const ids = Object.values(INVARIANTS).map((i) => i.id);
    expect(ids).to.deep.equal(Array.from({ length: ids.length }, (_, i) => `INV-${String(i + 1).padStart(2, "0")}`));
    expect(Object.keys(CHECKS).sort()).to.deep.equal(Object.keys(INVARIANTS).sort());
    for (const inv of Object.values(INVARIANTS)) expect(inv.sentence.length).to.be.greaterThan(40);
  });

  it(`${INVARIANTS.conservation.id} conservation: one USDC unit the ledgers do not account for`, async () => {
    const x = await contextAfter([carolOpens]);
    const vault = x.addresses.indexOf(x.after.vault);
    await expectCaught("conservation", x, (y) => (y.chainView.wallets[0][vault] += 1n));
  });

  it(`${INVARIANTS.totals.id} totals: long open interest one lot off the positions' sum`, async () => {
    const x = await contextAfter([carolOpens]);
    await expectCaught("totals", x, (y) => ((y.chainView.markets["1"] as bigint[])[4] += M.SIZE_STEP));
  });

  it(`${INVARIANTS.noFreeRoundTrip.id} round trips: one wei of equity, or one unit of wallet, created`, async () => {
    const trade = await contextAfter([
      carolOpens,
      { kind: "roundTrip", who: "carol", account: 4n, market: 1n, lots: -500_000_000n },
    ]);
    await expectCaught("noFreeRoundTrip", trade, (y) => {
      y.chainView.accounts["4"].margin[1] = M.margin(y.before, 4n, y.at).equity + 1n;
    });
    const cash = await contextAfter([{ kind: "depositWithdraw", account: 3n, token: 2, units: 12_345n }]);
    const bob = cash.addresses.indexOf(cash.chain.signers.bob.address);
    await expectCaught("noFreeRoundTrip", cash, (y) => (y.chainView.wallets[2][bob] += 1n));
  });

  it(`${INVARIANTS.liquidationNeedsShortfall.id} a liquidation of an account at its maintenance margin`, async () => {
    const x = await contextAfter(liquidated);
    await expectCaught("liquidationNeedsShortfall", x, (y) => {
      y.liquidation!.before.equity = BigInt(y.liquidation!.before.maintenanceMargin);
    });
  });

  it(`${INVARIANTS.userActionsKeepHealthy.id} a trade that leaves another account liquidatable`, async () => {
    const x = await contextAfter([carolOpens]);
    await expectCaught("userActionsKeepHealthy", x, (y) => (y.chainView.accounts["1"].margin[5] = true));
  });

  it(`${INVARIANTS.liquidationImprovesRatio.id} a capped partial liquidation that lowers the ratio by one wei of equity`, async () => {
    const x = await contextAfter(liquidated);
    expect(x.liquidation!.plan.whole, "the close factor capped this liquidation").to.equal(false);
    await expectCaught("liquidationImprovesRatio", x, (y) => {
      const m0 = y.liquidation!.before;
      const mm = y.chainView.accounts["4"].margin[2] as bigint;
      // the largest equity whose ratio is below the one before
      y.chainView.accounts["4"].margin[1] = (m0.equity * mm) / m0.maintenanceMargin - 1n;
    });
  });

  it(`${INVARIANTS.badDebtOnlyWhenEmpty.id} bad debt settled for an account left with a balance`, async () => {
    const x = await contextAfter(BANKRUPTCY);
    await expectCaught("badDebtOnlyWhenEmpty", x, (y) => (y.chainView.accounts["2"].balances[0] = 1n));
  });

  it(`${INVARIANTS.flatAccountWithdraws.id} a flat account asked to withdraw one unit more than the chain holds`, async () => {
    const x = await contextAfter([{ kind: "deposit", who: "carol", account: 4n, token: 2, units: 1_000n }]);
    await expectCaught("flatAccountWithdraws", x, (y) => {
      const wbtc = y.after.tokens[2].address;
      y.after.accounts["4"].balances[wbtc] += 1n;
    });
  });

  it(`${INVARIANTS.fundingMonotone.id} funding time one second backwards, or not accrued to the block`, async () => {
    const x = await contextAfter([carolOpens]);
    await expectCaught(
      "fundingMonotone",
      x,
      (y) => ((y.chainView.markets["1"] as bigint[])[6] = y.before.markets["1"].lastFundingTime - 1n),
    );
    await expectCaught("fundingMonotone", x, (y) => ((y.chainView.markets["1"] as bigint[])[6] = y.at - 1n));
  });

  it(`${INVARIANTS.mirror.id} the chain one wei away from the mirror`, async () => {
    const x = await contextAfter([carolOpens]);
    await expectCaught("mirror", x, (y) => (y.chainView.accounts["4"].quote += 1n));
    await expectCaught("mirror", x, (y) => {
      const row = y.chainView.accounts["4"].margin;
      row[2] = (row[2] as bigint) - 1n; // maintenance margin one wei under the mirror's
    });
  });

  it(`${INVARIANTS.noForeignChanges.id} carol's trade moving one wei out of alice's account`, async () => {
    const x = await contextAfter([carolOpens]);
    await expectCaught("noForeignChanges", x, (y) => (y.chainView.accounts["1"].quote -= 1n));
  });
});
