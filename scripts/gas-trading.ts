import hre from "hardhat";
import { measureTradingGas } from "../src/bench/tradingGas";
import { renderTable } from "../src/report/format";

async function main() {
  console.log("Measuring trading gas on the in-process chain (local deployment + 15 extra markets)...");
  const g = await measureTradingGas(hre);
  const rows = [
    ...g.openFirst.map((o) => [`openPosition, first position: ${o.market}`, o.gas.toString(), "100,000"]),
    ["openPosition, increase", g.openIncrease.toString(), ""],
    ["openPosition, reduce", g.openReduce.toString(), ""],
    ["closePosition", g.closePosition.toString(), ""],
    ...g.withdrawWithPositions.map((w, i) => [`withdraw with ${i + 1} position(s)`, w.toString(), ""]),
  ];
  console.log(renderTable(["operation", "gas", "goal"], rows));
  const max = g.marginalPerPosition.reduce((a, b) => (b > a ? b : a), 0n);
  console.log(`\nmargin check, gas per extra position: ${g.marginalPerPosition.join(", ")} (max ${max}; goal 15,000)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
