import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { coreModule } from "./Core";
import { marketsModule } from "./Markets";
import Mocks from "./Mocks";

/**
 * The local Crossmargin deployment of DESIGN §13: the Mocks (mintable tokens, settable feeds),
 * the Core contracts over the mock USDC, the Markets configuration, and the liquidity pool and
 * insurance fund seeded by the deployer with freshly minted USDC. Local chains only (the
 * `hardhat` network, `hardhat node`); public networks use PublicProtocol.
 * Parameters: ignition/parameters/local.json.
 */
export default buildModule("Protocol", (m) => {
  const deployer = m.getAccount(0);
  const assets = m.useModule(Mocks);
  const core = m.useModule(coreModule(Mocks));
  const marketsConfig = marketsModule(Mocks);
  const markets = m.useModule(marketsConfig);
  const { usdc } = assets;
  const { vault, pool } = core;

  const poolSeed = m.getParameter("poolSeed", 1_000_000n * 10n ** 6n);
  const mintPool = m.call(usdc, "mint", [deployer, poolSeed], { id: "mintPoolSeed" });
  const approvePool = m.call(usdc, "approve", [pool, poolSeed], { id: "approvePoolSeed", after: [mintPool] });
  m.call(pool, "deposit", [poolSeed, deployer], { id: "seedPool", after: [approvePool, marketsConfig] });

  const insuranceSeed = m.getParameter("insuranceSeed", 100_000n * 10n ** 6n);
  const mintInsurance = m.call(usdc, "mint", [deployer, insuranceSeed], { id: "mintInsuranceSeed" });
  const approveInsurance = m.call(usdc, "approve", [vault, insuranceSeed], {
    id: "approveInsuranceSeed",
    after: [mintInsurance],
  });
  m.call(vault, "depositInsurance", [insuranceSeed], { id: "seedInsurance", after: [approveInsurance, marketsConfig] });

  return { ...assets, ...core, ...markets };
});
