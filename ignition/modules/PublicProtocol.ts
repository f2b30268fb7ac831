import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { coreModule } from "./Core";
import ExternalAssets from "./ExternalAssets";
import { marketsModule } from "./Markets";

/**
 * Crossmargin on a public network (Sepolia, Arbitrum Sepolia): the Core contracts over the
 * network's settlement token, the Markets configuration over its Chainlink feeds
 * (ExternalAssets), and the pool and insurance fund seeded from the deployer's own settlement
 * tokens (`poolSeed`, `insuranceSeed`, in token units). Deploy it with `npx hardhat deploy
 * --network <name>`, which runs the preflight first. Parameters: ignition/parameters/<network>.json.
 */
export default buildModule("PublicProtocol", (m) => {
  const deployer = m.getAccount(0);
  const assets = m.useModule(ExternalAssets);
  const core = m.useModule(coreModule(ExternalAssets));
  const marketsConfig = marketsModule(ExternalAssets);
  const markets = m.useModule(marketsConfig);
  const { usdc } = assets;
  const { vault, pool } = core;

  const poolSeed = m.getParameter<bigint>("poolSeed");
  const insuranceSeed = m.getParameter<bigint>("insuranceSeed");
  const approvePool = m.call(usdc, "approve", [pool, poolSeed], { id: "approvePoolSeed" });
  m.call(pool, "deposit", [poolSeed, deployer], { id: "seedPool", after: [approvePool, marketsConfig] });
  const approveInsurance = m.call(usdc, "approve", [vault, insuranceSeed], { id: "approveInsuranceSeed" });
  m.call(vault, "depositInsurance", [insuranceSeed], { id: "seedInsurance", after: [approveInsurance, marketsConfig] });

  return { ...assets, ...core, ...markets };
});
