import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * The local Crossmargin deployment of DESIGN §13: mock tokens and Chainlink-style feeds, one
 * oracle adapter per feed, the Vault with WETH and WBTC listed as collateral, and the insurance
 * fund seeded by the deployer. Every number comes from the parameters file
 * (ignition/parameters/local.json); the defaults below are the same values.
 */
export default buildModule("Protocol", (m) => {
  const deployer = m.getAccount(0);
  const heartbeat = m.getParameter("feedHeartbeat", 86_400n);

  const usdc = m.contract("MockERC20", ["USD Coin", "USDC", 6], { id: "USDC" });
  const weth = m.contract("MockERC20", ["Wrapped Ether", "WETH", 18], { id: "WETH" });
  const wbtc = m.contract("MockERC20", ["Wrapped Bitcoin", "WBTC", 8], { id: "WBTC" });

  const feed = (id: string, description: string, defaultAnswer: bigint) =>
    m.contract("MockAggregator", [8, description, m.getParameter(`${id}Answer`, defaultAnswer)], { id });
  const usdcFeed = feed("usdcFeed", "USDC / USD", 100_000_000n);
  const ethFeed = feed("ethFeed", "ETH / USD", 300_000_000_000n);
  const btcFeed = feed("btcFeed", "BTC / USD", 6_000_000_000_000n);
  const stethFeed = feed("stethFeed", "STETH / USD", 299_000_000_000n);

  const oracle = (id: string, source: ReturnType<typeof feed>) =>
    m.contract("ChainlinkOracle", [source, heartbeat], { id });
  const usdcOracle = oracle("usdcOracle", usdcFeed);
  const ethOracle = oracle("ethOracle", ethFeed);
  const btcOracle = oracle("btcOracle", btcFeed);
  const stethOracle = oracle("stethOracle", stethFeed);

  const vault = m.contract("Vault", [usdc, deployer, m.getParameter("guardian", deployer)]);

  m.call(
    vault,
    "listCollateral",
    [weth, ethOracle, m.getParameter("wethHaircut", 10n ** 17n), m.getParameter("wethCap", 100_000n * 10n ** 18n)],
    { id: "listWETH" },
  );
  m.call(
    vault,
    "listCollateral",
    [wbtc, btcOracle, m.getParameter("wbtcHaircut", 15n * 10n ** 16n), m.getParameter("wbtcCap", 5_000n * 10n ** 8n)],
    { id: "listWBTC" },
  );

  const insuranceSeed = m.getParameter("insuranceSeed", 100_000n * 10n ** 6n);
  const mintInsurance = m.call(usdc, "mint", [deployer, insuranceSeed], { id: "mintInsuranceSeed" });
  const approveInsurance = m.call(usdc, "approve", [vault, insuranceSeed], {
    id: "approveInsuranceSeed",
    after: [mintInsurance],
  });
  m.call(vault, "depositInsurance", [insuranceSeed], { id: "seedInsurance", after: [approveInsurance] });

  return {
    vault,
    usdc,
    weth,
    wbtc,
    usdcFeed,
    ethFeed,
    btcFeed,
    stethFeed,
    usdcOracle,
    ethOracle,
    btcOracle,
    stethOracle,
  };
});
