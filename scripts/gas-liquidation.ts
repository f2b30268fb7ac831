import hre from "hardhat";
import { measureLiquidationGas } from "../src/bench/liquidationGas";
import { renderTable } from "../src/report/format";

const PARTIAL_GOAL = 120_000n;

async function main() {
  console.log("Measuring liquidation gas on the in-process chain (local deployment + 15 extra markets)...");
  const g = await measureLiquidationGas(hre);
  const rows = [
    ...g.partial.map((x) => [
      `liquidate, partial, ${x.positions} position${x.positions > 1 ? "s" : ""}, first after an oracle update`,
      x.gas.toString(),
      x.positions === 1 ? PARTIAL_GOAL.toLocaleString("en-US") : "",
    ]),
    ["liquidate, partial, 1 position, price already referenced", g.partialSamePrice.toString(), ""],
    ["liquidate, full (1 position)", g.full.toString(), ""],
    ["liquidate, full, negative equity (shortfall)", g.fullShortfall.toString(), ""],
    ["liquidateCollateral (whole debt, WETH left)", g.liquidateCollateral.toString(), ""],
    ["settleBadDebt (insurance covers all)", g.settleBadDebt.toString(), ""],
    ["pokeCircuitBreaker (trips)", g.pokeCircuitBreaker.toString(), ""],
  ];
  console.log(renderTable(["operation", "gas", "goal"], rows));
  const [one, four, sixteen] = g.partial.map((x) => x.gas);
  console.log(
    `\npartial liquidate, gas per extra position: ${(four - one) / 3n} (1 -> 4), ${(sixteen - four) / 12n} (4 -> 16)`,
  );
  if (one > PARTIAL_GOAL) {
    console.log(`\nover the goal: partial liquidate with 1 position uses ${one} gas (goal ${PARTIAL_GOAL})`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
